"""A HEAR 2021 module written here, loaded as `hear:MODULE`, checked and evaluated; the kit's
scene embeddings, checked on the repository's port of hearbaseline, are what clip tasks read
by default, and frame tasks read the timestamp embeddings."""
import importlib
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from benchmark import evaluate
from benchmark.errors import ProtocolError, UpstreamError
from benchmark.features.cache import EmbeddingCache
from benchmark.features.extract import extract
from benchmark.protocols import RunContext
from benchmark.run.plan import plan_suite
from benchmark.settings import RunSettings
from benchmark.sources.load import load_task
from benchmark.upstream import fingerprint, load_upstream
from benchmark.upstreams.check import check_upstream, synthetic_batch
from benchmark.upstreams.hear import SceneEmbeddings
from tests.support.family_tasks import write_sed_task
from tests.support.tone_task import write_tone_task

MODULE = '''
import torch

class Model(torch.nn.Module):
    sample_rate = 16000
    scene_embedding_size = 32
    timestamp_embedding_size = 32

    def __init__(self, scale=1.0):
        super().__init__()
        torch.manual_seed(0)
        self.proj = torch.nn.Linear(160, 32)
        self.scale = scale


def load_model(model_file_path=""):
    return Model(2.0 if model_file_path else 1.0)


def get_timestamp_embeddings(audio, model):
    n = audio.shape[1] // 160
    frames = audio[:, : n * 160].reshape(audio.shape[0], n, 160)
    emb = torch.tanh(model.proj(frames * 10)) * model.scale
    stamps = (torch.arange(n) * 10.0 + 5.0).expand(audio.shape[0], n)
    return emb, stamps


def get_scene_embeddings(audio, model):
    # the module's own: deliberately not the mean of its timestamp frames
    return get_timestamp_embeddings(audio, model)[0].amax(1)
'''


@pytest.fixture
def hear_module(tmp_path, monkeypatch):
    (tmp_path / "tiny_hear.py").write_text(textwrap.dedent(MODULE))
    monkeypatch.syspath_prepend(str(tmp_path))
    yield "tiny_hear"
    sys.modules.pop("tiny_hear", None)


def test_hear_module_is_an_upstream(hear_module, tmp_path):
    up = load_upstream(f"hear:{hear_module}")
    assert up.sample_rate == 16000 and up.hop_ms == pytest.approx(10.0)
    assert all(c.ok for c in check_upstream(up)), [c for c in check_upstream(up) if not c.ok]


def test_weights_argument_reaches_load_model(hear_module, tmp_path):
    weights = tmp_path / "w.bin"
    weights.write_bytes(b"x")
    up = load_upstream(f"hear:{hear_module}:{weights}")
    assert up.model.scale == 2.0 and up.earbench_source == f"hear:{hear_module}:{weights}"


def test_hear_module_evaluates(hear_module, tone_task):
    (record,) = evaluate(f"hear:{hear_module}", [tone_task], progress=False)
    assert record["upstream"]["name"] == f"hear:{hear_module}" and record["metrics"]["accuracy"] > 0.5


def test_missing_hear_module_is_clear():
    with pytest.raises(UpstreamError, match="HEAR module 'no_such_hear_mod' cannot be imported"):
        load_upstream("hear:no_such_hear_mod")


@pytest.fixture
def hear_naive(monkeypatch):
    """The repository's port of hearbaseline.naive (scripts/hear_naive.py) at its default hops:
    timestamp embeddings every 50 ms, scene embeddings the mean of 250 ms frames, as in the original."""
    monkeypatch.delenv("HEAR_NAIVE_HOP_MS", raising=False)
    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[3] / "scripts"))
    sys.modules.pop("hear_naive", None)
    yield importlib.import_module("hear_naive")
    sys.modules.pop("hear_naive", None)


def test_scene_embeddings_are_the_modules_own_and_not_the_mean_of_timestamp_frames(hear_naive):
    up = load_upstream("hear:hear_naive")
    audio, lengths = synthetic_batch(up.sample_rate)
    with torch.inference_mode():
        scene = up.scene_embeddings(audio, lengths)
        frames = up(audio, lengths)
    for b, n in enumerate(lengths.tolist()):  # the kit's call: the clip alone, unpadded
        expected = hear_naive.get_scene_embeddings(audio[b: b + 1, :n], up.model)[0]
        assert torch.allclose(scene[b], expected, rtol=1e-5, atol=1e-4)
    pooled = torch.stack([frames.hidden_states[0][b, :n].mean(0) for b, n in enumerate(frames.lengths.tolist())])
    gap = ((pooled - scene).norm(dim=1) / scene.norm(dim=1)).min()
    assert gap > 0.01  # mean-pooling the 50 ms frames is not the kit's scene embedding


