"""The report generators (scripts/reports.py, and the perf benchmarks' writer): the reports
computed from committed records are what the records give today, and the statistics behind
them agree with hand computations."""
from __future__ import annotations

import json
import math
from pathlib import Path

from scripts import reports
from scripts.reports import Report

ROOT = Path(__file__).resolve().parents[1]


def body(text: str) -> list[str]:
    """A report without its provenance line (which carries the date it was written)."""
    return [line for line in text.splitlines() if not line.startswith("Regenerate with")]


def test_committed_pretraining_reports_are_up_to_date(tmp_path, monkeypatch):
    monkeypatch.setattr(reports, "REPORTS", tmp_path)
    written = reports.pretraining(reports.BEFORE_FIXES)
    assert [p.name for p in written] == ["pretraining-asr.md", "ssm-vs-attention.md"]
    for path in written:
        committed = ROOT / "docs" / "reports" / path.name
        assert body(path.read_text()) == body(committed.read_text()), \
            f"{committed.relative_to(ROOT)} is out of date: run `make reports`"


def test_committed_evidence_report_is_up_to_date(tmp_path, monkeypatch):
    monkeypatch.setattr(reports, "REPORTS", tmp_path)
    path = reports.evidence(ROOT / "leaderboard" / "results")
    committed = ROOT / "docs" / "reports" / path.name
    assert body(path.read_text()) == body(committed.read_text()), \
        f"{committed.relative_to(ROOT)} is out of date: run `make reports`"


def test_half_width_and_verdicts():
    # p = 0.5 on 100 items: 1.96 * sqrt(2 * 0.25 / 100)
    assert math.isclose(reports.sampling_half_width(0.5, 100), 1.96 * math.sqrt(0.005))
    assert reports.asr_verdict(-0.12, None, 0.10).startswith("**better** (1 seed")
    assert reports.asr_verdict(0.05, None, 0.10) == "not separable (1 seed)"
    assert reports.asr_verdict(0.20, 0.01, 0.10) == "**worse**"
    assert reports.asr_verdict(-0.05, 0.01, 0.10).startswith("not separable (lower CER over seeds")
    assert reports.asr_verdict(-0.20, 0.30, 0.10).startswith("not separable (no significant")


def write_record(root: Path, model: str, seed: int, score: float, wall: float, options: dict | None = None) -> None:
    record = {"schema": 1, "upstream": {"name": model}, "task": {"name": "mini-kws", "n": {"test": 100}},
              "protocol": {"name": "linear", "layer": "last", "pooling": "mean", "train_fraction": 1.0,
                           "options": options or {}, "chosen": {}},
              "seed": seed, "fold": None, "metrics": {"accuracy": score}, "main_metric": "accuracy",
              "timing": {"embed_s": wall / 2, "probe_s": wall / 2}, "date": f"2026-01-0{seed + 1}T00:00:00Z"}
    path = root / model / f"{seed}-{len(options or {})}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record))


def test_protocols_side_by_side_cell_and_footnote(tmp_path, monkeypatch):
    monkeypatch.setattr(reports, "REPORTS", tmp_path / "out")
    results = tmp_path / "results"
    for seed, score in enumerate([0.5, 0.6, 0.7]):
        write_record(results, "logmel", seed, score, wall=4.0)
    write_record(results, "logmel", 0, 0.9, wall=100.0, options={"max_epochs": 5})  # a rarer variant: not mixed in
    for seed, score in enumerate([0.4, 0.5]):
        write_record(results, "random-cnn", seed, score, wall=2.0, options={"lr": 0.1})
    columns = (("logmel linear", "logmel", ("linear",), "last"), ("cnn linear", "random-cnn", ("linear",), "last"),
               ("absent", "random-transformer", ("linear",), "last"))
    text = reports.protocols(results, tasks=("mini-kws",), columns=columns).read_text()
    # mean 0.6, t(0.975, 2) * std 0.1 / sqrt(3) = 0.248
    assert "| mini-kws (accuracy) | 0.600 ± 0.248 (4 s) | 0.450 ± 0.635 (2 s) [1] | — |" in text
    assert "[1] cnn linear, mini-kws: protocol `linear`, options `lr=0.1`" in text


def test_perf_report_groups_rows_under_one_header():
    report = Report()
    report.text("intro")
    report.row(["a", "b"], [1, 2])
    report.row(["a", "b"], [3, 4])
    report.row(["c"], ["x"])
    assert report.markdown() == "intro\n\n| a | b |\n|---|---|\n| 1 | 2 |\n| 3 | 4 |\n\n| c |\n|---|\n| x |"
