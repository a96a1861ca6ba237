"""Codec corruptions through ffmpeg: the decoded clip keeps its length and timing, quality falls
with the bitrate, the output is deterministic, and a missing encoder or a bitrate no rate
carries is one clear line before any work."""
from __future__ import annotations

import math

import numpy as np
import pytest

from benchmark.analyses import codecs
from benchmark.analyses.codecs import MP3, OPUS, identity, round_trip
from benchmark.analyses.corruptions import CORRUPTIONS
from benchmark.analyses.robustness import check_corruptions
from benchmark.errors import EarbenchError


def music(rate, seconds=1.5, seed=0):
    """Harmonic tones with onsets and a little noise: a signal a codec has work to do on."""
    t = np.arange(int(seconds * rate)) / rate
    wave = sum(0.15 / k * np.sin(2 * np.pi * 220 * k * t) for k in range(1, 12)) * (t > 0.3)
    wave += 0.02 * np.random.default_rng(seed).standard_normal(len(t))
    return wave.astype(np.float32)


def relative_error(wave, out):
    return float(np.mean((out - wave) ** 2) / np.mean(wave ** 2))


@pytest.mark.parametrize("codec", [MP3, OPUS], ids=["mp3", "opus"])
@pytest.mark.parametrize("rate,length", [(16000, 24001), (22050, 30000), (44100, 50001)])
def test_the_decoded_clip_keeps_its_length_and_timing(codec, rate, length):
    wave = music(rate)[:length]
    out = round_trip(wave, rate, codec, 32)
    assert out.dtype == np.float32 and out.shape == wave.shape
    # no encoder delay left: the cross-correlation peaks at lag 0
    lag = int(np.argmax(np.correlate(out, wave, "full"))) - (len(wave) - 1)
    assert lag == 0
    assert relative_error(wave, out) < 0.2


@pytest.mark.parametrize("name", ["mp3", "opus"])
def test_quality_falls_with_the_bitrate_and_infinite_bitrate_is_identity(name):
    corruption, wave = CORRUPTIONS[name], music(16000)
    errors = [relative_error(wave, corruption.apply(wave, 16000, kbps, None)) for kbps in corruption.severities]
    assert errors == sorted(errors) and errors[-1] > 3 * errors[0], errors
    assert corruption.apply(wave, 16000, math.inf, None) is wave


def test_round_trips_are_deterministic():
    wave = music(16000)
    assert np.array_equal(round_trip(wave, 16000, OPUS, 16), round_trip(wave, 16000, OPUS, 16))
    assert np.array_equal(round_trip(wave, 16000, MP3, 16), round_trip(wave, 16000, MP3, 16))


def test_a_bitrate_the_clip_rate_cannot_carry_is_encoded_at_a_rate_that_can():
    # MPEG-1 rates carry 32 kbps and up: 8 kbps at 44.1 kHz is encoded at 24 kHz, as LAME does,
    # not silently raised to 32 kbps by ffmpeg
    assert MP3.encoding_rate(44100, 8) == 24000 and MP3.encoding_rate(44100, 128) == 44100
    assert MP3.encoding_rate(16000, 128) == 16000 and MP3.encoding_rate(16000, 320) == 32000
    assert OPUS.encoding_rate(22050, 16) == 24000 and OPUS.encoding_rate(96000, 16) == 48000
    wave = music(44100)
    assert relative_error(wave, round_trip(wave, 44100, MP3, 8)) > relative_error(wave, round_trip(wave, 44100, MP3, 32))


def test_a_bitrate_no_rate_carries_stops_the_sweep_before_any_work():
    with pytest.raises(EarbenchError, match="mp3: no sample rate carries 500 kbps; choose from 8, 16"):
        check_corruptions(["mp3"], [500.0])
    with pytest.raises(EarbenchError, match="opus: no sample rate carries 2 kbps; choose from 6 to 510"):
        check_corruptions(["opus"], [2.0])
    with pytest.raises(EarbenchError, match="lowpass 0 Hz is not a valid severity"):
        check_corruptions(["lowpass"], [0.0])
    assert check_corruptions(["mp3", "noise"], None) == {"mp3": identity(MP3)}
    assert identity(MP3).startswith("ffmpeg ") and identity(MP3).endswith(" libmp3lame")


def test_without_ffmpeg_the_error_says_how_to_install_it(monkeypatch):
    codecs._identity.cache_clear()
    monkeypatch.setattr(codecs.shutil, "which", lambda name: None)
    try:
        with pytest.raises(EarbenchError, match=r"mp3 corruption: ffmpeg is not installed \(`apt-get install ffmpeg`"):
            check_corruptions(["mp3"], None)
    finally:
        codecs._identity.cache_clear()
