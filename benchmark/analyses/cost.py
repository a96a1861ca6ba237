"""What an upstream costs: parameters, multiply-adds per second of audio, real-time factor and
peak memory on the device used, at clip lengths from a second to minutes.

Multiply-adds are torch's FLOP counter's count (`torch.utils.flop_counter.FlopCounterMode`)
halved: it counts the matrix products, convolutions and attention that dominate an
encoder (attention run as plain products while counting, `countable`), not element-wise
work or FFTs (a log-mel front end's spectrogram is not counted).
An upstream that declares a window (`max_seconds`) is run window by window over a long clip,
as extraction runs it (`benchmark.features.windows`). The real-time factor is the median
wall time of `repeats` forwards (after one warm-up) over the clip's duration. Peak memory
is `torch.cuda.max_memory_allocated` above what was allocated before, on CUDA, and
`PeakTensorBytes` (the tensors made during the forward) on the CPU. Measurements are kept
in OUT/cost.json by upstream fingerprint, device and length, and reused."""
from __future__ import annotations

import gc
import json
import math
import os
import statistics
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Sequence

import torch
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode

from benchmark.device import device_of
from benchmark.features import memory_budget
from benchmark.features.peak_memory import PeakTensorBytes
from benchmark.analyses.report import Analysis, Point, curves, markdown, write_report
from benchmark.errors import EarbenchError
from benchmark.features.windows import Windowing
from benchmark.storage import write_json
from benchmark.upstream import count_parameters, fingerprint, load_upstream

KIND = "cost"
#: clip lengths in seconds: 1 s to 10 minutes
LENGTHS = (1.0, 10.0, 60.0, 600.0)


def windows(upstream: torch.nn.Module, samples: int) -> list[tuple[int, int]]:
    """(start, length) of each forward a clip of `samples` takes: one, or the declared windows."""
    windowing = Windowing.of(upstream)
    if windowing is None or samples <= windowing.length:
        return [(0, samples)]
    return [(s, min(windowing.length, samples - s)) for s in windowing.starts(samples)]


def forward(upstream: torch.nn.Module, audio: torch.Tensor, pieces: list[tuple[int, int]]) -> None:
    for start, length in pieces:
        upstream(audio[:, start: start + length], torch.tensor([length], device=audio.device))


@contextmanager
def countable() -> Iterator[None]:
    """Run attention as the plain products the FLOP counter knows: without the fused fast path
    of `nn.TransformerEncoderLayer` / `nn.MultiheadAttention` at inference (one opaque kernel,
    counted as nothing) and with the math kernel of scaled dot-product attention (the CPU's
    fused kernel is not counted either). Only the counting forward runs so; the timed ones don't."""
    fast = torch.backends.mha.get_fastpath_enabled()
    torch.backends.mha.set_fastpath_enabled(False)
    try:
        with sdpa_kernel([SDPBackend.MATH]):
            yield
    finally:
        torch.backends.mha.set_fastpath_enabled(fast)


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def over_budget(upstream: torch.nn.Module, seconds: float) -> str | None:
    """Why a clip of `seconds` would not fit this machine's memory, or None: past
    `ESTIMATE_ABOVE_S` a forward's peak is predicted from short probe forwards (as extraction
    does, and with the counting forward's plain attention, the larger), so that an encoder with
    full attention over ten minutes reports "does not fit" instead of being killed."""
    longest = max(length for _, length in windows(upstream, int(seconds * int(upstream.sample_rate))))
    piece_s = longest / int(upstream.sample_rate)
    device = device_of(upstream)
    budget = memory_budget.budget_bytes(device)
    if piece_s <= memory_budget.ESTIMATE_ABOVE_S or budget is None:
        return None
    with torch.no_grad(), countable():
        model = memory_budget.measure(lambda audio, lengths: upstream(audio.to(device), lengths.to(device)),
                                      int(upstream.sample_rate), device)
    need = model.bytes(1, piece_s)
    if need <= budget:
        return None
    return (f"does not fit: a {piece_s:g} s forward needs about {memory_budget.gib(need)} (predicted), "
            f"over the budget of {memory_budget.gib(budget)}")


