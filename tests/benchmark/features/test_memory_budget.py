"""The memory of an upstream's forwards, estimated before the batches are formed: the model fitted
on probe forwards, batches split to the budget, and an item over it stopped before any work."""
from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
import torch

from benchmark.errors import UpstreamError
from benchmark.features.cache import EmbeddingCache
from benchmark.features.extract import extract
from benchmark.features.memory_budget import ENV, PROBE_S, MemoryModel, fit_batches, measure, windows_per_forward
from benchmark.upstream import Encoded

RATE = 16000


class Pairwise(torch.nn.Module):
    """Frames of 10 ms whose output mixes every pair of frames: a T x T matrix, as attention makes."""

    sample_rate, hop_ms = RATE, 10.0

    def __init__(self) -> None:
        super().__init__()
        self.proj = torch.nn.Linear(160, 8)
        self.forwards: list[int] = []  # samples of each forward's batch

    def forward(self, audio: torch.Tensor, lengths: torch.Tensor) -> Encoded:
        self.forwards.append(audio.shape[1])
        frames = self.proj(audio[:, : audio.shape[1] // 160 * 160].reshape(audio.shape[0], -1, 160))
        scores = frames @ frames.transpose(1, 2)  # [B, T, T]
        return Encoded([scores.softmax(-1) @ frames], torch.div(lengths, 160, rounding_mode="floor"))


def write_clips(folder, seconds):
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for k, s in enumerate(seconds):
        path = folder / f"clip{k}.wav"
        sf.write(path, np.random.default_rng(k).normal(0, 0.1, int(s * RATE)).astype(np.float32), RATE)
        paths.append(str(path))
    return paths


def test_the_fit_recovers_a_quadratic_and_keeps_its_terms_non_negative():
    s = np.array(PROBE_S)
    model = MemoryModel.fit(s, 1000 + 50 * s + 7 * s ** 2)
    assert (model.fixed, model.linear, model.quadratic) == pytest.approx((1000, 50, 7))
    assert model.bytes(3, 10.0) == pytest.approx(1000 + 3 * (500 + 700))
    flat = MemoryModel.fit(s, 100 * s - 0.01 * s ** 2)  # a slightly concave line: no negative term kept
    assert min(flat.fixed, flat.linear, flat.quadratic) >= 0 and flat.bytes(1, 8.0) == pytest.approx(800, rel=0.02)


def test_the_measured_model_grows_with_the_square_for_pairwise_frames():
    module = Pairwise().eval()
    with torch.inference_mode():
        model = measure(module, RATE, torch.device("cpu"))
    frames = 100.0  # per second
    # the T x T scores (and their softmax) dominate: at least 4 bytes per pair of frames
    assert model.quadratic >= 4 * frames ** 2 and module.forwards == [int(s * RATE) for s in PROBE_S]


def test_batches_are_split_to_the_budget_and_an_item_over_it_stops_in_one_line():
    model = MemoryModel(0.0, 0.0, 1.0)  # s^2 bytes an item
    seconds = {0: 10.0, 1: 10.0, 2: 10.0, 3: 10.0, 4: 40.0}
    assert fit_batches([[0, 1, 2, 3], [4]], seconds, model, 1600.0, "m", ["a"] * 5) == [[0, 1, 2, 3], [4]]
    assert fit_batches([[0, 1, 2, 3]], seconds, model, 250.0, "m", ["a"] * 5) == [[0, 1], [2, 3]]  # 400 > 250
    with pytest.raises(UpstreamError) as err:
        fit_batches([[4]], seconds, model, 1000.0, "pairwise", ["a", "b", "c", "d", "long.wav"])
    message = str(err.value)
    assert "\n" not in message and message.startswith("upstream 'pairwise' on long.wav: one forward of its 40 s")
    assert "max_seconds" in message and ENV in message
    assert windows_per_forward(model, 1000.0, 10.0) == 10


def test_a_long_clip_over_the_budget_stops_before_any_work(tmp_path, monkeypatch):
    paths = write_clips(tmp_path / "audio", [40.0, 2.0])
    module = Pairwise().eval()
    monkeypatch.setenv(ENV, "0.01")  # 10 MiB: the 2 s clip fits, its 40 s neighbour (400x the scores) does not
    with pytest.raises(UpstreamError, match=r"upstream 'Pairwise' on .*clip0.wav: one forward of its 40 s"):
        extract(module, paths, task="t", task_version="1", split="test", cache=EmbeddingCache(tmp_path / "c"),
                progress=False)
    assert module.forwards == [int(s * RATE) for s in PROBE_S]  # the probes only: no item was encoded
    assert not list((tmp_path / "c").rglob("*.npy"))


def test_within_the_budget_the_estimate_is_kept_and_short_clips_probe_nothing(tmp_path, monkeypatch):
    module = Pairwise().eval()
    monkeypatch.setenv(ENV, "8")
    long = extract(module, write_clips(tmp_path / "long", [40.0, 2.0]), task="t", task_version="1", split="test",
                   cache=EmbeddingCache(tmp_path / "c"), progress=False)
    assert long.meta["memory"]["budget_bytes"] == 8 * 2 ** 30 and long.meta["memory"]["per_second_squared"] > 0
    assert len(module.forwards) == len(PROBE_S) + 1  # the probes, then both clips in one batch
    module.forwards.clear()
    short = extract(module, write_clips(tmp_path / "short", [5.0, 3.0]), task="t", task_version="1", split="test",
                    cache=EmbeddingCache(tmp_path / "c"), progress=False)
    assert "memory" not in short.meta and len(module.forwards) == 1