def test_scene_view_extracts_exactly_the_kits_embeddings(hear_naive, tmp_path):
    up = load_upstream("hear:hear_naive")
    paths = []
    for k, seconds in enumerate((0.6, 1.3)):
        t = np.arange(int(seconds * up.sample_rate)) / up.sample_rate
        paths.append(str(tmp_path / f"clip{k}.wav"))
        sf.write(paths[-1], (0.3 * np.sin(2 * np.pi * 440 * (k + 1) * t)).astype(np.float32), up.sample_rate)
    view = SceneEmbeddings(up)
    cached = extract(view, paths, task="t", task_version="1", split="test", pooling="mean",
                     cache=EmbeddingCache(tmp_path / "cache"), progress=False)
    for path, row in zip(paths, np.asarray(cached.data)):
        wave = torch.from_numpy(sf.read(path, dtype="float32")[0])[None]
        expected = hear_naive.get_scene_embeddings(wave, up.model)[0].numpy()
        np.testing.assert_allclose(row[0], expected, rtol=2e-3, atol=2e-3)  # the cache's float16
    assert fingerprint(view) != fingerprint(up) and view.earbench_name.endswith(":scene")


def test_scene_view_evaluates_a_clip_task(hear_module, tone_task):
    up = load_upstream(f"hear:{hear_module}")
    (record,) = evaluate(SceneEmbeddings(up), [tone_task], progress=False)
    assert record["upstream"]["name"] == f"hear:{hear_module}:scene" and record["metrics"]["accuracy"] > 0.5


def context(upstream, task_root, **settings):
    task = load_task(task_root)
    return RunContext(upstream, task, task.load(), RunSettings(progress=False, **settings))


def read_wave(path):
    return torch.from_numpy(sf.read(path, dtype="float32")[0])[None]


def test_clip_tasks_read_the_modules_scene_embeddings_by_default(hear_module, tone_task):
    up = load_upstream(f"hear:{hear_module}")
    ctx = context(up, tone_task)
    assert ctx.settings.pooling == "scene" and ctx.settings.identity()["pooling"] == "scene"
    features = ctx.clip_features(["test"])
    paths = list(ctx.manifests["test"]["path"])
    expected = np.stack([up.hear.get_scene_embeddings(read_wave(p), up.model)[0].detach().numpy() for p in paths])
    np.testing.assert_allclose(features, expected, rtol=2e-3, atol=2e-3)  # the cache's float16
    mean = context(up, tone_task, pooling="mean").clip_features(["test"])
    assert np.abs(mean - expected).max() > 0.05  # mean pooling of the frames stays available, and differs
    default, = evaluate(f"hear:{hear_module}", [tone_task], progress=False)
    asked, = evaluate(f"hear:{hear_module}", [tone_task], pooling="mean", progress=False)
    assert default["protocol"]["pooling"] == "scene" and asked["protocol"]["pooling"] == "mean"


def test_a_warm_scene_cache_is_seen_by_the_planner(hear_module, tone_task):
    evaluate(f"hear:{hear_module}", [tone_task], progress=False)
    plan = plan_suite([f"hear:{hear_module}"], [tone_task], RunSettings(progress=False))
    assert [job.kind for job in plan.jobs] == ["probe"] and [job.kind for job in plan.done] == ["extract"]


def test_frame_tasks_read_the_timestamp_embeddings(hear_module, tmp_path):
    sed = write_sed_task(tmp_path / "sed", n=8)
    ctx = context(load_upstream(f"hear:{hear_module}"), sed)
    assert ctx.settings.pooling == "mean"  # what frame-task records carried before: pooling is not used
    data, offsets = ctx.frames(ctx.part(ctx.task.runs()[0][1], "test"))
    assert data.shape[-1] == 32 and (np.diff(offsets) > 100).all()  # 10 ms frames of 2 s clips
    with pytest.raises(ProtocolError, match="--pooling scene applies to clip tasks; 'sed' task"):
        evaluate(f"hear:{hear_module}", [sed], pooling="scene", progress=False)


def test_scene_pooling_needs_an_upstream_with_its_own_clip_embedding(tone_task):
    with pytest.raises(ProtocolError, match="--pooling scene needs an upstream with its own clip embedding"):
        evaluate("logmel", [tone_task], pooling="scene", progress=False)
    assert context(load_upstream("logmel"), tone_task).settings.pooling == "mean"
    # a protocol that runs the upstream itself takes no scene pooling: it keeps mean
    assert context(load_upstream("logmel"), tone_task, protocol="finetune").settings.pooling == "mean"


def test_the_kits_scene_embeddings_are_what_a_clip_task_probes(hear_naive, tmp_path):
    """Parity on the embeddings themselves: the run context's features of a task at the module's
    rate are the port's get_scene_embeddings of each clip, read alone and unpadded."""
    up = load_upstream("hear:hear_naive")
    ctx = context(up, write_tone_task(tmp_path / "tones44", rate=up.sample_rate))
    paths = list(ctx.manifests["test"]["path"])
    expected = np.stack([hear_naive.get_scene_embeddings(read_wave(p), up.model)[0].numpy() for p in paths])
    features = ctx.clip_features(["test"])
    assert features.shape == (len(paths), 4096) and ctx.settings.pooling == "scene"
    np.testing.assert_allclose(features, expected, rtol=2e-3, atol=2e-3)