@contextmanager
def address_space_limit(extra: float | None) -> Iterator[None]:
    """On Linux CPUs, allocations past `extra` bytes more than this process holds now fail (a
    MemoryError or torch's allocator error) instead of waking the OOM killer: the CPU's peak
    counter sees only tensors, not a kernel's scratch, so a prediction alone can be far short."""
    try:
        import resource
        with open("/proc/self/statm") as statm:
            held = int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (ImportError, OSError, ValueError):
        extra = None
    if extra is None:
        yield
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = int(held + extra) if hard == resource.RLIM_INFINITY else min(int(held + extra), hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def measure_within_budget(upstream: torch.nn.Module, seconds: float, repeats: int) -> dict:
    """`measure`, or {"error": ...} when the clip does not fit: predicted over the budget, or (on
    the CPU, past ESTIMATE_ABOVE_S) an allocation over it failed."""
    why = over_budget(upstream, seconds)
    if why:
        return {"seconds": seconds, "error": why}
    device = device_of(upstream)
    budget = memory_budget.budget_bytes(device)
    guard = budget if device.type == "cpu" and seconds > memory_budget.ESTIMATE_ABOVE_S else None
    try:
        with address_space_limit(guard):
            return measure(upstream, seconds, repeats)
    except (MemoryError, RuntimeError) as err:
        if isinstance(err, RuntimeError) and "alloc" not in str(err).lower():
            raise
    gc.collect()
    return {"seconds": seconds, "error": f"does not fit: its forward ran out of the budget of "
                                         f"{memory_budget.gib(budget)}"}


def measure(upstream: torch.nn.Module, seconds: float, repeats: int = 3) -> dict:
    """One upstream at one clip length: multiply-adds, median wall seconds, peak bytes, windows."""
    device = device_of(upstream)
    samples = max(1, int(round(seconds * int(upstream.sample_rate))))
    audio = 0.1 * torch.randn(1, samples, generator=torch.Generator().manual_seed(0)).to(device)
    pieces = windows(upstream, samples)
    with torch.no_grad():
        counter = FlopCounterMode(display=False)
        with countable(), counter:
            forward(upstream, audio, pieces)
        forward(upstream, audio, pieces)  # warm-up
        walls = []
        for _ in range(repeats):
            synchronize(device)
            start = time.perf_counter()
            forward(upstream, audio, pieces)
            synchronize(device)
            walls.append(time.perf_counter() - start)
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
            before = torch.cuda.memory_allocated(device)
            forward(upstream, audio, pieces)
            synchronize(device)
            peak = torch.cuda.max_memory_allocated(device) - before
        else:
            with PeakTensorBytes() as watch:
                forward(upstream, audio, pieces)
            peak = watch.peak
    return {"seconds": seconds, "macs": counter.get_total_flops() / 2, "wall_s": statistics.median(walls),
            "peak_bytes": int(peak), "forwards": len(pieces), "device": str(device)}


def cost(models: Sequence[str | torch.nn.Module], *, lengths: Sequence[float] = LENGTHS, repeats: int = 3,
         device: str | None = None, out: str | Path = "analyses", rerun: bool = False) -> Analysis:
    """Measure each model at each clip length (on `device`, default CUDA where there is one) and
    write OUT/cost.md, OUT/cost.svg (multiply-adds per second of audio, real-time factor and peak
    memory against length) and OUT/cost.json (the measurements, reused unless `rerun`)."""
    lengths = sorted(set(float(s) for s in lengths))
    if not lengths or not all(math.isfinite(s) and s > 0 for s in lengths):
        raise EarbenchError(f"cost: clip lengths must be positive seconds, got {lengths}")
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    out = Path(out)
    store = out / "cost.json"
    kept = json.loads(store.read_text()) if store.is_file() and not rerun else {}
    points, rows = [], []
    for model in models:
        upstream = load_upstream(model).to(device).eval()
        name, fp, params = upstream.earbench_name, fingerprint(upstream), count_parameters(upstream)
        for seconds in lengths:
            key = f"{fp}|{device}|{seconds:g}"
            if key not in kept:
                kept[key] = {"model": name, "params": params, "device": device,
                             **measure_within_budget(upstream, seconds, repeats)}
                write_json(store, kept)  # each measurement kept as it is made: an interrupted run resumes
            m = kept[key]
            if m.get("error"):
                rows.append((name, params, f"{seconds:g}", "-", "-", "-", "-", f"{m['device']}: {m['error']}"))
                continue
            per_s, rtf = m["macs"] / seconds, m["wall_s"] / seconds
            rows.append((name, params, f"{seconds:g}", m["forwards"], per_s, rtf, m["peak_bytes"] / 2 ** 20,
                         m["device"]))
            for panel, value in (("multiply-adds per second of audio", per_s), ("real-time factor", rtf),
                                 ("peak memory (MiB)", m["peak_bytes"] / 2 ** 20)):
                points.append(Point(name, panel, seconds, value, math.nan, math.nan, "none", 1))
    table = markdown(("model", "parameters", "clip s", "forwards", "multiply-adds / s of audio", "real-time factor",
                      "peak MiB", "device"), rows)
    notes = ["Multiply-adds: torch's FLOP counter (matrix products, convolutions, attention) halved; element-wise "
             "work and FFTs are not counted. Real-time factor: median wall time of a forward over the clip's "
             f"duration ({repeats} timed forward(s) after a warm-up; below 1 is faster than real time). Peak memory: "
             "torch.cuda.max_memory_allocated on CUDA; on the CPU the tensors made during the forward "
             "(a lower bound). `forwards`: windows of an upstream that declares `max_seconds`."]
    figure = curves(points, xlabel="clip length (s, log scale)", ylabel="", log_x=True, log_y=True)
    report = write_report(out, KIND, "Cost", table, figure, notes)
    return Analysis(KIND, points, {}, report)
