"""The cost analysis' measurements as leaderboard columns (leaderboard/costs.py)."""
from __future__ import annotations

import json

import pandas as pd
import pytest

from benchmark.errors import EarbenchError
from leaderboard.board import build_from
from leaderboard.costs import read_costs
from leaderboard.markdown import render
from leaderboard.page import render as render_page
from tests.support.helpers import run_cli
from tests.support.records import write_runs


def measurement(model: str, seconds: float, macs: float, wall_s: float, peak_bytes: int, device: str = "cpu") -> dict:
    return {"model": model, "params": 0, "seconds": seconds, "macs": macs, "wall_s": wall_s,
            "peak_bytes": peak_bytes, "forwards": 1, "device": device}


@pytest.fixture
def results(tmp_path):
    root = tmp_path / "results"
    for model, scores in (("logmel", [0.5, 0.52]), ("cnn", [0.6, 0.62]), ("cnn@init", [0.55, 0.5])):
        write_runs(root, model, "mini-kws", scores, clips_per_s=100.0)
    return root


@pytest.fixture
def cost_file(tmp_path):
    kept = {"sha256:logmel|cpu|1": measurement("logmel", 1.0, 1.0e6, 0.001, 1000),
            "sha256:logmel|cpu|10": measurement("logmel", 10.0, 1.28e7, 0.0023, 3 * 2 ** 20),
            "sha256:cnn|cpu|10": measurement("cnn", 10.0, 6.5e8, 0.088, 6 * 2 ** 20),
            "sha256:cnn|cuda|10": measurement("cnn", 10.0, 6.5e8, 0.0044, 8 * 2 ** 20, device="cuda"),
            # another build of cnn (say, its init): the same architecture under the same name
            "sha256:cnn-other|cpu|10": measurement("cnn@init", 10.0, 6.5e8, 0.09, 6 * 2 ** 20)}
    path = tmp_path / "cost.json"
    path.write_text(json.dumps(kept))
    return path


def test_measurements_at_ten_seconds_become_per_second_rates(cost_file):
    costs = read_costs(cost_file).set_index(["fingerprint", "device"])
    assert len(costs) == 4  # the 1 s measurement is not the board's length
    logmel = costs.loc[("sha256:logmel", "cpu")]
    assert logmel["macs_per_s"] == pytest.approx(1.28e6) and logmel["rtf"] == pytest.approx(0.00023)
    assert logmel["peak_mib"] == pytest.approx(3.0)


def test_board_joins_on_the_fingerprint_then_the_name(results, cost_file, tmp_path):
    board = build_from(results, costs=read_costs(cost_file))
    e = board.entries
    # the records' throughput was measured on the CPU, so the CPU measurement is shown, not CUDA's
    assert e.at["cnn", "rtf"] == pytest.approx(0.0088) and e.at["cnn", "cost_device"] == "cpu"
    assert e.at["cnn", "cost_match"] == "fingerprint"
    assert e.at["cnn@init", "cost_match"] == "name" and e.at["cnn@init", "rtf"] == pytest.approx(0.009)
    assert any("cnn@init" in n and "same model name" in n for n in board.notes)
    md = render(board)
    assert "multiply-adds / s (10 s clip)" in md and "| 65 M | 0.0088 (cpu) | 6 |" in md
    assert "Cost columns: `earbench analyse cost` on a 10 s clip" in md
    html = render_page(board)
    assert "MACs / s" in html and "65 M" in html and "multiply-adds per second of audio" in html


def test_without_measurements_the_columns_are_absent(results):
    board = build_from(results)
    assert board.entries["macs_per_s"].isna().all()
    md = render(board)
    assert "multiply-adds" not in md and "Cost columns" not in md
    assert "MACs / s" not in render_page(board)


def test_cli_reads_the_cost_file_and_writes_it_to_the_csv(results, cost_file, tmp_path, capsys):
    out = tmp_path / "site"
    code, stdout, _ = run_cli(capsys, "leaderboard", "--results", str(results), "--cost", str(cost_file),
                              "--out", str(out))
    assert code == 0 and "0.0088 (cpu)" in stdout
    csv = pd.read_csv(out / "leaderboard.csv").set_index("entry")
    assert csv.at["logmel", "macs_per_s"] == pytest.approx(1.28e6) and csv.at["logmel", "cost_match"] == "fingerprint"


def test_cli_default_cost_file_is_the_analysis_default_out(results, cost_file, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "analyses").mkdir()
    cost_file.rename(tmp_path / "analyses" / "cost.json")
    code, stdout, _ = run_cli(capsys, "leaderboard", "--results", str(results))
    assert code == 0 and "0.0088 (cpu)" in stdout


@pytest.mark.parametrize("content, message", [
    (None, "no such cost file"),
    ("{not json", "not a readable cost file"),
    ("[1, 2]", "not a cost file"),
    (json.dumps({"k|cpu|10": {"model": "m", "seconds": 10}}), "measurement 'k|cpu|10' lacks one of"),
    (json.dumps({"k|cpu|10": measurement("m", 10.0, -1.0, 0.1, 10)}), "not a non-negative number"),
])
def test_a_bad_cost_file_is_one_error_naming_it(tmp_path, results, capsys, content, message):
    path = tmp_path / "cost.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(EarbenchError, match=message):
        read_costs(path)
    code, _, stderr = run_cli(capsys, "leaderboard", "--results", str(results), "--cost", str(path))
    assert code != 0 and str(path) in stderr and message in stderr
