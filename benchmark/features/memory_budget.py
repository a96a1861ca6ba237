"""The memory of an upstream's forwards, estimated before extraction forms its batches.

Batches hold at most `batch_seconds` of padded audio, which bounds memory for encoders whose
memory grows with the audio; attention over one long item grows with its square (a
10-minute clip through a small Transformer asked for 57.6 GB). So when a split holds items
longer than `ESTIMATE_ABOVE_S` in one forward (their length, or the upstream's window),
three forwards of silence measure the peak memory at `PROBE_S` seconds, a quadratic in
seconds is fitted through them, and each batch's estimate (items x the padded length) is
held to the budget: a batch over it is split, and a single item over it stops the run
before any work, in one line naming the upstream, the file, the estimate and the budget.

The budget is `EARBENCH_MEMORY_GB` when set, else 80% of the GPU's free memory or half of
the machine's available memory. On the CPU the peak is that of the tensors made during the
forward (`peak_memory.PeakTensorBytes`, a lower bound); on CUDA the allocator's.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

import numpy as np
import torch

from benchmark.errors import UpstreamError
from benchmark.features.peak_memory import PeakTensorBytes

ESTIMATE_ABOVE_S = 30.0  # shorter forwards are bounded by batch_seconds alone: no probe forwards
PROBE_S = (2.0, 4.0, 8.0)  # seconds of the probe forwards (batch of one)
ENV = "EARBENCH_MEMORY_GB"

Forward = Callable[[torch.Tensor, torch.Tensor], object]


@dataclass(frozen=True)
class MemoryModel:
    """Peak bytes of one forward of `items` items of `seconds` padded seconds each:
    items x (linear x s + quadratic x s^2) + fixed (coefficients >= 0, fitted on the probes)."""

    fixed: float
    linear: float
    quadratic: float

    def bytes(self, items: int, seconds: float) -> float:
        return self.fixed + items * (self.linear * seconds + self.quadratic * seconds ** 2)

    @classmethod
    def fit(cls, seconds: Sequence[float], peaks: Sequence[float]) -> MemoryModel:
        """The non-negative least-squares quadratic through (seconds, peak bytes)."""
        s, y = np.asarray(seconds, dtype=float), np.asarray(peaks, dtype=float)
        basis = np.stack([np.ones_like(s), s, s ** 2], axis=1)
        coef = np.linalg.lstsq(basis, y, rcond=None)[0]
        while (coef < 0).any():  # drop a negative term and refit the others (noise on a flat curve)
            keep = coef > 0
            coef = np.zeros(3)
            if keep.any():
                coef[keep] = np.linalg.lstsq(basis[:, keep], y, rcond=None)[0]
        return cls(*(float(c) for c in coef))


def budget_bytes(device: torch.device) -> float | None:
    """What one forward may use: EARBENCH_MEMORY_GB, else 80% of free GPU memory or half the
    available RAM; None when nothing says (no estimate is held to it)."""
    if os.environ.get(ENV):
        try:
            return float(os.environ[ENV]) * 2 ** 30
        except ValueError:
            raise UpstreamError(f"{ENV}={os.environ[ENV]!r}: expected a number of GiB") from None
    if device.type == "cuda":
        return 0.8 * torch.cuda.mem_get_info(device)[0]
    try:
        with open("/proc/meminfo") as info:
            fields = dict(line.split(":", 1) for line in info)
        return 0.5 * int(fields["MemAvailable"].split()[0]) * 1024
    except (OSError, KeyError, ValueError):
        return None


def measure(run: Forward, rate: int, device: torch.device, seconds: Sequence[float] = PROBE_S) -> MemoryModel:
    """Fit the memory model on forwards of silence of `seconds` (batch of one)."""
    peaks = []
    for s in seconds:
        audio = torch.zeros(1, int(s * rate))
        lengths = torch.tensor([audio.shape[1]])
        if device.type == "cuda":
            torch.cuda.synchronize(device)
            before = torch.cuda.memory_allocated(device)
            torch.cuda.reset_peak_memory_stats(device)
            run(audio, lengths)
            torch.cuda.synchronize(device)
            peaks.append(torch.cuda.max_memory_allocated(device) - before)
        else:
            with PeakTensorBytes() as watch:
                run(audio, lengths)
            peaks.append(watch.peak)
    return MemoryModel.fit(seconds, peaks)


def gib(n: float) -> str:
    return f"{n / 2 ** 30:.3g} GiB"


def fit_batches(batches: list[list[int]], seconds: Mapping[int, float], model: MemoryModel, budget: float,
                name: str, paths: Sequence[str]) -> list[list[int]]:
    """`batches` (item indices; `seconds`: each item's seconds in one forward) split until each
    one's estimate is within `budget`; an item alone over it is an error before any work."""
    fitted: list[list[int]] = []
    todo = list(reversed(batches))
    while todo:
        batch = todo.pop()
        longest = max(seconds[i] for i in batch)
        need = model.bytes(len(batch), longest)
        if need <= budget:
            fitted.append(batch)
        elif len(batch) == 1:
            raise UpstreamError(
                f"upstream {name!r} on {paths[batch[0]]}: one forward of its {longest:.0f} s would need about "
                f"{gib(need)} (estimated from forwards of {', '.join(f'{s:g}' for s in PROBE_S)} s), more than the "
                f"{gib(budget)} budget; declare max_seconds on the upstream so that long clips are encoded in "
                f"windows, or raise {ENV}")
        else:
            half = len(batch) // 2
            todo.extend([batch[half:], batch[:half]])
    return fitted


def windows_per_forward(model: MemoryModel, budget: float, window_s: float) -> int:
    """How many windows of `window_s` one forward may take within `budget` (at least one)."""
    each = model.bytes(1, window_s) - model.fixed
    return max(1, int((budget - model.fixed) // each)) if each > 0 else 2 ** 31
