"""Whisper's encoder, AST and CLAP through `hf:FOLDER` (tiny random models saved locally):
the contract, real frames only, windows for long clips, regrouped patches, CLAP's shared space."""
import math

import pytest

transformers = pytest.importorskip("transformers")

import torch  # noqa: E402

from benchmark import evaluate  # noqa: E402
from benchmark.upstream import load_upstream  # noqa: E402
from benchmark.upstreams.check import check_upstream  # noqa: E402
from tests.benchmark.upstreams import tiny_transformers as tiny  # noqa: E402
from tests.support.family_tasks import write_retrieval_task  # noqa: E402


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("spectrogram")
    return {name: getattr(tiny, name)(root / name) for name in ("whisper", "ast", "clap")}


@pytest.mark.parametrize("name", ["whisper", "ast", "clap"])
def test_passes_check(folders, name):
    up = load_upstream(f"hf:{folders[name]}")
    failed = [c for c in check_upstream(up) if not c.ok]
    assert not failed, failed


def test_whisper_keeps_real_frames_and_encodes_long_clips_window_by_window(folders):
    up = load_upstream(f"hf:{folders['whisper']}")
    assert up.window == 2 * 16000 and up.hop_ms == pytest.approx(20.0)  # mel hop 160 x conv stride 2
    wave = torch.randn(1, 5 * 16000)
    out = up(torch.cat([wave, torch.randn(1, 5 * 16000)]), torch.tensor([5 * 16000, 8000]))
    assert len(out.hidden_states) == 2 + 1  # conv output + each encoder layer
    assert out.lengths.tolist() == [250, 25]  # ceil(samples / 320): no 2 s pad, three windows for 5 s
    encoder = transformers.AutoModel.from_pretrained(folders["whisper"]).get_encoder().eval()
    extractor = transformers.AutoFeatureExtractor.from_pretrained(folders["whisper"])
    with torch.inference_mode():  # independently: the third window (1 s of real audio) on its own
        last = extractor([wave[0, 64000:].numpy()], sampling_rate=16000, return_tensors="pt")["input_features"]
        expected = encoder(last).last_hidden_state[0, :50]
    assert torch.allclose(out.hidden_states[-1][0, 200:250], expected, atol=1e-4)


def test_ast_regroups_patches_into_time_frames_after_a_cls_frame(folders):
    up = load_upstream(f"hf:{folders['ast']}")
    assert up.has_cls and up.hop_ms == pytest.approx(100.0)  # time stride 10 mel frames of 10 ms
    assert (up.freq_patches, up.time_patches) == ((32 - 16) // 10 + 1, (128 - 16) // 10 + 1)
    wave = torch.randn(1, 16000)
    out = up(wave, torch.tensor([16000]))
    assert len(out.hidden_states) == 2 + 1
    mel_frames = 1 + (16000 - 400) // 160
    assert out.lengths.tolist() == [1 + math.ceil(mel_frames / 10)]
    model = transformers.AutoModel.from_pretrained(folders["ast"]).eval()
    extractor = transformers.AutoFeatureExtractor.from_pretrained(folders["ast"])
    with torch.inference_mode():
        tokens = model(extractor([wave[0].numpy()], sampling_rate=16000, return_tensors="pt")["input_values"],
                       output_hidden_states=True).hidden_states[-1][0]
    grid = tokens[2:].reshape(up.freq_patches, up.time_patches, -1)  # frequency-major patch order
    top = out.hidden_states[-1][0]
    assert torch.allclose(top[0], (tokens[0] + tokens[1]) / 2, atol=1e-5)
    assert torch.allclose(top[1:out.lengths[0]], grid.mean(0)[: int(out.lengths[0]) - 1], atol=1e-5)
    assert int(up(torch.randn(1, 4 * 16000), torch.tensor([4 * 16000])).lengths[0]) == 1 + 12 + 12 + 12 + math.ceil((1 + (2560 - 400) // 160) / 10)


def test_clap_frames_unfold_the_audio_towers_time_axis(folders):
    up = load_upstream(f"hf:{folders['clap']}")
    assert up.sample_rate == 16000 and up.frames_per_window == 64 // 4 // 2 * 4
    clip = torch.randn(1, 16000)
    out = up(clip, torch.tensor([16000]))
    assert len(out.hidden_states) == 3 and out.lengths.tolist() == [32]  # last stage in, out, normalised output
    with torch.inference_mode():
        tower = up.model.audio_model(**up.features([clip[0].numpy()]), output_hidden_states=True)
        normed = up.model.audio_model.audio_encoder.norm(tower.hidden_states[-1].flatten(2).transpose(1, 2))
        image = normed.transpose(1, 2).reshape(tower.hidden_states[-1].shape)
    # the tower's own time regrouping of its output, reproduced on the last hidden state
    assert torch.allclose(up.unfold(image), tower.last_hidden_state.mean(2).transpose(1, 2), atol=1e-5)
    assert torch.allclose(out.hidden_states[-1][0], tower.last_hidden_state[0].mean(1).T, atol=1e-5)


def test_clap_shared_space_matches_the_model_and_is_batch_independent(folders):
    up = load_upstream(f"hf:{folders['clap']}")
    audio, lengths = torch.randn(2, 16000), torch.tensor([16000, 6000])
    with torch.inference_mode():
        both = up.embed_audio(audio, lengths)
        alone = up.embed_audio(audio[1:, :6000], lengths[1:])
        direct = up.model.get_audio_features(**up.features([audio[0].numpy()]))
        text = up.embed_text(["the sound of rain", "a dog"])
        tokens = up.tokenizer(["a dog"], return_tensors="pt")
        direct_text = up.model.get_text_features(**tokens)
    direct = getattr(direct, "pooler_output", direct)
    direct_text = getattr(direct_text, "pooler_output", direct_text)
    assert both.shape == (2, 16) and torch.allclose(both.norm(dim=-1), torch.ones(2))
    assert torch.allclose(both[1], alone[0], atol=1e-5) and torch.allclose(both[0], direct[0], atol=1e-5)
    assert text.shape == (2, 16) and torch.allclose(text[1], direct_text[0], atol=1e-5)


def test_clap_zero_shot_classifies_and_retrieves_end_to_end(folders, tone_task, tmp_path):
    (record,) = evaluate(f"hf:{folders['clap']}", [tone_task], protocol="zeroshot", progress=False)
    assert record["protocol"]["name"] == "zeroshot" and 0.0 <= record["metrics"]["accuracy"] <= 1.0
    (record,) = evaluate(f"hf:{folders['clap']}", [write_retrieval_task(tmp_path / "pairs")], protocol="zeroshot",
                         progress=False)
    assert record["task"]["family"] == "retrieval" and 0.0 <= record["metrics"][record["main_metric"]] <= 1.0


@pytest.mark.parametrize("name", ["whisper", "ast"])
def test_runs_a_folder_task_end_to_end(folders, tone_task, name):
    (record,) = evaluate(f"hf:{folders[name]}", [tone_task], progress=False)
    assert record["upstream"]["source"] == f"hf:{folders[name]}" and record["metrics"]["accuracy"] > 0.5
