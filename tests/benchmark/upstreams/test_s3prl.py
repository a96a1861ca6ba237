"""`s3prl:NAME[:PATH]` on upstreams s3prl builds from local files: its fbank baseline from a config
file, and its transformers wav2vec2 wrapper from a tiny model folder."""
import shutil
from pathlib import Path

import pytest

s3prl = pytest.importorskip("s3prl")
transformers = pytest.importorskip("transformers")

import torch  # noqa: E402

from benchmark import evaluate  # noqa: E402
from benchmark.errors import UpstreamError  # noqa: E402
from benchmark.upstream import load_upstream  # noqa: E402
from benchmark.upstreams.check import check_upstream  # noqa: E402


@pytest.fixture(scope="module")
def wav2vec2(tmp_path_factory):
    """A tiny wav2vec2 with the real conv strides (320 samples: the rate s3prl's wrapper declares)."""
    folder = tmp_path_factory.mktemp("s3prl") / "wav2vec2"
    torch.manual_seed(0)
    config = transformers.Wav2Vec2Config(hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                                         intermediate_size=64, conv_dim=(16,) * 7, conv_kernel=(10, 3, 3, 3, 3, 2, 2),
                                         conv_stride=(5, 2, 2, 2, 2, 2, 2), num_conv_pos_embeddings=16,
                                         num_conv_pos_embedding_groups=2)
    transformers.Wav2Vec2Model(config).save_pretrained(folder)
    transformers.Wav2Vec2FeatureExtractor(return_attention_mask=False).save_pretrained(folder)
    return folder


@pytest.fixture
def fbank_config(tmp_path):
    """s3prl's own fbank config without CMVN (per-clip CMVN would zero every clip's mean-pooled feature)."""
    config = tmp_path / "fbank.yaml"
    shutil.copy(Path(s3prl.__file__).parent / "upstream" / "baseline" / "fbank_no_cmvn.yaml", config)
    return config


def test_s3prl_builds_its_baseline_from_a_local_config_file(fbank_config, tone_task):
    up = load_upstream(f"s3prl:baseline_local:{fbank_config}")
    failed = [c for c in check_upstream(up) if not c.ok]
    assert not failed, failed
    assert up.sample_rate == 16000 and up.hop_ms == pytest.approx(10.0)  # the config's 10 ms frame shift
    out = up(torch.randn(2, 16000), torch.tensor([16000, 7000]))
    assert out.lengths.tolist() == [(16000 - 1) // 160 + 1, (7000 - 1) // 160 + 1]  # s3prl's length rule
    assert len(out.hidden_states) == 1 and out.hidden_states[0].shape[-1] == 80 * 3  # fbank + deltas, order 2
    (record,) = evaluate(f"s3prl:baseline_local:{fbank_config}", [tone_task], progress=False)
    assert record["metrics"]["accuracy"] > 0.5  # three tones: 1/3 by chance


def test_s3prl_wav2vec2_from_a_local_folder_maps_every_hidden_state(wav2vec2):
    up = load_upstream(f"s3prl:hf_wav2vec2_custom:{wav2vec2}")
    failed = [c for c in check_upstream(up) if not c.ok]
    assert not failed, failed
    assert up.hop_ms == pytest.approx(20.0)
    audio, lengths = torch.randn(1, 16000), torch.tensor([16000])
    with torch.inference_mode():
        ours, direct = up(audio, lengths), load_upstream(f"hf:{wav2vec2}")(audio, lengths)
    assert len(ours.hidden_states) == 2 + 1 == len(direct.hidden_states)
    assert ours.lengths.tolist() == [50]  # s3prl's rule: (16000 - 1) // 320 + 1; the conv gives 49, edge-padded
    frames = int(direct.lengths[0])
    assert all(torch.allclose(a[:, :frames], b, atol=1e-5) for a, b in zip(ours.hidden_states, direct.hidden_states))


def test_unknown_s3prl_name_is_a_clear_error():
    with pytest.raises(UpstreamError, match="s3prl:no_such_upstream: no such s3prl hub entry"):
        load_upstream("s3prl:no_such_upstream")
