"""How the page and files state a cell's interval: over test items, or (old records) over seeds."""
from __future__ import annotations

import pandas as pd

from leaderboard import markdown, table_csv
from leaderboard.board import build_from
from leaderboard.records import read_records
from tests.support.records import correct_clips, write_record, write_runs


def board(tmp_path):
    write_record(tmp_path, "logmel", "kws", 0.6, outputs=correct_clips([1] * 6 + [0] * 4))
    write_runs(tmp_path, "logmel", "old", [0.5, 0.6, 0.7])
    return build_from(tmp_path)


def test_cells_say_how_their_interval_was_made(tmp_path):
    b = board(tmp_path)
    lo, hi = b.cells.loc[("logmel", "kws"), ["lo", "hi"]]
    assert markdown.cell_text(b, "logmel", "kws") == f"0.6000 [{lo:.4f}, {hi:.4f}]"
    assert markdown.cell_text(b, "logmel", "old").endswith("†") and " ± " in markdown.cell_text(b, "logmel", "old")
    legend = markdown.method_text(b)
    assert "bootstrap over test items (2000 replicates" in legend and "verification trials by enrolment speaker" in legend
    assert "† records without per-item outputs: mean ± 95% Student-t half-width over seeds" in legend


def test_a_board_of_old_records_says_only_what_applies(tmp_path):
    write_runs(tmp_path, "logmel", "old", [0.5, 0.6, 0.7])
    legend = markdown.method_text(build_from(tmp_path))
    assert "†" in legend and "bootstrap over test items" not in legend


def test_csv_has_the_interval_and_its_method(tmp_path):
    out = table_csv.frame(board(tmp_path)).iloc[0]
    assert out["kws:interval"] == "items" and out["old:interval"] == "seeds"
    assert out["kws:lo"] < 0.6 < out["kws:hi"] and pd.notna(out["old:lo"])


def test_an_altered_sidecar_is_a_problem_and_the_cell_falls_back(tmp_path):
    path = write_record(tmp_path, "logmel", "kws", 0.6, seed=0, outputs=correct_clips([1] * 6 + [0] * 4))
    write_record(tmp_path, "logmel", "kws", 0.6, seed=1, outputs=correct_clips([1] * 6 + [0] * 4))
    sidecar = next(path.parent.glob("seed0.items-*.npz"))
    sidecar.write_bytes(b"not an npz")
    frame, problems = read_records(tmp_path)
    assert frame["items"].isna().sum() == 1
    assert [p.file for p in problems] == [path.relative_to(tmp_path).as_posix()]
    assert "do not match the sha256" in problems[0].reason and "seed-based interval" in problems[0].reason
    assert build_from(tmp_path).cells.loc[("logmel", "kws"), "interval"] == "seeds"


def test_rows_over_seeds_only_are_not_ranked_beside_rows_over_items(tmp_path):
    """A seed-only interval covers less than an item one, so a board that has item rows ranks only those."""
    outcomes = {"logmel": [1] * 6 + [0] * 4, "eat": [1] * 8 + [0] * 2}
    for model, right in outcomes.items():
        write_record(tmp_path, model, "kws", sum(right) / len(right), outputs=correct_clips(right))
    write_runs(tmp_path, "legacy", "kws", [0.95, 0.96, 0.97])  # far ahead, with a narrow seed interval
    b = build_from(tmp_path)
    assert list(b.ranked.index) == ["eat", "logmel"] and pd.isna(b.entries.loc["legacy", "rank"])
    assert b.entries.loc["legacy", "overall"] > b.entries.loc["eat", "overall"]  # its point score is still shown
    assert pd.isna(b.entries.loc["legacy", "overall_lo"])
    assert any(n.startswith("not ranked (cells without per-item outputs") and "legacy" in n for n in b.notes)
    # a board of old records alone still ranks them, over seeds, as its legend says
    old = build_from(write_only_old(tmp_path / "old"))
    assert old.entries["rank"].notna().all()


def write_only_old(root):
    write_runs(root, "logmel", "kws", [0.5, 0.6, 0.7])
    write_runs(root, "legacy", "kws", [0.8, 0.85, 0.9])
    return root
