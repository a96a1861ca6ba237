"""The ASR probe's training step, measured in one run (`make perf`): our padded `BiLSTM`
against torch's bidirectional `nn.LSTM` on a `PackedSequence` (what SUPERB's downstream
uses), same sizes as the CPU default (2 layers, 128 units), a batch of 16 utterances of
120-170 frames at 20 ms (mini-asr's). Reported: forward + backward seconds per batch of
each and the ratio packed / ours (target > 1), best of REPEATS interleaved runs on one
thread, and the largest output difference (the two are the same function).
"""
from __future__ import annotations

import time

import pytest
import torch

from benchmark.heads.bilstm import BiLSTM

pytestmark = pytest.mark.perf
REPEATS = 5
REPORT_TITLE = "BiLSTM training step"
REPORT_INTRO = """The ASR BiLSTM's training step (forward + backward; 16 utterances of 120-170 frames,
160 -> 2 x 128 units, 2 layers, 1 thread): our padded per-direction LSTMs against torch's
packed bidirectional `nn.LSTM` (what SUPERB's downstream uses), best of 5 interleaved runs.
The two are the same function (max output difference); target: packed / ours > 1."""


def step(fn, x: torch.Tensor) -> float:
    start = time.perf_counter()
    fn(x).pow(2).mean().backward()
    return time.perf_counter() - start


def test_padded_bilstm_step_is_faster_than_packed_lstm(perf_report, perf_ratio):
    torch.set_num_threads(1)
    gen = torch.Generator().manual_seed(0)
    lengths = torch.randint(120, 171, (16,), generator=gen)
    x = torch.randn(16, int(lengths.max()), 160, generator=gen)
    valid = torch.arange(x.shape[1])[None, :] < lengths[:, None]
    torch.manual_seed(0)
    packed_lstm = torch.nn.LSTM(160, 128, num_layers=2, bidirectional=True, batch_first=True)
    torch.manual_seed(0)
    ours = BiLSTM(160, 128, num_layers=2)

    def packed(inp: torch.Tensor) -> torch.Tensor:
        seq = torch.nn.utils.rnn.pack_padded_sequence(inp, lengths, batch_first=True, enforce_sorted=False)
        return torch.nn.utils.rnn.pad_packed_sequence(packed_lstm(seq)[0], batch_first=True)[0][valid]

    def padded(inp: torch.Tensor) -> torch.Tensor:
        return ours(inp, lengths)[valid]

    with torch.no_grad():
        diff = float((packed(x) - padded(x)).abs().max())
    times = {"packed": [], "ours": []}
    for _ in range(REPEATS):
        times["packed"].append(step(packed, x))
        times["ours"].append(step(padded, x))
    best = {k: min(v) for k, v in times.items()}
    print(f"\nBiLSTM step (16 x {lengths.min()}-{lengths.max()} frames, 160 -> 2x128 x 2 layers, 1 thread): "
          f"packed nn.LSTM {best['packed']:.3f} s, padded BiLSTM {best['ours']:.3f} s, "
          f"ratio {best['packed'] / best['ours']:.1f}x; max |difference| {diff:.1e}")
    perf_report.row(["batch", "packed nn.LSTM s", "padded BiLSTM s", "packed / ours (> 1)", "max difference"],
                    [f"16 x {lengths.min()}-{lengths.max()} frames", f"{best['packed']:.3f}", f"{best['ours']:.3f}",
                     f"{best['packed'] / best['ours']:.1f}x", f"{diff:.1e}"])
    perf_ratio("torch's packed nn.LSTM / our padded BiLSTM, one CPU training step (on CUDA the peer is cuDNN's, "
               "not measured here)", f"{best['packed'] / best['ours']:.1f}x", "> 1x", best["ours"] < best["packed"])
    assert diff < 1e-4
    assert best["ours"] < best["packed"]
