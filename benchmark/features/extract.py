"""Upstream + audio files -> cached embeddings (pooled per clip, or frames).

The only place an encoder forward happens for frozen protocols; everything downstream
reads the memory-mapped cache. What bounds memory: batches hold at most `batch_seconds` of
padded audio (a longer clip is a batch of its own), and for an upstream that declares
`max_seconds` no forward sees a longer item: longer clips are encoded in windows, at most
`batch_seconds` of them per forward, and stitched back (`windows.py`). Where one forward
would hold more than half a minute of one item, its memory is estimated first and the
batches held to the budget (`memory_budget.py`).
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch

from benchmark.features.audio import bucket_batches, duration_s, iterate_batches
from benchmark.features.cache import EmbeddingCache, Embeddings, cache_key
from benchmark.features.digest import content_digest
from benchmark.features.memory_budget import (ESTIMATE_ABOVE_S, budget_bytes, fit_batches, measure,
                                              windows_per_forward)
from benchmark.features.windows import Windowing, encode_windows
from benchmark.device import autocast, device_of
from benchmark.errors import EarbenchError, ProtocolError, UpstreamError
from benchmark.progress import progress_bar
from benchmark.upstream import Encoded, cls_frames, fingerprint

POOLINGS = ("mean", "max", "cls", "frames")


@dataclass
class ExtractStats:
    seconds: float = 0.0
    items: int = 0
    forwards: int = 0
    cached: bool = True


class ForwardError(UpstreamError):
    """An exception raised inside an upstream's forward, as one line naming the model and the
    batch. It may be transient (a lost device), so executors retry it like any failure."""


def where_in(name: str, paths: Sequence[str]) -> str:
    return f"upstream {name!r} on {paths[0]}" + (f" (+{len(paths) - 1} more in the batch)" if len(paths) > 1 else "")


def validate_output(out: object, batch: int, name: str, paths: Sequence[str]) -> Encoded:
    """Reject outputs that break the contract, naming the model and the batch's files."""
    where = where_in(name, paths)
    if not isinstance(out, Encoded) and not (hasattr(out, "hidden_states") and hasattr(out, "lengths")):
        raise UpstreamError(f"{where}: forward must return Encoded(hidden_states, lengths), got {type(out).__name__}")
    states, lengths = list(out.hidden_states), torch.as_tensor(out.lengths)
    if not states:
        raise UpstreamError(f"{where}: hidden_states is empty")
    for k, h in enumerate(states):
        if h.ndim != 3 or h.shape[0] != batch:
            raise UpstreamError(f"{where}: layer {k} has shape {tuple(h.shape)}; expected [B={batch}, T, D]")
    if lengths.shape != (batch,):
        raise UpstreamError(f"{where}: lengths has shape {tuple(lengths.shape)}; expected [{batch}]")
    if len({h.shape[1:] for h in states}) > 1:  # the layers are stacked into one [T, L, D] array
        raise UpstreamError(f"{where}: layers have shapes {[tuple(h.shape) for h in states]}; every layer "
                            f"must have the same number of frames T and width D")
    frames = min(h.shape[1] for h in states)
    if (lengths < 1).any() or (lengths > frames).any():
        raise UpstreamError(f"{where}: lengths {lengths.tolist()} inconsistent with {frames} frames")
    return Encoded(states, lengths)


def pool(states: list[torch.Tensor], lengths: torch.Tensor, how: str) -> list[np.ndarray]:
    """Per item: [L, D] mean/max over valid frames or the first (CLS) frame, or [T, L, D] valid frames."""
    lengths = lengths.to(states[0].device)
    if how == "frames":
        stacked = torch.stack([h.float() for h in states], dim=2).cpu()  # [B, T, L, D]
        return [stacked[b, :n].numpy() for b, n in enumerate(lengths.tolist())]
    mask = (torch.arange(states[0].shape[1], device=lengths.device)[None, :] < lengths[:, None])[..., None]
    if how == "mean":
        pooled = [(h.float() * mask).sum(1) / lengths[:, None] for h in states]  # masked, no copies per item
    elif how == "cls":
        pooled = [h[:, 0].float() for h in states]  # the upstream's CLS token comes first
    else:
        pooled = [h.float().masked_fill(~mask, -torch.inf).amax(1) for h in states]
    return list(torch.stack(pooled, dim=1).cpu().numpy())  # B x [L, D]


def pool_frames(item: np.ndarray, factor: int, skip: int = 0) -> np.ndarray:
    """`item`'s frames ([T, L, D]) averaged `factor` at a time (the last group may be shorter),
    its `skip` leading CLS frames kept as they are: frames at `factor` x the upstream's hop
    (`--frame-hop`), a cache `factor` times smaller."""
    if factor == 1 or len(item) <= skip:
        return item
    body = item[skip:].astype(np.float32, copy=False)
    starts = np.arange(0, len(body), factor)
    counts = np.diff(np.append(starts, len(body))).astype(np.float32)
    pooled = np.add.reduceat(body, starts, axis=0) / counts.reshape(-1, *([1] * (body.ndim - 1)))
    return np.concatenate([item[:skip].astype(np.float32), pooled]) if skip else pooled


