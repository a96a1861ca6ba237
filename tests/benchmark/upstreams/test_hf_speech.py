"""wav2vec 2.0, HuBERT, WavLM, data2vec-audio through `hf:FOLDER`: tiny random models saved
with `save_pretrained`, checked against the contract and against the models themselves."""
import pytest

transformers = pytest.importorskip("transformers")

import torch  # noqa: E402

from benchmark import evaluate  # noqa: E402
from benchmark.upstream import load_upstream  # noqa: E402
from benchmark.upstreams.check import check_upstream  # noqa: E402
from tests.benchmark.upstreams import tiny_transformers as tiny  # noqa: E402

#: (model type, conv normalisation, feature extractor asks for a mask, expected: one masked batch)
VARIANTS = [
    ("wav2vec2", "group", False, False),  # wav2vec2-base
    ("wav2vec2", "layer", True, True),  # wav2vec2-large-lv60
    ("hubert", "group", False, False),  # hubert-base-ls960
    ("hubert", "layer", True, True),  # hubert-large-ll60k
    ("wavlm", "group", True, False),  # wavlm-base-plus: a mask, but group norm: never padded
    ("wavlm", "layer", True, True),  # wavlm-large
    ("data2vec-audio", "layer", True, False),  # data2vec-audio-base: its positional conv stack leaks padding
]


def conv_frames(samples: int) -> int:
    """The conv feature encoder's output length, from its kernels and strides (valid convolutions)."""
    for kernel, stride in zip(tiny.SPEECH["conv_kernel"], tiny.SPEECH["conv_stride"]):
        samples = (samples - kernel) // stride + 1
    return samples


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("speech")
    return {v: tiny.speech_encoder(root / "-".join(map(str, v[:3])), *v[:3]) for v in VARIANTS}


@pytest.mark.parametrize("variant", VARIANTS, ids=lambda v: "-".join(map(str, v[:3])))
def test_speech_encoder_passes_check_with_every_layer_and_its_hop(folders, variant):
    up = load_upstream(f"hf:{folders[variant]}")
    failed = [c for c in check_upstream(up) if not c.ok]
    assert not failed, failed
    assert up.masked == variant[3]
    assert up.sample_rate == 16000 and up.hop_ms == pytest.approx(1000 * 5 * 4 * 2 / 16000)
    lengths = torch.tensor([16000, 7001, 400])
    out = up(torch.randn(3, 16000), lengths)
    assert len(out.hidden_states) == tiny.SPEECH["num_hidden_layers"] + 1  # projected CNN output + each layer
    assert out.lengths.tolist() == [conv_frames(n) for n in lengths.tolist()]
    assert all(h.shape == (3, conv_frames(16000), tiny.SPEECH["hidden_size"]) for h in out.hidden_states)


@pytest.mark.parametrize("variant", VARIANTS[:2], ids=["group-norm", "layer-norm"])
def test_speech_encoder_equals_the_model_on_its_own_normalised_input(folders, variant):
    folder = folders[variant]
    model = transformers.AutoModel.from_pretrained(folder).eval()
    wave = torch.randn(1, 9000) * 0.3 + 0.1
    normalised = (wave - wave.mean()) / torch.sqrt(wave.var(unbiased=False) + 1e-7)  # do_normalize, by hand
    with torch.inference_mode():
        expected = model(normalised, output_hidden_states=True).hidden_states
        got = load_upstream(f"hf:{folder}")(torch.cat([wave, torch.zeros(1, 500)], 1), torch.tensor([9000]))
    assert all(torch.allclose(g[0], e[0], atol=1e-4) for g, e in zip(got.hidden_states, expected))


def test_a_tiny_wav2vec2_runs_a_folder_task_end_to_end(folders, tone_task):
    folder = folders[VARIANTS[0]]
    (record,) = evaluate(f"hf:{folder}", [tone_task], progress=False)
    assert record["upstream"]["source"] == f"hf:{folder}" and record["upstream"]["hop_ms"] == pytest.approx(2.5)
    assert record["metrics"]["accuracy"] > 0.5  # three tones, 1/3 by chance
