"""Label efficiency on a tiny tone task: fraction 1 is the plain run, the stratified draws
have the sizes the rule gives, the area is the trapezoid over normalised log fraction."""
from __future__ import annotations


import numpy as np
import pytest

from benchmark.analyses.label_efficiency import label_efficiency, log_positions
from benchmark.analyses.report import area
from benchmark.cli import summary_interval
from benchmark.record import Record
from benchmark.run.evaluate import evaluate
from benchmark.settings import RunSettings
from tests.support.helpers import run_cli
from tests.support.tone_task import write_tone_task


@pytest.fixture
def tones(tmp_path):
    return write_tone_task(tmp_path / "tones", per_class=8)


def test_area_is_the_mean_height_over_the_scaled_axis():
    assert area([0.0, 1.0], [0.2, 0.6]) == pytest.approx(0.4)
    assert area(log_positions([0.01, 0.1, 1.0]), [0.0, 0.5, 1.0]) == pytest.approx(0.5)
    assert area(log_positions([0.01, 0.1, 1.0]), [0.0, 1.0, 1.0]) == pytest.approx(0.75)
    assert area([3.0], [0.7]) == pytest.approx(0.7)
    assert np.allclose(area([0.0, 0.5, 1.0], np.array([[0.0, 1.0], [1.0, 1.0], [1.0, 1.0]])), [0.75, 1.0])


def test_fraction_one_is_the_plain_run_and_the_curve_is_reported(tmp_path, tones):
    results = tmp_path / "results"
    plain = [Record.from_json(r) for r in evaluate("logmel", [tones], seeds=2, results=results, progress=False)]
    analysis = label_efficiency(["logmel"], [str(tones)], RunSettings(results=results, progress=False),
                                fractions=(0.25, 1.0), seeds=2, out=tmp_path / "out")
    full = [p for p in analysis.points if p.x == 1.0][0]
    assert full.score == pytest.approx(np.mean([r.score for r in plain]))
    interval, over = summary_interval(plain, results)  # `earbench run`'s summary of the plain run
    assert interval == f"[{full.lo:.4f}, {full.hi:.4f}]" and over == full.over
    for r in plain:  # the very records of the plain run, reused, not recomputed
        assert Record.read(r.path(results)).date == r.date
    quarter = [p for p in analysis.points if p.x == 0.25][0]
    frac_records = sorted(results.rglob("linear-frac_0.25-*/seed*.json"))
    assert len(frac_records) == 2
    # 12 training clips, 4 of each of 3 classes: round(0.25 * 4) = 1 per class
    assert {Record.read(p).task["n"]["train"] for p in frac_records} == {3}
    assert quarter.over == full.over == "items+seeds" and quarter.runs == 2
    assert quarter.lo <= quarter.score <= quarter.hi
    value, lo, hi = analysis.summary["logmel", "tones"]
    assert value == pytest.approx((quarter.score + full.score) / 2)  # two points: the mean of their heights
    assert lo <= value <= hi
    text = analysis.report.read_text()
    assert "| logmel | tones | linear | 0.25 | 3 | accuracy |" in text
    assert f"| logmel | tones | accuracy | {value:.4f} |" in text
    svg = analysis.report.with_suffix(".svg").read_text()
    assert svg.startswith("<svg") and "training fraction" in svg


def test_command_writes_the_report_and_resumes(tmp_path, tones, capsys):
    args = ("analyse", "label-efficiency", "-m", "logmel", "-t", str(tones), "-f", "0.5", "-f", "1", "--seeds", "1",
            "--results", str(tmp_path / "r"), "--out", str(tmp_path / "o"))
    code, out, err = run_cli(capsys, *args)
    assert code == 0, err
    assert (tmp_path / "o" / "label-efficiency.md").is_file() and (tmp_path / "o" / "label-efficiency.svg").is_file()
    records = sorted((tmp_path / "r").rglob("seed0.json"))
    assert len(records) == 2
    dates = [Record.read(p).date for p in records]
    assert Record.read(records[0]).command.startswith("earbench analyse label-efficiency")
    code, _, err = run_cli(capsys, *args)
    assert code == 0, err
    assert [Record.read(p).date for p in records] == dates  # reused


def test_bad_fraction_is_one_line(tmp_path, tones, capsys):
    code, _, err = run_cli(capsys, "analyse", "label-efficiency", "-m", "logmel", "-t", str(tones), "-f", "1.5",
                           "--results", str(tmp_path / "r"), "--out", str(tmp_path / "o"))
    assert code == 2 and "fractions must be in (0, 1]" in err and len(err.strip().splitlines()) == 1
