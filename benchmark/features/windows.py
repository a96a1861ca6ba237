"""Clips longer than an upstream's `max_seconds`, encoded window by window and stitched back.

A clip of more than `length` samples is cut into windows of `length` samples that start
every `stride` samples, the stride a whole number of frame hops, so that a window's frame k
is frame `start / hop + k` of the clip. Consecutive windows overlap by `length - stride`
(at least the declared `window_overlap_seconds`); a frame in an overlap is taken from the
window whose edge it is farther from (the cut is the middle of the overlap), so a kept frame
has at least half the overlap of the clip's audio on either side (the clip's own ends
aside). The stitched clip has the frames and hop of an unwindowed run (the last window's
start in hops plus its frame count); leading CLS frames (`has_cls`) are the mean of the
windows'. Frames that see a stretch of audio shorter than half the overlap (log-mel, a small
CNN) equal an unwindowed run's; an attention model's frames attend within their window only.

Clip embeddings (mean, max, cls) are folded in window by window over all the stitched
frames, so a long clip holds one batch of windows at a time, never all its frames.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import torch

from benchmark.errors import UpstreamError
from benchmark.upstream import Encoded, declared_window

#: encode(audio [B, N], lengths [B], owners [B] (the clip of each window)) -> validated Encoded
Encode = Callable[[torch.Tensor, torch.Tensor, list[int]], Encoded]


@dataclass(frozen=True)
class Windowing:
    """Where an upstream's long clips are cut, in samples at its rate."""

    length: int  # samples of a window: the declared max_seconds
    stride: int  # samples between window starts, a multiple of `hop`
    hop: int  # samples per frame
    prefix: int = 0  # leading CLS frames of each window's output (`has_cls`)

    @classmethod
    def of(cls, upstream: torch.nn.Module) -> Windowing | None:
        """The upstream's declared window in samples, or None when it encodes any length at once."""
        window = declared_window(upstream)
        if window is None:
            return None
        rate = int(upstream.sample_rate)
        hop = int(round(float(upstream.hop_ms) * rate / 1000.0))
        length = int(round(window.seconds * rate))
        stride = (length - int(round(window.overlap * rate))) // hop * hop
        return cls(length, stride, hop, int(getattr(upstream, "has_cls", 0) or 0))

    def starts(self, samples: int) -> list[int]:
        """Window starts covering a clip of `samples` (one window, [0], if it fits in one)."""
        starts = [0]
        while starts[-1] + self.length < samples:
            starts.append(starts[-1] + self.stride)
        return starts

    def cut(self, start: int) -> int:
        """The clip frame from which the window starting at `start` takes over from the one
        before: the middle of their overlap, on a frame."""
        return start // self.hop + (self.length - self.stride) // (2 * self.hop)

    def per_forward(self, batch_seconds: float, rate: int) -> int:
        """Windows per forward: as many as `batch_seconds` of padded audio holds, at least one."""
        return max(1, int(batch_seconds * rate // self.length))


class Stitch:
    """One clip's windows, added in order, folded into what `pooling` keeps of the clip: as
    `extract.pool` would pool the unwindowed clip's frames (CLS frames first, then the rest)."""

    def __init__(self, windowing: Windowing, samples: int, pooling: str, where: str) -> None:
        self.w, self.pooling, self.where = windowing, pooling, where
        self.starts = windowing.starts(samples)
        self.filled = 0  # clip frames (after the CLS frames) stitched so far
        self.added = 0  # windows added so far
        self.cls: torch.Tensor | None = None  # the sum of the windows' CLS frames [prefix, L, D]
        self.pieces: list[torch.Tensor] = []  # pooling == "frames": the kept frames
        self.folded: torch.Tensor | None = None  # mean: their sum; max: their max; cls: the first frame [L, D]

    def add(self, window: torch.Tensor) -> None:
        """The next window's valid frames `[T, L, D]` (its CLS frames first)."""
        j, prefix = self.added, self.w.prefix
        self.added += 1
        if prefix:
            head = window[:prefix].double()
            self.cls = head if self.cls is None else self.cls + head
        frames = window[prefix:]
        offset = self.starts[j] // self.w.hop
        if offset > self.filled:
            raise UpstreamError(f"{self.where}: window {j + 1} of {len(self.starts)} starts at frame {offset}, "
                                f"but the window before it gave frames only up to {self.filled}: a window of "
                                f"{self.w.length} samples must give at least {self.w.stride // self.w.hop} frames "
                                f"(its stride at the declared hop); check hop_ms, max_seconds and window_overlap_seconds")
        last = j + 1 == len(self.starts)
        end = offset + len(frames) if last else min(offset + len(frames), self.w.cut(self.starts[j + 1]))
        kept = frames[self.filled - offset: max(end, self.filled) - offset]
        self.filled = max(end, self.filled)
        if len(kept):
            self.fold(kept)

    def fold(self, kept: torch.Tensor) -> None:
        if self.pooling == "frames":
            self.pieces.append(kept.float())
        elif self.pooling == "mean":
            total = kept.double().sum(0)
            self.folded = total if self.folded is None else self.folded + total
        elif self.pooling == "max":
            top = kept.float().amax(0)
            self.folded = top if self.folded is None else torch.maximum(self.folded, top)
        elif self.folded is None:  # cls without CLS frames: the clip's first frame
            self.folded = kept[0].float()

    def result(self) -> np.ndarray:
        """The clip's embedding, `[L, D]`, or its frames `[T, L, D]` for `frames`."""
        if self.added != len(self.starts):
            raise AssertionError(f"{self.where}: {self.added} of {len(self.starts)} windows added")
        cls = None if self.cls is None else self.cls / len(self.starts)
        if self.pooling == "frames":
            parts = ([cls.float()] if cls is not None else []) + self.pieces
            return torch.cat(parts).numpy()
        if self.pooling == "mean":
            total = self.folded if cls is None else self.folded + cls.sum(0)
            return (total / (self.filled + self.w.prefix)).float().numpy()
        if self.pooling == "max":
            return (self.folded if cls is None else torch.maximum(self.folded, cls.float().amax(0))).numpy()
        return (cls[0].float() if cls is not None else self.folded).numpy()


def encode_windows(waves: Sequence[torch.Tensor], windowing: Windowing, pooling: str, per_forward: int,
                   encode: Encode, where: Sequence[str]) -> list[np.ndarray]:
    """Pooled embeddings (or frames) of clips longer than a window: their windows, in order,
    `per_forward` at a time through `encode` (`where` names each clip in errors)."""
    stitches = [Stitch(windowing, len(wave), pooling, name) for wave, name in zip(waves, where)]
    pieces = [(i, start) for i, stitch in enumerate(stitches) for start in stitch.starts]
    for first in range(0, len(pieces), per_forward):
        chunk = pieces[first: first + per_forward]
        segments = [waves[i][start: start + windowing.length] for i, start in chunk]
        lengths = torch.tensor([len(s) for s in segments], dtype=torch.long)
        audio = torch.zeros(len(segments), int(lengths.max()))
        for row, segment in enumerate(segments):
            audio[row, : len(segment)] = segment
        out = encode(audio, lengths, [i for i, _ in chunk])
        stacked = torch.stack([h.float() for h in out.hidden_states], dim=2).cpu()  # [B, T, L, D]
        for row, ((i, _), n) in enumerate(zip(chunk, out.lengths.tolist())):
            stitches[i].add(stacked[row, :n])
    return [stitch.result() for stitch in stitches]