def forward(upstream: torch.nn.Module, audio: torch.Tensor, lengths: torch.Tensor) -> object:
    device = device_of(upstream)
    with torch.inference_mode(), autocast(device):
        return upstream(audio.to(device), lengths.to(device))


def encode_batch(upstream: torch.nn.Module, audio: torch.Tensor, lengths: torch.Tensor, name: str,
                 paths: Sequence[str], layers: str | int = "all") -> Encoded:
    """One forward, checked against the contract, with the hidden states `layers` keeps; what
    the upstream raises becomes one line naming it and the batch's files."""
    try:
        raw = forward(upstream, audio, lengths)
    except EarbenchError:  # an adapter's own clear error
        raise
    except Exception as err:  # noqa: BLE001 - the upstream's own code: named, in one line
        raise ForwardError(f"{where_in(name, paths)}: forward raised {type(err).__name__}: "
                           f"{' '.join(str(err).split())}") from err
    return kept_layers(validate_output(raw, len(lengths), name, paths), layers, name)


def kept_layers(out: Encoded, layers: str | int, name: str) -> Encoded:
    """`out` with every hidden state (`"all"`) or only one (`"last"` or an index): a frame
    cache of one layer is 1/L of all of them (13 layers of a wav2vec 2.0 base)."""
    if layers == "all":
        return out
    count = len(out.hidden_states)
    index = count - 1 if layers == "last" else int(layers)
    if not -count <= index < count:
        raise ProtocolError(f"layer {index} is out of range: upstream {name!r} has {count} layers (0..{count - 1})")
    return Encoded(hidden_states=[out.hidden_states[index]], lengths=out.lengths)


def embed_batch(upstream: torch.nn.Module, audio: torch.Tensor, lengths: torch.Tensor, pooling: str, name: str,
                paths: Sequence[str], windowing: Windowing | None, batch_seconds: float,
                stats: ExtractStats, max_windows: int | None = None, layers: str | int = "all") -> list[np.ndarray]:
    """Each item's pooled embedding (or frames): items longer than the upstream's window are
    encoded in windows (at most `max_windows` a forward, where memory says so), the others in
    one forward."""
    long = [r for r, n in enumerate(lengths.tolist()) if windowing is not None and n > windowing.length]
    if windowing is None or not long:
        out = encode_batch(upstream, audio, lengths, name, paths, layers)
        stats.forwards += 1
        return pool(out.hidden_states, out.lengths, pooling)
    items: list[np.ndarray] = [np.empty(0)] * len(paths)
    short = [r for r in range(len(paths)) if r not in long]
    if short:
        n = int(lengths[short].max())
        out = encode_batch(upstream, audio[short, :n], lengths[short], name, [paths[r] for r in short], layers)
        stats.forwards += 1
        for r, item in zip(short, pool(out.hidden_states, out.lengths, pooling)):
            items[r] = item

    def encode(windows: torch.Tensor, sizes: torch.Tensor, owners: list[int]) -> Encoded:
        out = encode_batch(upstream, windows, sizes, name, list(dict.fromkeys(paths[long[o]] for o in owners)),
                           layers)
        stats.forwards += 1
        return out

    waves = [audio[r, : int(lengths[r])] for r in long]
    per_forward = min(windowing.per_forward(batch_seconds, int(upstream.sample_rate)), max_windows or 2 ** 31)
    for r, item in zip(long, encode_windows(waves, windowing, pooling, per_forward, encode,
                                            [where_in(name, [paths[r]]) for r in long])):
        items[r] = item
    return items


def extract(upstream: torch.nn.Module, paths: Sequence[str], *, task: str, task_version: str, split: str,
            pooling: str = "mean", cache: EmbeddingCache | None = None, batch_seconds: float = 160.0,
            workers: int = 0, progress: bool = True, stats: ExtractStats | None = None,
            layers: str | int = "all", frame_pool: int = 1) -> Embeddings:
    """Embeddings of `paths` from the cache, computing only what is missing; `layers` keeps every
    hidden state ("all", [.., L, D]) or one ("last" or an index, [.., 1, D]), cached apart;
    frames are stored averaged `frame_pool` at a time (`pool_frames`), cached apart too."""
    if pooling not in POOLINGS:
        raise ValueError(f"pooling must be one of {POOLINGS}, got {pooling!r}")
    frame_pool = frame_pool if pooling == "frames" else 1  # pooled clips have no frames to average
    cache = cache or EmbeddingCache()
    stats = stats if stats is not None else ExtractStats()
    name = getattr(upstream, "earbench_name", type(upstream).__name__)
    start = time.perf_counter()
    upstream_fp = getattr(upstream, "earbench_fingerprint", None) or fingerprint(upstream)
    upstream.earbench_fingerprint = upstream_fp
    key = embedding_key(upstream_fp, task, task_version, split, pooling, paths, layers, frame_pool)
    cached = cache.load(key)
    if cached is None:
        with cache.locked(key):  # one process extracts an entry; the others wait, then read it
            cached = cache.load(key)
            if cached is None:
                _extract_missing(upstream, paths, key, task=task, task_version=task_version, split=split,
                                 pooling=pooling, cache=cache, batch_seconds=batch_seconds, workers=workers,
                                 progress=progress, stats=stats, name=name, start=start, layers=layers,
                                 frame_pool=frame_pool)
                cached = cache.load(key)
                assert cached is not None
    stats.seconds += time.perf_counter() - start
    return cached


