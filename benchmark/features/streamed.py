"""Frames encoded when a batch asks for them, for pairings whose frame cache would not fit
the disk budget (`benchmark.features.frame_budget`): s3prl's way of probing LibriSpeech.

`StreamedSequences` is a drop-in for the cached `Sequences` of sequence heads (CTC, attention
pooling): the same `batch(idx) -> (x [b, T, ...], mask [b, T])`, `lengths`, `dim`, `layers`.
Each batch is read and encoded again (long clips in windows, as extraction does), and its
frames are rounded to float16 as a cache entry stores them, so the head sees the values it
would have read from the cache. One pass at the start learns every item's length and, for
the training part, the per-feature mean and spread that standardise all parts (computed in
float64 sums, so they agree with the cached path's to float32 rounding, not bit for bit).
The price is an encoder forward per batch per epoch.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from benchmark.features.audio import bucket_batches, duration_s, load_for
from benchmark.features.cache import storable
from benchmark.features.extract import ExtractStats, embed_batch, pool_frames
from benchmark.features.windows import Windowing
from benchmark.progress import progress_bar


class StreamedSequences:
    """Variable-length items of `paths`, encoded on demand by `upstream`, keeping `layers`
    ("all" with --layer weighted, else the one probed), the first `skip` (CLS) frames left out,
    the others averaged `frame_pool` at a time (`--frame-hop`)."""

    def __init__(self, upstream: torch.nn.Module, paths: Sequence[str], *, layers: str | int, skip: int = 0,
                 stats: tuple[np.ndarray, np.ndarray] | None = None, batch_seconds: float = 160.0,
                 progress: bool = True, what: str = "", frame_pool: int = 1) -> None:
        self.upstream, self.paths, self.layers_kept, self.skip = upstream, list(paths), layers, skip
        self.frame_pool = frame_pool
        self.batch_seconds, self.name = batch_seconds, getattr(upstream, "earbench_name", type(upstream).__name__)
        self.windowing = Windowing.of(upstream)
        self.lengths, self.stats, self._shape = self._first_pass(stats, progress, what)

    def __len__(self) -> int:
        return len(self.paths)

    @property
    def dim(self) -> int:
        return int(self._shape[-1])

    @property
    def layers(self) -> int | None:
        return int(self._shape[0]) if len(self._shape) == 2 else None

    def encode(self, idx: Sequence[int]) -> list[np.ndarray]:
        """The frames of items `idx`, as a cache entry would hold them: [T, D] or [T, L, D] float32."""
        rate = int(self.upstream.sample_rate)
        waves = [load_for(self.paths[i], rate) for i in idx]
        lengths = torch.tensor([w.numel() for w in waves])
        audio = torch.zeros(len(waves), int(lengths.max()))
        for row, wave in enumerate(waves):
            audio[row, : wave.numel()] = wave
        items = embed_batch(self.upstream, audio, lengths, "frames", self.name, [self.paths[i] for i in idx],
                            self.windowing, self.batch_seconds, ExtractStats(), layers=self.layers_kept)
        select = slice(None) if self.layers_kept == "all" else 0
        return [storable(pool_frames(item[self.skip:], self.frame_pool)).astype(np.float32)[:, select]
                for item in items]

    def batch(self, idx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        idx = [int(i) for i in idx]
        items = self.encode(idx)
        lengths = torch.as_tensor([len(x) for x in items])
        padded = torch.zeros(len(idx), int(lengths.max()), *self._shape)
        for row, x in enumerate(items):
            padded[row, : len(x)] = torch.from_numpy(((x - self.stats[0]) / self.stats[1]).astype(np.float32))
        return padded, torch.arange(padded.shape[1])[None, :] < lengths[:, None]

    def _first_pass(self, stats: tuple[np.ndarray, np.ndarray] | None, progress: bool,
                    what: str) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray], tuple[int, ...]]:
        """Every item's length, and (when `stats` is None) the mean and spread of all its frames."""
        lengths = np.zeros(len(self.paths), dtype=np.int64)
        total = total_sq = None
        shape: tuple[int, ...] = ()
        groups = bucket_batches([duration_s(p) for p in self.paths], self.batch_seconds)
        with progress_bar(f"stream {what} ({self.name}): lengths{'' if stats else ' and statistics'}",
                          total=len(self.paths), enabled=progress) as advance:
            for group in groups:
                for i, x in zip(group, self.encode(group)):
                    lengths[i], shape = len(x), x.shape[1:]
                    if stats is None:
                        x64 = x.astype(np.float64)
                        total = x64.sum(0) if total is None else total + x64.sum(0)
                        total_sq = (x64 ** 2).sum(0) if total_sq is None else total_sq + (x64 ** 2).sum(0)
                advance(len(group))
        if stats is None:
            count = int(lengths.sum())
            mean = total / count
            std = np.sqrt(np.maximum(total_sq / count - mean ** 2, 0.0))
            stats = mean.astype(np.float32), np.maximum(std, 1e-6).astype(np.float32)
        return lengths, stats, shape
