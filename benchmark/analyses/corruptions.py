"""Graded corruptions of test audio, deterministic in (seed, file): each takes a mono wave and
its rate and returns the corrupted wave of the same length (float32). None of them draws on
data a task could contain: the noise and the room responses are synthesised.

- `noise` (SNR in dB): pink (1/f) noise, synthesised per file, added at that signal-to-noise ratio;
- `reverb` (RT60 in s): convolution with a synthetic room response, a direct path and noise
  decaying 60 dB in RT60, the result scaled back to the clip's RMS;
- `lowpass` (cutoff in Hz): an 8th-order Butterworth low-pass, forward and back (zero phase);
  3400 Hz is the telephone band's top;
- `clipping` (gain in dB): amplification by that gain, then clipping to [-1, 1];
- `mp3`, `opus` (bitrate in kbps): encoded and decoded back by ffmpeg's LAME and libopus
  encoders (`benchmark.analyses.codecs`), at the same length and without a time shift.

A severity equal to `Corruption.clean` (SNR inf, RT60 0, cutoff at or above Nyquist, gain 0
on audio within [-1, 1], bitrate inf) returns the wave unchanged. The codecs need ffmpeg
(`make setup` installs it); a sweep that asks for them without it stops before any work.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
from scipy import signal

from benchmark.analyses.codecs import MP3, OPUS, Codec, identity, round_trip


def pink_noise(n: int, rng: np.random.Generator) -> np.ndarray:
    """n samples of 1/f-power noise with unit RMS (white Gaussian noise shaped in the spectrum)."""
    spectrum = np.fft.rfft(rng.standard_normal(n))
    f = np.arange(len(spectrum), dtype=np.float64)
    f[0] = 1.0
    noise = np.fft.irfft(spectrum / np.sqrt(f), n)
    return noise / max(float(np.sqrt(np.mean(noise ** 2))), 1e-12)


def add_noise(wave: np.ndarray, rate: int, snr_db: float, rng: np.random.Generator) -> np.ndarray:
    if math.isinf(snr_db) and snr_db > 0:
        return wave
    power = float(np.mean(wave.astype(np.float64) ** 2))
    noise = pink_noise(len(wave), rng) * math.sqrt(power / 10 ** (snr_db / 10))
    return (wave + noise).astype(np.float32)


def room_response(rate: int, rt60: float, rng: np.random.Generator) -> np.ndarray:
    """A direct path (1 at t = 0) and a diffuse tail of Gaussian noise whose envelope falls 60 dB
    in `rt60` seconds, cut after rt60 (the tail's energy is scaled to the direct path's)."""
    n = max(2, int(round(rt60 * rate)))
    t = np.arange(1, n) / rate
    tail = rng.standard_normal(n - 1) * 10 ** (-3 * t / rt60)  # 10^(-3 t / rt60): -60 dB at t = rt60
    tail /= max(float(np.sqrt(np.sum(tail ** 2))), 1e-12)
    return np.concatenate([[1.0], tail])


def reverberate(wave: np.ndarray, rate: int, rt60: float, rng: np.random.Generator) -> np.ndarray:
    if rt60 <= 0:
        return wave
    wet = signal.fftconvolve(wave.astype(np.float64), room_response(rate, rt60, rng))[: len(wave)]
    rms_in, rms_out = np.sqrt(np.mean(wave.astype(np.float64) ** 2)), np.sqrt(np.mean(wet ** 2))
    return (wet * (rms_in / rms_out if rms_out > 0 else 1.0)).astype(np.float32)


def lowpass(wave: np.ndarray, rate: int, cutoff: float, rng: np.random.Generator) -> np.ndarray:
    if cutoff >= rate / 2:
        return wave
    sos = signal.butter(8, cutoff, btype="low", fs=rate, output="sos")
    return signal.sosfiltfilt(sos, wave.astype(np.float64)).astype(np.float32)


def clip(wave: np.ndarray, rate: int, gain_db: float, rng: np.random.Generator) -> np.ndarray:
    if gain_db == 0 and np.all(np.abs(wave) <= 1):
        return wave
    return np.clip(wave.astype(np.float64) * 10 ** (gain_db / 20), -1.0, 1.0).astype(np.float32)


def codec(format: Codec) -> Callable[[np.ndarray, int, float, np.random.Generator], np.ndarray]:
    def encode(wave: np.ndarray, rate: int, kbps: float, rng: np.random.Generator) -> np.ndarray:
        return wave if math.isinf(kbps) else round_trip(wave, rate, format, kbps)
    return encode


@dataclass(frozen=True)
class Corruption:
    """A corruption and its default severities, mildest first; `clean` is the severity that
    changes nothing (the curve's first point is the clean run). `tool`, where it needs an
    external program, names it ('ffmpeg 5.1 libopus') or raises a one-line error if it is missing."""

    name: str
    unit: str
    severities: tuple[float, ...]
    clean: float
    apply: Callable[[np.ndarray, int, float, np.random.Generator], np.ndarray]
    tool: Callable[[], str] | None = None

    def label(self, severity: float) -> str:
        return f"{self.name} {severity:g} {self.unit}"


CORRUPTIONS = {c.name: c for c in (
    Corruption("noise", "dB SNR", (30.0, 20.0, 10.0, 5.0, 0.0), math.inf, add_noise),
    Corruption("reverb", "s RT60", (0.2, 0.5, 1.0, 2.0), 0.0, reverberate),
    Corruption("lowpass", "Hz", (4000.0, 3400.0, 2000.0, 1000.0, 500.0), math.inf, lowpass),
    Corruption("clipping", "dB gain", (6.0, 12.0, 20.0, 30.0), 0.0, clip),
    Corruption("mp3", "kbps", (128.0, 64.0, 32.0, 16.0, 8.0), math.inf, codec(MP3), lambda: identity(MP3)),
    Corruption("opus", "kbps", (64.0, 32.0, 16.0, 8.0, 6.0), math.inf, codec(OPUS), lambda: identity(OPUS)),
)}
