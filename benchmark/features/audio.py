"""Audio in: soundfile reading, resampling to the upstream's rate, duration-bucketed batches.

Batches are formed by total padded duration rather than by count, so a batch of long clips
holds few items and a batch of short ones many: memory stays flat whatever the lengths.
"""
from __future__ import annotations

import math
import os
import struct
import warnings
from functools import lru_cache
from typing import Iterator, Sequence

import numpy as np
import soundfile as sf
import torch
import torchaudio.functional as AF

from benchmark.errors import AudioError


class AudioWarning(UserWarning):
    """Audio that is read, but not as its file says (a WAV cut short); the run goes on."""


def wav_shortfall(path: str) -> tuple[float, float] | None:
    """(seconds its header declares, seconds present) of a RIFF WAV whose data chunk is cut
    short, else None. libsndfile reads such a file silently, as if it were that short."""
    try:
        with open(path, "rb") as f:
            riff = f.read(12)
            if len(riff) < 12 or riff[:4] != b"RIFF" or riff[8:] != b"WAVE":
                return None
            byte_rate = 0
            while len(head := f.read(8)) == 8:
                chunk, size = head[:4], struct.unpack("<I", head[4:])[0]
                if chunk == b"fmt ":
                    fmt = f.read(size + (size & 1))
                    byte_rate = struct.unpack("<I", fmt[8:12])[0] if len(fmt) >= 12 else 0
                elif chunk == b"data":
                    present = os.fstat(f.fileno()).st_size - f.tell()
                    if size in (0, 0xFFFFFFFF) or size <= present or not byte_rate:  # unknown length, or whole
                        return None
                    return size / byte_rate, present / byte_rate
                else:
                    f.seek(size + (size & 1), os.SEEK_CUR)
    except OSError:
        return None
    return None


def read_audio(path: str) -> tuple[np.ndarray, int]:
    """Mono float32 samples and their rate; a clear AudioError for any unreadable file, a
    warning for a WAV shorter than its header says."""
    if (short := wav_shortfall(path)) is not None:
        warnings.warn(f"{path}: its WAV header declares {short[0]:.3f} s of audio, the file holds {short[1]:.3f} s "
                      f"(truncated?); only those are read", AudioWarning, stacklevel=2)
    try:
        data, rate = sf.read(path, dtype="float32", always_2d=True)
    except FileNotFoundError:
        raise AudioError(f"{path}: audio file not found") from None
    except (sf.LibsndfileError, RuntimeError, OSError) as err:
        raise AudioError(f"{path}: cannot read audio ({err})") from None
    if data.shape[0] == 0:
        raise AudioError(f"{path}: audio file is empty (0 samples)")
    mono = data.mean(axis=1) if data.shape[1] > 1 else data[:, 0]
    if not np.isfinite(mono).all():
        raise AudioError(f"{path}: audio contains NaN or infinite samples")
    return np.ascontiguousarray(mono), rate


def duration_s(path: str) -> float:
    """Clip duration from the header only (cheap: used to plan batches)."""
    try:
        info = sf.info(path)
    except (sf.LibsndfileError, RuntimeError, OSError) as err:
        raise AudioError(f"{path}: cannot read audio header ({err})") from None
    if info.frames <= 0:
        raise AudioError(f"{path}: audio file is empty (0 samples)")
    return info.frames / info.samplerate


@lru_cache(maxsize=16)
def _kernel_rates(orig: int, new: int) -> tuple[int, int]:
    g = math.gcd(orig, new)
    return orig // g, new // g


def resample(wave: torch.Tensor, orig: int, new: int) -> torch.Tensor:
    """Band-limited sinc resampling (torchaudio), a no-op when the rates agree."""
    if orig == new:
        return wave
    o, n = _kernel_rates(orig, new)
    return AF.resample(wave, o, n)


def load_for(path: str, rate: int) -> torch.Tensor:
    """A file as a 1-D float32 tensor at `rate`."""
    samples, orig = read_audio(path)
    return resample(torch.from_numpy(samples), orig, rate)


class ClipDataset(torch.utils.data.Dataset):
    """Items of a manifest, read and resampled in DataLoader workers."""

    def __init__(self, paths: Sequence[str], rate: int) -> None:
        self.paths = list(paths)
        self.rate = rate

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> tuple[int, torch.Tensor | AudioError]:
        """An unreadable file's AudioError is returned, not raised: raised in a DataLoader worker
        it would reach the user wrapped in the worker's traceback; `iterate_batches` raises it."""
        try:
            return index, load_for(self.paths[index], self.rate)
        except AudioError as err:
            return index, err


def bucket_batches(durations: Sequence[float], max_batch_s: float, max_items: int = 256) -> list[list[int]]:
    """Group item indices (sorted by duration) so that items x longest <= max_batch_s.

    Sorting keeps padding small; a clip longer than the budget gets a batch of its own.
    """
    order = np.argsort(np.asarray(durations), kind="stable")
    batches: list[list[int]] = []
    current: list[int] = []
    for index in order:
        longest = durations[index]  # ascending order: the newcomer is the longest
        if current and (longest * (len(current) + 1) > max_batch_s or len(current) >= max_items):
            batches.append(current)
            current = []
        current.append(int(index))
    if current:
        batches.append(current)
    return batches


Batch = tuple[list[int], torch.Tensor, torch.Tensor]


def collate(items: list[tuple[int, torch.Tensor | AudioError]]) -> Batch | AudioError:
    """Zero-pad to the longest item; returns indices, audio [B, N], lengths [B] (or the first
    item's AudioError, for the reading process to raise)."""
    for _, wave in items:
        if isinstance(wave, AudioError):
            return wave
    indices = [i for i, _ in items]
    lengths = torch.tensor([w.numel() for _, w in items], dtype=torch.long)
    audio = torch.zeros(len(items), int(lengths.max()))
    for row, (_, wave) in enumerate(items):
        audio[row, : wave.numel()] = wave
    return indices, audio, lengths


def iterate_batches(paths: Sequence[str], rate: int, batches: list[list[int]],
                    workers: int = 0) -> Iterator[Batch]:
    """Padded batches in the given order, read in `workers` background processes."""
    loader = torch.utils.data.DataLoader(
        ClipDataset(paths, rate), batch_sampler=batches, collate_fn=collate, num_workers=workers,
        persistent_workers=False, prefetch_factor=4 if workers else None)
    for batch in loader:
        if isinstance(batch, AudioError):
            raise batch
        yield batch
