"""Cost: the FLOP counter's multiply-adds against hand counts (a linear layer, a convolution),
windows of a windowed upstream, the report and its reuse."""
from __future__ import annotations

import json

import pytest
import torch

from benchmark.analyses.cost import measure
from benchmark.features.peak_memory import PeakTensorBytes
from benchmark.upstream import Encoded
from models.baselines import RandomCNN
from tests.support.helpers import run_cli

HOP = 160  # samples per frame at 16 kHz: 100 frames a second


class Framewise(torch.nn.Module):
    """A linear layer over non-overlapping 10 ms frames of the waveform."""

    sample_rate, hop_ms = 16000, 10.0

    def __init__(self, width: int = 32) -> None:
        super().__init__()
        self.linear = torch.nn.Linear(HOP, width)

    def forward(self, audio: torch.Tensor, lengths: torch.Tensor) -> Encoded:
        frames = audio[:, : audio.shape[1] // HOP * HOP].reshape(audio.shape[0], -1, HOP)
        return Encoded([self.linear(frames)], lengths // HOP)


class Convolution(torch.nn.Module):
    """One Conv1d (1 -> 8 channels, kernel 5, stride 160) over the waveform."""

    sample_rate, hop_ms = 16000, 10.0

    def __init__(self) -> None:
        super().__init__()
        self.conv = torch.nn.Conv1d(1, 8, 5, stride=HOP)

    def forward(self, audio: torch.Tensor, lengths: torch.Tensor) -> Encoded:
        return Encoded([self.conv(audio[:, None]).transpose(1, 2)], (lengths - 5) // HOP + 1)


class Attending(Framewise):
    """The frames through one Transformer layer (2 heads, feed-forward 128): at inference torch
    would run it as one fused kernel that the FLOP counter does not see."""

    def __init__(self) -> None:
        super().__init__(width=64)
        self.layer = torch.nn.TransformerEncoderLayer(64, 2, 128, dropout=0.0, batch_first=True).eval()

    def forward(self, audio: torch.Tensor, lengths: torch.Tensor) -> Encoded:
        out = super().forward(audio, lengths)
        return Encoded([self.layer(out.hidden_states[0])], out.lengths)


class WindowedFramewise(Framewise):
    max_seconds = 1.0
    window_overlap_seconds = 0.1


def test_multiply_adds_are_the_hand_count():
    m = measure(Framewise(), 2.0, repeats=1)
    assert m["macs"] == 200 * HOP * 32  # frames x in x out: the counter's 2 * in * out per frame, halved
    conv = measure(Convolution(), 1.0, repeats=1)
    out_len = (16000 - 5) // HOP + 1
    assert conv["macs"] == out_len * 8 * 1 * 5
    assert m["forwards"] == conv["forwards"] == 1 and m["wall_s"] > 0 and m["device"] == "cpu"


def test_attention_is_counted_in_full():
    m = measure(Attending(), 1.0, repeats=1)
    t, d, ff = 100, 64, 128
    # frame projection, q/k/v/out projections, feed-forward, and the scores and their mix (T x T x d each)
    assert m["macs"] == t * HOP * d + t * (4 * d * d + 2 * d * ff) + 2 * t * t * d
    assert torch.backends.mha.get_fastpath_enabled()  # left as it was


def test_a_windowed_upstream_is_counted_window_by_window():
    m = measure(WindowedFramewise(), 3.0, repeats=1)
    # 1 s windows every 0.9 s: starts 0, 0.9, 1.8, 2.7 s; the last one 0.3 s long
    assert m["forwards"] == 4
    frames = 100 + 100 + 100 + 30
    assert m["macs"] == frames * HOP * 32


def test_peak_tensor_bytes_sees_live_outputs():
    linear = torch.nn.Linear(64, 256)
    x = torch.zeros(1, 1000, 64)
    with torch.no_grad(), PeakTensorBytes() as watch:
        y = torch.relu(linear(x))
    out = 1000 * 256 * 4
    assert 2 * out <= watch.peak < 3 * out  # the linear's output and the relu's, both alive at the end
    assert y.shape == (1, 1000, 256)


def test_peak_tensor_bytes_counts_no_view_of_a_tensor_made_before():
    weight = torch.zeros(2000, 2000)  # 16 MB made outside the block
    with torch.no_grad(), PeakTensorBytes() as watch:
        view = weight.t()[:10]  # views of it: no new memory
        weight.add_(1.0)  # in place: none either
        small = view * 2  # 10 x 2000 floats: 80 kB
    assert 10 * 2000 * 4 <= watch.peak < 2 * 10 * 2000 * 4 and small.shape == (10, 2000)


def test_cost_report_reuses_its_measurements(tmp_path, capsys):
    code, _, err = run_cli(capsys, "analyse", "cost", "-m", "logmel", "-m", "random-cnn", "-l", "0.5", "-l", "1",
                           "--repeats", "1", "--device", "cpu", "--out", str(tmp_path))
    assert code == 0, err
    kept = json.loads((tmp_path / "cost.json").read_text())
    assert len(kept) == 4
    cnn = [v for v in kept.values() if v["model"] == "random-cnn"]
    assert cnn[0]["params"] == sum(p.numel() for p in RandomCNN().parameters())
    one_second = next(v for v in cnn if v["seconds"] == 1.0)
    frames = 1 + (16000 - 400) // 160  # 25 ms windows (400 samples), 10 ms hop, no padding
    # per frame: the mel filterbank (201 FFT bins x 64 bands), conv 64 -> 256, three convs 256 -> 256, kernel 3
    assert one_second["macs"] == frames * (201 * 64 + 64 * 256 * 3 + 3 * 256 * 256 * 3)
    text = (tmp_path / "cost.md").read_text()
    assert "| random-cnn |" in text and "multiply-adds / s of audio" in text
    code, _, err = run_cli(capsys, "analyse", "cost", "-m", "random-cnn", "-l", "1", "--device", "cpu",
                           "--out", str(tmp_path))
    assert code == 0, err
    assert json.loads((tmp_path / "cost.json").read_text()) == kept  # reused, not measured again


def test_a_clip_over_the_memory_budget_is_reported_not_run(tmp_path, monkeypatch):
    """Full attention over a long clip: the predicted peak (from short probe forwards) is over a
    small budget, so the table says it does not fit, the board's reader skips it, nothing runs."""
    from benchmark.analyses import cost as cost_analysis
    from leaderboard.costs import read_costs
    monkeypatch.setenv("EARBENCH_MEMORY_GB", "0.05")
    cost_analysis.cost([Attending()], lengths=[1.0, 60.0], repeats=1, device="cpu", out=tmp_path)
    short, long = sorted(json.loads((tmp_path / "cost.json").read_text()).values(), key=lambda m: m["seconds"])
    assert short["macs"] > 0 and "error" not in short  # a second fits: measured
    assert "macs" not in long and long["error"].startswith("does not fit: a 60 s forward needs about")
    assert "over the budget of 0.05 GiB" in (tmp_path / "cost.md").read_text()
    assert read_costs(tmp_path / "cost.json").empty  # no 10 s measurement; the error entry is skipped
    monkeypatch.setenv("EARBENCH_MEMORY_GB", "1000")
    assert cost_analysis.over_budget(Attending(), 60.0) is None


def test_an_allocation_past_the_guard_fails_instead_of_waking_the_oom_killer():
    import sys
    if not sys.platform.startswith("linux"):
        pytest.skip("the address-space limit is Linux's")
    from benchmark.analyses.cost import address_space_limit
    with address_space_limit(200 * 2 ** 20):
        small = torch.ones(1024, 1024)  # 4 MB: fine
        with pytest.raises((MemoryError, RuntimeError)):
            torch.ones(2 ** 30, dtype=torch.float32)  # 4 GiB: refused
    assert small.sum() == 2 ** 20 and torch.ones(2 ** 28, dtype=torch.uint8).numel() == 2 ** 28  # lifted after