def embedding_key(upstream_fp: str, task: str, task_version: str, split: str, pooling: str,
                  paths: Sequence[str], layers: str | int = "all", frame_pool: int = 1) -> str:
    """The cache key of these embeddings (the planner uses it to see what is warm); `frame_pool`
    counts for frame entries only."""
    pooled = {"frame_pool": frame_pool} if frame_pool != 1 and pooling == "frames" else {}  # keys as they were
    return cache_key(upstream=upstream_fp, task=task, version=task_version, split=split,
                     pooling=pooling, layers=str(layers), audio=content_digest(paths), **pooled)


def _extract_missing(upstream: torch.nn.Module, paths: Sequence[str], key: str, *, task: str, task_version: str,
                     split: str, pooling: str, cache: EmbeddingCache, batch_seconds: float, workers: int,
                     progress: bool, stats: ExtractStats, name: str, start: float, layers: str | int,
                     frame_pool: int = 1) -> None:
    """Encode the items not yet in `<key>.partial/` and publish the entry (caller holds the lock)."""
    upstream_fp = upstream.earbench_fingerprint
    meta = {"upstream": name, "fingerprint": upstream_fp, "task": task, "version": task_version,
            "split": split, "pooling": pooling, "num_items": len(paths),
            "hop_ms": float(upstream.hop_ms) * frame_pool, "layers": str(layers), "frame_pool": frame_pool}
    writer = cache.writer(key, len(paths), meta)
    done = writer.done_items()
    todo = [i for i in range(len(paths)) if i not in done]
    durations = [duration_s(paths[i]) for i in todo]
    batches = [[todo[j] for j in batch] for batch in bucket_batches(durations, batch_seconds)]
    stats.cached = False
    windowing = Windowing.of(upstream)
    batches, max_windows = held_to_memory(upstream, batches, dict(zip(todo, durations)), windowing, name, paths,
                                          meta)
    with progress_bar(f"embed {task}/{split} ({name})", total=len(paths), enabled=progress,
                      completed=len(done)) as advance:
        for indices, audio, lengths in iterate_batches(paths, int(upstream.sample_rate), batches, workers):
            items = embed_batch(upstream, audio, lengths, pooling, name, [paths[i] for i in indices], windowing,
                                batch_seconds, stats, max_windows, layers)
            if frame_pool != 1:
                items = [pool_frames(item, frame_pool, cls_frames(upstream)) for item in items]
            for i, item in zip(indices, items):
                if not np.isfinite(item).all():
                    raise UpstreamError(f"upstream {name!r} returned NaN or infinite values for {paths[i]}")
            writer.write(indices, items)
            stats.items += len(indices)
            advance(len(indices))
    elapsed = time.perf_counter() - start
    meta.update(embed_s=round(elapsed, 3), resumed_items=len(done), device=str(device_of(upstream)))
    writer.finish()


def held_to_memory(upstream: torch.nn.Module, batches: list[list[int]], durations: dict[int, float],
                   windowing: Windowing | None, name: str, paths: Sequence[str],
                   meta: dict) -> tuple[list[list[int]], int | None]:
    """The batches split to the memory budget, and the most windows one forward may take; as
    given (and no limit) when no forward holds more than ESTIMATE_ABOVE_S of one item."""
    rate = int(upstream.sample_rate)
    window_s = windowing.length / rate if windowing is not None else None
    seconds = {i: min(d, window_s) if window_s else d for i, d in durations.items()}
    if max(seconds.values(), default=0.0) <= ESTIMATE_ABOVE_S:
        return batches, None
    device = device_of(upstream)
    budget = budget_bytes(device)
    if budget is None:
        return batches, None
    model = measure(lambda audio, lengths: encode_batch(upstream, audio, lengths, name, ["(memory probe: silence)"]),
                    rate, device)
    meta["memory"] = {"budget_bytes": int(budget), "fixed": model.fixed, "per_second": model.linear,
                      "per_second_squared": model.quadratic}
    fitted = fit_batches(batches, seconds, model, budget, name, paths)
    return fitted, windows_per_forward(model, budget, window_s) if window_s else None
