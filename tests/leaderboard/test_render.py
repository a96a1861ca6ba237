"""`earbench leaderboard --out`: LEADERBOARD.md, leaderboard.csv and a self-contained index.html."""
from __future__ import annotations

import re

import pandas as pd
import pytest

from benchmark.task import SUITES
from tests.support.helpers import run_cli
from leaderboard.board import build_from
from leaderboard.page import render as render_page
from tests.support.records import write_record, write_runs


@pytest.fixture
def results(tmp_path):
    root = tmp_path / "results"
    write_runs(root, "logmel", "mini-kws", [0.50, 0.52, 0.48], clips_per_s=400.0)
    write_runs(root, "logmel", "mini-asr", [0.40, 0.42, 0.38], metric="wer", family="asr", clips_per_s=400.0)
    write_runs(root, "eat", "mini-kws", [0.80, 0.82, 0.78], layer="weighted", layer_weights=[0.1, 0.3, 0.6],
               params=5_400_000, clips_per_s=50.0)
    write_runs(root, "eat", "mini-asr", [0.20, 0.22, 0.18], metric="wer", family="asr", layer="weighted",
               layer_weights=[0.5, 0.3, 0.2], params=5_400_000, clips_per_s=50.0)
    write_runs(root, "partial", "mini-kws", [0.6, 0.6, 0.6])
    return root


def test_leaderboard_writes_three_files(results, tmp_path, capsys):
    out = tmp_path / "site"
    code, stdout, _ = run_cli(capsys, "leaderboard", "--results", str(results), "--out", str(out))
    assert code == 0
    md = (out / "LEADERBOARD.md").read_text()
    assert md == stdout
    assert "| rank [95% interval] | model | overall |" in md and "mini-asr (wer) ↓" in md
    # eat: kws 100*(0.8-0.5)/0.5 = 60, asr 100*(0.4-0.2)/0.4 = 50 -> overall 55
    # both tasks are speech; the scores carry the rank bootstrap's interval
    assert re.search(r"\| 1 \[1–1\] \| eat \| 55\.0 \[[-\d.]+, [-\d.]+\] \| 55\.0 \[[-\d.]+, [-\d.]+\] \| — \| — \|", md)
    assert "| — | partial |" in md and "partial (missing mini-asr)" in md

    csv = pd.read_csv(out / "leaderboard.csv")
    assert list(csv["entry"]) == ["eat", "logmel", "partial"]
    eat = csv.set_index("entry").loc["eat"]
    assert eat["overall"] == pytest.approx(55.0) and eat["mini-kws:mean"] == pytest.approx(0.8)
    assert eat["mini-asr:normalised"] == pytest.approx(50.0) and eat["mini-kws:n"] == 3
    assert eat["params"] == 5_400_000 and eat["clips_per_s"] == 50 and eat["rank"] == 1
    assert pd.isna(csv.set_index("entry").loc["partial", "rank"])


def test_html_is_self_contained_with_plots(results):
    html = render_page(build_from(results))
    assert "Content-Security-Policy" in html and "default-src 'none'" in html
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", html)
    assert "<link" not in html and "@import" not in html
    for fid in ("plot-pareto", "plot-domains", "plot-layers"):
        figure = re.search(rf'<figure id="{fid}">(.*?)</figure>', html, re.S).group(1)
        assert figure.lstrip().startswith("<svg"), fid
    assert html.count('<tr data-entry="') == 3


def test_html_says_why_a_plot_is_absent(tmp_path):
    write_record(tmp_path, "eat", "kws", 0.5)  # no floor model: no normalised score
    html = render_page(build_from(tmp_path))
    assert "no record carries protocol.chosen.layer_weights" in html
    assert "no ranked entry has an overall score with its parameters or throughput" in html
    assert "no normalised score to plot (no floor results)" in html


def test_outputs_are_deterministic(results, tmp_path, capsys):
    for name in ("one", "two"):
        run_cli(capsys, "leaderboard", "--results", str(results), "--out", str(tmp_path / name))
    for f in ("LEADERBOARD.md", "leaderboard.csv", "index.html"):
        assert (tmp_path / "one" / f).read_bytes() == (tmp_path / "two" / f).read_bytes(), f


def test_suite_restricts_and_orders_tasks(results, capsys):
    SUITES.register("lb-render-suite", ["mini-asr", "mini-kws"])
    write_record(results, "logmel", "not-in-suite", 0.5)
    code, out, _ = run_cli(capsys, "leaderboard", "--results", str(results), "--suite", "lb-render-suite")
    assert code == 0 and "not-in-suite" not in out and out.startswith("# earbench leaderboard: suite `lb-render-suite`")
    assert out.index("mini-asr (wer)") < out.index("mini-kws (accuracy)")


def test_ceiling_options(results, capsys):
    code, out, _ = run_cli(capsys, "leaderboard", "--results", str(results), "--ceiling", "mini-kws=0.8")
    # kws now 100 * 0.3 / 0.3 = 100, asr 50 -> 75
    assert code == 0 and "| eat | 75.0 [" in out
    code, _, err = run_cli(capsys, "leaderboard", "--results", str(results), "--ceiling", "mini-kws")
    assert code == 2 and "TASK=VALUE" in err


def test_empty_results_folder(tmp_path, capsys):
    code, out, _ = run_cli(capsys, "leaderboard", "--results", str(tmp_path), "--out", str(tmp_path / "o"))
    assert code == 0 and "_no result records_" in out
    assert "No result records" in (tmp_path / "o" / "index.html").read_text()
