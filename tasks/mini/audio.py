"""Signal utilities for mixing: levels, rates, noise, rooms and the one output format.

Everything works on float32 mono arrays at `SAMPLE_RATE`; randomness only ever comes
from a `numpy.random.Generator` passed in, so a clip is a pure function of its seed.
"""

from __future__ import annotations

from math import gcd
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.fft import next_fast_len
from scipy.signal import fftconvolve, resample_poly

SAMPLE_RATE = 16_000
NOISE_COLORS = ("white", "pink", "brown")


def resample(x: np.ndarray, rate: int) -> np.ndarray:
    """Mono float32 copy of `x` (frames or frames x channels) at SAMPLE_RATE."""
    if x.ndim == 2:
        x = x.mean(axis=1)
    if rate != SAMPLE_RATE:
        g = gcd(rate, SAMPLE_RATE)
        x = resample_poly(x, SAMPLE_RATE // g, rate // g)
    return np.ascontiguousarray(x, dtype=np.float32)


def to_seconds(n: int) -> float:
    return n / SAMPLE_RATE


def to_samples(t: float) -> int:
    return int(round(t * SAMPLE_RATE))


def active_rms(x: np.ndarray, floor_db: float = 30.0) -> float:
    """RMS over the 20 ms frames within `floor_db` of the loudest one.

    Levels are set on the sounding part only, so a short click and a long drone placed
    at the same level are equally prominent however much silence surrounds them.
    """
    frame = to_samples(0.02)
    n = max(1, len(x) // frame)
    power = np.square(np.resize(x, n * frame).reshape(n, -1)).mean(1) if len(x) else np.zeros(1)
    loud = power[power >= power.max() * 10 ** (-floor_db / 10)]
    return float(np.sqrt(loud.mean()))


def at_level(x: np.ndarray, db: float) -> np.ndarray:
    """`x` scaled so its active RMS is `db` dB re full scale (silence stays silent)."""
    rms = active_rms(x)
    return x * np.float32(10 ** (db / 20) / rms) if rms > 0 else x


def fade(x: np.ndarray, fade_in: float = 0.0, fade_out: float = 0.0) -> np.ndarray:
    """Copy of `x` with linear fades, so cuts never click."""
    x = x.copy()
    n_in, n_out = min(to_samples(fade_in), len(x)), min(to_samples(fade_out), len(x))
    x[:n_in] *= np.linspace(0, 1, n_in, endpoint=False, dtype=np.float32)
    x[len(x) - n_out:] *= np.linspace(1, 0, n_out, endpoint=False, dtype=np.float32)
    return x


def cut(x: np.ndarray, length: float, fade_out: float = 0.05) -> np.ndarray:
    """At most `length` seconds of `x`, faded out if anything was cut."""
    n = to_samples(length)
    return fade(x[:n], fade_out=fade_out) if len(x) > n else x


def change_rate(x: np.ndarray, rate: float) -> np.ndarray:
    """Play `x` `rate` times faster (pitch and tempo together, like a tape)."""
    if rate == 1.0:
        return x
    t = np.arange(0, len(x) - 1, rate)
    return np.interp(t, np.arange(len(x)), x).astype(np.float32)


def trim(x: np.ndarray, floor_db: float = 60.0) -> np.ndarray:
    """`x` without the trailing samples more than `floor_db` below its peak."""
    loud = np.flatnonzero(np.abs(x) > np.abs(x).max(initial=0) * 10 ** (-floor_db / 20))
    return x[: loud[-1] + 1] if loud.size else x[:0]


def noise(n: int, color: str, rng: np.random.Generator) -> np.ndarray:
    """`n` samples of unit-RMS white, pink (1/f) or brown (1/f^2) noise."""
    exponent = {"white": 0.0, "pink": 0.5, "brown": 1.0}[color]
    m = next_fast_len(max(n, 2), real=True)  # FFTs of awkward lengths are slow
    freqs = np.fft.rfftfreq(m)
    freqs[0] = freqs[1]
    x = np.fft.irfft(np.fft.rfft(rng.standard_normal(m)) / freqs**exponent, m)[:n]
    return (x / (np.sqrt(np.mean(x**2)) + 1e-12)).astype(np.float32)


def room(x: np.ndarray, rt60: float, drr_db: float, rng: np.random.Generator) -> np.ndarray:
    """`x` in a synthetic room: a direct path plus an exponentially decaying noise tail.

    `rt60` is the decay time in seconds, `drr_db` the direct-to-reverberant energy ratio;
    the output keeps the input's length.
    """
    t = np.arange(1, to_samples(rt60)) / SAMPLE_RATE
    tail = rng.standard_normal(len(t)) * np.exp(-6.91 * t / rt60)
    tail *= np.sqrt(10 ** (-drr_db / 10) / np.sum(tail**2))
    ir = np.concatenate([[1.0], tail])
    return fftconvolve(x, ir)[: len(x)].astype(np.float32)


def limit(x: np.ndarray, peak: float = 0.9) -> np.ndarray:
    """`x` scaled down, if needed, so it never clips once written as 16-bit PCM."""
    top = float(np.abs(x).max(initial=0))
    return x * np.float32(peak / top) if top > peak else x


def write_wav(path: Path, x: np.ndarray) -> None:
    """The suite's single output format: 16 kHz mono 16-bit PCM WAV."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, x, SAMPLE_RATE, subtype="PCM_16", format="WAV")
