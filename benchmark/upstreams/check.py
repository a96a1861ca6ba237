"""`earbench check`: validate an upstream against the contract before a long run.

Every check runs and reports, so one invocation lists all that is wrong with a model.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from benchmark.errors import EarbenchError
from benchmark.features.extract import encode_batch, forward
from benchmark.features.windows import Windowing, encode_windows
from benchmark.upstream import Encoded

DURATIONS_S = (1.7, 0.55, 1.0)  # deliberately unequal: padding and lengths matter
HOP_TOLERANCE = 0.1  # relative, plus two frames of slack for window edges
LONG_CLIP_HOPS = 10  # the long clip: one window plus this many frame hops, so two windows


@dataclass
class Check:
    name: str
    ok: bool
    detail: str


def synthetic_batch(rate: int, seed: int = 0, durations: tuple[float, ...] = DURATIONS_S) -> tuple[torch.Tensor, torch.Tensor]:
    """Chirps plus noise of unequal lengths, zero-padded: realistic enough for any encoder."""
    gen = torch.Generator().manual_seed(seed)
    lengths = torch.tensor([int(d * rate) for d in durations])
    audio = torch.zeros(len(lengths), int(lengths.max()))
    for b, n in enumerate(lengths.tolist()):
        t = torch.arange(n) / rate
        audio[b, :n] = 0.3 * torch.sin(2 * torch.pi * (200 + 400 * (b + 1) * t) * t) + 0.05 * torch.randn(n, generator=gen)
    return audio, lengths


def check_windows(upstream: torch.nn.Module) -> Check:
    """A clip just longer than the upstream's declared window, encoded in windows as extraction
    encodes it: every window gives the frames its stride needs (no gap), no forward sees more
    than one window, and the stitched frames keep the declared hop (as the hop check: within
    10% + 2 frames of samples / hop)."""
    name = "long clips in windows"
    try:
        windowing = Windowing.of(upstream)
    except EarbenchError as err:
        return Check(name, False, str(err))
    if windowing is None:
        return Check(name, True, "no max_seconds declared: every clip is encoded in one forward, whatever its length")
    rate = int(upstream.sample_rate)
    samples = windowing.length + LONG_CLIP_HOPS * windowing.hop
    audio, _ = synthetic_batch(rate, durations=(samples / rate,))
    label = getattr(upstream, "earbench_name", type(upstream).__name__)
    widest: list[int] = []

    def encode(windows: torch.Tensor, sizes: torch.Tensor, owners: list[int]) -> Encoded:
        widest.append(int(sizes.max()))
        return encode_batch(upstream, windows, sizes, label, ["a synthetic clip"])

    clip = f"a {samples / rate:.2f} s clip in windows of {windowing.length / rate:g} s (max_seconds)"
    try:
        stitched = encode_windows([audio[0]], windowing, "frames", 1, encode, [label])[0]
    except Exception as err:  # noqa: BLE001 - the point is to report any failure
        return Check(name, False, f"{clip} raised {type(err).__name__}: {err}")
    frames = len(stitched) - windowing.prefix
    expected = samples / windowing.hop
    ok = abs(frames - expected) <= HOP_TOLERANCE * expected + 2 and max(widest) <= windowing.length
    return Check(name, ok, f"{clip}: {len(widest)} forwards of at most {max(widest)} samples, {frames} frames "
                           f"(expected ≈{expected:.1f} from hop_ms={upstream.hop_ms})")


def check_upstream(upstream: torch.nn.Module, atol: float = 1e-3) -> list[Check]:
    results: list[Check] = []

    def add(name: str, ok: bool, detail: str) -> bool:
        results.append(Check(name, bool(ok), detail))
        return bool(ok)

    rate, hop = getattr(upstream, "sample_rate", None), getattr(upstream, "hop_ms", None)
    if not add("attributes", isinstance(rate, int) and rate > 0 and isinstance(hop, (int, float)) and hop > 0,
               f"sample_rate={rate!r} (positive int), hop_ms={hop!r} (positive number)"):
        return results
    audio, lengths = synthetic_batch(rate)
    try:
        out = forward(upstream, audio, lengths)
    except Exception as err:  # noqa: BLE001 - the point is to report any failure
        add("forward", False, f"forward(audio [3, {audio.shape[1]}], lengths) raised {type(err).__name__}: {err}")
        return results
    states = getattr(out, "hidden_states", None)
    out_lengths = getattr(out, "lengths", None)
    if not add("returns Encoded", isinstance(states, (list, tuple)) and len(states) > 0 and out_lengths is not None,
               f"got {type(out).__name__}; expected Encoded(hidden_states=[...], lengths=...)"):
        return results
    shapes = [tuple(h.shape) if isinstance(h, torch.Tensor) else type(h).__name__ for h in states]
    rank_ok = all(isinstance(h, torch.Tensor) and h.ndim == 3 and h.shape[0] == 3 for h in states)
    add("shapes", rank_ok, f"{len(states)} layer(s) of shape {shapes[0] if len(set(shapes)) == 1 else shapes}; expected [B=3, T, D]")
    if not rank_ok:
        return results
    add("equal frames across layers", len({h.shape[1] for h in states}) == 1,
        "all layers must share T so layers can be weighted and summed")
    widths = [h.shape[2] for h in states]
    add("equal widths across layers", len(set(widths)) == 1,
        f"widths {widths}: all layers must share D, as they are stacked into one array")
    dtypes = sorted({str(h.dtype) for h in states})
    add("dtype", all(h.dtype == torch.float32 for h in states), f"{', '.join(dtypes)} (expected torch.float32)")
    lengths_t = torch.as_tensor(out_lengths)
    frames = states[-1].shape[1]
    lengths_ok = lengths_t.shape == (3,) and not lengths_t.is_floating_point() and bool(
        ((lengths_t >= 1) & (lengths_t <= frames)).all())
    add("lengths", lengths_ok, f"lengths={lengths_t.tolist()} for T={frames}; expected 3 integers in 1..T")
    if not lengths_ok:
        return results
    finite = all(bool(torch.isfinite(h[b, :n]).all()) for h in states for b, n in enumerate(lengths_t.tolist()))
    add("finite values", finite, "no NaN or inf in valid frames" if finite else "NaN or inf in valid frames")
    if finite:  # not a failure: what the cache will store
        peak = max(float(h[b, :n].abs().max()) for h in states for b, n in enumerate(lengths_t.tolist()))
        half = float(torch.finfo(torch.float16).max)
        add("float16 range", True, f"max |value| {peak:.4g}: " + ("cached as float16" if peak <= half else
            f"beyond float16's {half:g}, so the cache stores float32 (twice the disk), never clipped"))
    expected = (lengths.float() / rate * 1000.0 / hop)
    slack = HOP_TOLERANCE * expected + 2
    hop_ok = bool(((lengths_t.float() - expected).abs() <= slack).all())
    add("hop consistent with lengths", hop_ok,
        f"lengths {lengths_t.tolist()} vs expected ≈{[round(x, 1) for x in expected.tolist()]} from hop_ms={hop}")
    again = forward(upstream, audio, lengths)
    same = all(torch.allclose(a.float(), b.float(), atol=atol, equal_nan=True) for a, b in zip(states, again.hidden_states))
    add("deterministic", same, "two identical calls agree" if same else "two identical calls differ (dropout left on? eval() mode?)")
    worst = 0.0
    for b, n in enumerate(lengths.tolist()):
        alone = forward(upstream, audio[b: b + 1, :n], lengths[b: b + 1])
        m = int(lengths_t[b])
        if int(torch.as_tensor(alone.lengths)[0]) != m:
            worst = float("inf")
            continue
        for h_batch, h_alone in zip(states, alone.hidden_states):
            diff = (h_batch[b, :m].float() - h_alone[0, :m].float()).abs().max().item()
            scale = h_alone[0, :m].float().abs().max().item() + 1e-6
            worst = max(worst, diff / scale)
    add("batch independence", worst <= atol,
        f"an item alone vs padded in a batch: max relative difference {worst:.2e} (tolerance {atol:.0e})")
    results.append(check_windows(upstream))
    return results
