"""Robustness: each corruption against an independent measurement of what it should do, the
sweep's known answer (infinite SNR leaves the score and every prediction unchanged), the
cache of corrupted copies, and the command."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from benchmark.analyses.corruptions import CORRUPTIONS, add_noise, clip, lowpass, pink_noise, reverberate, room_response
from benchmark.analyses.robustness import corrupted_task, robustness
from benchmark.errors import TaskError
from benchmark.record import Record
from benchmark.settings import RunSettings
from benchmark.sources.load import load_task
from tests.support.helpers import run_cli
from tests.support.tone_task import write_tone_task

RATE = 16000


def rng(seed=0):
    return np.random.default_rng(seed)


def sine(freq, seconds=1.0, amp=0.5):
    return (amp * np.sin(2 * np.pi * freq * np.arange(int(seconds * RATE)) / RATE)).astype(np.float32)


@pytest.mark.parametrize("snr", [20.0, 5.0, 0.0, -5.0])
def test_noise_is_added_at_the_snr_asked(snr):
    wave = sine(440)
    noisy = add_noise(wave, RATE, snr, rng())
    noise = noisy.astype(np.float64) - wave
    assert 10 * math.log10(np.mean(wave.astype(np.float64) ** 2) / np.mean(noise ** 2)) == pytest.approx(snr, abs=1e-3)
    assert add_noise(wave, RATE, math.inf, rng()) is wave


def test_pink_noise_falls_by_one_decade_of_power_per_decade_of_frequency():
    power = np.abs(np.fft.rfft(pink_noise(2 ** 16, rng()))) ** 2
    f = np.arange(len(power))
    bands = [power[(f >= lo) & (f < 2 * lo)].mean() for lo in (100, 1000, 10000)]
    slope = np.polyfit(np.log10([100, 1000, 10000]), np.log10(bands), 1)[0]
    assert slope == pytest.approx(-1.0, abs=0.1)


@pytest.mark.parametrize("rt60", [0.3, 1.0])
def test_room_response_decays_60_db_in_rt60(rt60):
    h = room_response(RATE, rt60, rng())
    assert h[0] == 1.0 and len(h) == int(round(rt60 * RATE))
    # Schroeder backward integration of the tail: its -5 to -25 dB slope extrapolated to -60 dB
    energy = np.cumsum(h[1:][::-1] ** 2)[::-1]
    decay = 10 * np.log10(energy / energy[0])
    t = np.arange(len(decay)) / RATE
    span = (decay <= -5) & (decay >= -25)
    slope = np.polyfit(t[span], decay[span], 1)[0]
    assert -60 / slope == pytest.approx(rt60, rel=0.15)
    wet = reverberate(sine(440), RATE, rt60, rng())
    assert np.sqrt(np.mean(wet ** 2)) == pytest.approx(np.sqrt(np.mean(sine(440) ** 2)), rel=1e-4)


def test_lowpass_keeps_the_band_and_removes_above_it():
    def gain(freq):
        out = lowpass(sine(freq), RATE, 2000.0, rng())[2000:-2000]  # away from the edges
        return np.sqrt(np.mean(out ** 2)) / np.sqrt(np.mean(sine(freq) ** 2))
    assert gain(500) == pytest.approx(1.0, abs=0.01)
    assert 20 * math.log10(gain(5000)) < -40
    wave = sine(500)
    assert lowpass(wave, RATE, 8000.0, rng()) is wave  # at Nyquist: unchanged


def test_clipping_bounds_and_zero_gain_is_identity():
    wave = sine(440, amp=0.5)
    assert clip(wave, RATE, 0.0, rng()) is wave
    loud = clip(wave, RATE, 20.0, rng())
    assert np.max(np.abs(loud)) == 1.0 and np.mean(np.abs(loud) == 1.0) > 0.5


def test_corrupted_copies_are_deterministic_cached_and_keep_ids(tmp_path):
    spec = load_task(str(write_tone_task(tmp_path / "tones", per_class=3)))
    a = corrupted_task(spec, CORRUPTIONS["noise"], 10.0, seed=0)
    b = corrupted_task(spec, CORRUPTIONS["noise"], 10.0, seed=0)
    c = corrupted_task(spec, CORRUPTIONS["noise"], 10.0, seed=1)
    test_a, test_b, test_c = (t.load()["test"]["path"].tolist() for t in (a, b, c))
    assert test_a == test_b and test_a != test_c
    # the test files' layout is kept (relative to their common folder), so the items keep their ids
    assert [p.rsplit("/", 1)[-1] for p in test_a] == [p.rsplit("/", 1)[-1] for p in spec.load()["test"]["path"]]
    folder = Path(test_a[0]).parent
    made = folder.stat().st_mtime_ns
    corrupted_task(spec, CORRUPTIONS["noise"], 10.0, seed=0)
    assert folder.stat().st_mtime_ns == made  # made once, then reused
    assert a.load()["train"]["path"].tolist() == spec.load()["train"]["path"].tolist()
    assert a.name == "tones~noise-10"
    kfold = load_task(str(write_tone_task(tmp_path / "folds", per_class=3, kfold=True)))
    with pytest.raises(TaskError, match="fixed test split"):
        corrupted_task(kfold, CORRUPTIONS["noise"], 10.0)


def test_infinite_snr_leaves_the_score_and_predictions_unchanged(tmp_path):
    tones = write_tone_task(tmp_path / "tones", per_class=6)
    results = tmp_path / "r"
    analysis = robustness(["logmel"], [str(tones)], RunSettings(results=results, progress=False),
                          corruptions=["noise"], severities=[math.inf, -20.0], seeds=1, out=tmp_path / "o")
    clean, infinite, loud = sorted(analysis.points, key=lambda p: p.x)
    assert infinite.score == clean.score and (infinite.lo, infinite.hi) == (clean.lo, clean.hi)
    records = {Record.read(p).task_name: (Record.read(p), p) for p in results.rglob("seed0.json")}
    assert set(records) == {"tones", "tones~noise-inf", "tones~noise--20"}
    outputs = {name: r.outputs(p) for name, (r, p) in records.items()}
    records = {name: r for name, (r, _) in records.items()}
    base, inf_name = "tones", "tones~noise-inf"
    assert outputs[base]["prediction"].tolist() == outputs[inf_name]["prediction"].tolist()
    assert outputs[base].ids.tolist() == outputs[inf_name].ids.tolist()  # the same items: paired draws
    assert records[inf_name].protocol["chosen"] == records[base].protocol["chosen"]  # the same head, trained clean
    assert loud.score <= clean.score
    value, lo, hi = analysis.summary["logmel", "tones: noise"]
    assert value == pytest.approx((clean.score + infinite.score) / 4 + (infinite.score + loud.score) / 4)
    assert lo <= value <= hi


def test_command_and_unknown_corruption(tmp_path, capsys):
    tones = write_tone_task(tmp_path / "tones", per_class=4)
    common = ("-m", "logmel", "-t", str(tones), "--seeds", "1", "--results", str(tmp_path / "r"),
              "--out", str(tmp_path / "o"))
    code, _, err = run_cli(capsys, "analyse", "robustness", "-c", "clipping", "--severity", "20", *common)
    assert code == 0, err
    assert "| logmel | tones | clipping | 20 dB gain |" in (tmp_path / "o" / "robustness.md").read_text()
    code, _, err = run_cli(capsys, "analyse", "robustness", "-c", "opus", "--severity", "8", *common)
    assert code == 0, err
    report = (tmp_path / "o" / "robustness.md").read_text()
    assert "| logmel | tones | opus | 8 kbps |" in report and "opus: ffmpeg " in report
    code, _, err = run_cli(capsys, "analyse", "robustness", "-c", "flac", *common)
    assert code == 2 and "unknown corruption(s) flac" in err
