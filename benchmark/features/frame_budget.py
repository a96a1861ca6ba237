"""How big a frame cache would be, and whether it fits the disk budget (`--cache-budget`).

Frame entries are the big ones: a wav2vec 2.0 base on LibriSpeech-100h keeps some 18 M frames
x 768 floats per layer kept. Before a pairing extracts frames, its entries are estimated from
the audio's duration (headers only), the upstream's hop and the width and layers of one probe
forward on a second of silence: frames = duration / hop per item, stored as float16. Above the
budget, heads that read padded sequences (CTC, attention pooling) stream their frames instead
(`benchmark.features.streamed`: the upstream re-encodes each batch, s3prl's way); the default
budget is the free space of the cache's disk.
"""
from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import torch

from benchmark.errors import EarbenchError
from benchmark.features.audio import duration_s
from benchmark.features.extract import encode_batch

#: bytes per stored value: frame entries are float16 (`benchmark.features.cache.storable`)
STORED_BYTES = 2
UNITS = {"": 1, "B": 1, "K": 1e3, "KB": 1e3, "M": 1e6, "MB": 1e6, "G": 1e9, "GB": 1e9, "T": 1e12, "TB": 1e12,
         "KIB": 2 ** 10, "MIB": 2 ** 20, "GIB": 2 ** 30, "TIB": 2 ** 40}


def parse_size(text: str | int | float) -> int:
    """Bytes of a size such as `500MB`, `40GB`, `1.5TiB` or a plain number of bytes."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        value, unit = float(text), ""
    else:
        match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([A-Za-z]*)\s*", str(text))
        if match is None or match.group(2).upper() not in UNITS:
            raise EarbenchError(f"--cache-budget {text!r}: expected a size such as 500MB, 40GB or 1.5TB")
        value, unit = float(match.group(1)), match.group(2).upper()
    if value <= 0:
        raise EarbenchError(f"--cache-budget {text!r}: must be more than 0")
    return int(value * UNITS[unit])


def human(size: float) -> str:
    for unit, scale in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if size >= scale:
            return f"{size / scale:.3g} {unit}"
    return f"{int(size)} B"


def free_space(root: Path) -> int:
    """Free bytes on the disk that holds `root` (or its nearest existing parent)."""
    path = Path(root).resolve()
    while not path.exists() and path != path.parent:
        path = path.parent
    return int(shutil.disk_usage(path).free)


@dataclass(frozen=True)
class FrameEstimate:
    """A pairing's frame entries before they exist: their audio, frames and bytes."""

    seconds: float
    frames: int
    layers: int
    dim: int

    @property
    def bytes(self) -> int:
        return self.frames * self.layers * self.dim * STORED_BYTES

    def describe(self) -> str:
        hours, minutes = self.seconds / 3600, self.seconds / 60
        audio = f"{hours:.3g} h" if hours >= 1 else f"{minutes:.3g} min" if minutes >= 1 else f"{self.seconds:.3g} s"
        return (f"{audio} of audio, ~{self.frames:,} frames x {self.layers} layer(s) x "
                f"{self.dim} x float16 = {human(self.bytes)}")


def probe_shape(upstream: torch.nn.Module) -> tuple[int, int]:
    """(hidden states, width) of `upstream`, from one forward on a second of silence."""
    rate = int(upstream.sample_rate)
    name = getattr(upstream, "earbench_name", type(upstream).__name__)
    out = encode_batch(upstream, torch.zeros(1, rate), torch.tensor([rate]), name, ["(shape probe: 1 s of silence)"])
    return len(out.hidden_states), int(out.hidden_states[0].shape[-1])


def estimate_frames(upstream: torch.nn.Module, paths: Sequence[str], layers: str | int,
                    frame_pool: int = 1) -> FrameEstimate:
    """The frame entries of `paths` (every split's, concatenated) keeping `layers` ("all" or
    one), their frames averaged `frame_pool` at a time."""
    count, dim = probe_shape(upstream)
    hop_s = float(upstream.hop_ms) * frame_pool / 1000.0
    durations = [duration_s(p) for p in paths]
    frames = sum(max(1, int(d / hop_s)) for d in durations)
    return FrameEstimate(seconds=float(sum(durations)), frames=int(frames),
                         layers=count if layers == "all" else 1, dim=dim)
