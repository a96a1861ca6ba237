"""Bad result files: each is named in a warning and the rest of the leaderboard still renders."""
from __future__ import annotations

import json
import re
import warnings

import pytest

from benchmark.record import SCHEMA
from leaderboard.board import build_from
from leaderboard.records import LeaderboardWarning, load_records, read_records
from tests.support.helpers import run_cli
from tests.support.records import write_record


@pytest.fixture
def good(tmp_path):
    write_record(tmp_path, "logmel", "kws", 0.5)
    write_record(tmp_path, "m", "kws", 0.7)
    return tmp_path


def reasons(root) -> dict[str, str]:
    return {p.file: p.reason for p in read_records(root)[1]}


@pytest.mark.parametrize("content, reason", [
    ('{"schema": 1, "upstream": {"na', "truncated JSON"),
    ("", "truncated JSON"),
    (b"\xff\xfe{}", "truncated JSON"),
    ("[1, 2]", "expected a JSON object"),
    ('{"hello": 1}', "no integer 'schema'"),
    ('{"schema": 1, "upstream": {"name": "x"}}', "missing field 'task'"),
])
def test_unreadable_files_are_named_and_skipped(good, content, reason):
    bad = good / "x" / "bad.json"
    bad.parent.mkdir()
    bad.write_bytes(content if isinstance(content, bytes) else content.encode())
    assert reason in reasons(good)["x/bad.json"]
    board = build_from(good)
    assert set(board.entries.index) == {"logmel", "m"} and len(board.problems) == 1


@pytest.mark.parametrize("change, reason", [
    (lambda r: r.update(schema=SCHEMA + 1), f"schema {SCHEMA + 1} is newer"),
    (lambda r: r.update(main_metric="macro_f1"), "main metric 'macro_f1' is not among"),
    (lambda r: r["metrics"].update(accuracy=None), "not a finite number"),
    (lambda r: r["metrics"].update(accuracy="0.5"), "not a finite number"),
    (lambda r: r.update(seed="zero"), "'seed' must be an integer"),
    (lambda r: r["upstream"].update(name=""), "'upstream.name' must be a non-empty string"),
    (lambda r: r.update(task="kws"), "must be JSON objects"),
])
def test_invalid_records_are_named_and_skipped(good, change, reason):
    path = write_record(good, "other", "kws", 0.6)
    record = json.loads(path.read_text())
    change(record)
    path.write_text(json.dumps(record))
    name = path.relative_to(good).as_posix()
    assert reason in reasons(good)[name]
    assert set(build_from(good).entries.index) == {"logmel", "m"}


def test_nan_score_is_skipped(good):
    path = write_record(good, "other", "kws", 0.6)
    path.write_text(path.read_text().replace("0.6", "NaN"))
    assert "not a finite number" in reasons(good)[path.relative_to(good).as_posix()]


def test_conflicting_records_of_one_run_are_all_left_out_and_named(good):
    write_record(good, "m", "kws", 0.9, seed=1)
    first = write_record(good, "m", "kws", 0.8, seed=2)
    second = write_record(good, "m", "kws", 0.6, seed=2, name="copy.json")
    problems = reasons(good)
    for path in (first, second):
        text = problems[path.relative_to(good).as_posix()]
        assert "same run" in text and "0.8" in text and "0.6" in text
    cell = build_from(good).cells.loc[("m", "kws")]
    assert cell["n"] == 2 and cell["mean"] == pytest.approx(0.8)  # seeds 0 and 1 only


def test_identical_duplicates_count_once(good):
    write_record(good, "m", "kws", 0.7, name="again.json")
    frame, problems = read_records(good)
    assert problems == [] and len(frame) == 2


def test_bad_layer_weights_are_ignored_with_a_note(good):
    path = write_record(good, "w", "kws", 0.6, layer="weighted", layer_weights=[0.5, "x"])
    board = build_from(good)
    assert "w" in board.entries.index and board.layer_weights == {}
    assert "layer_weights" in reasons(good)[path.relative_to(good).as_posix()]


def test_load_records_warns_naming_the_file(good):
    (good / "broken.json").write_text("{")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        frame = load_records(good)
    assert len(frame) == 2
    assert [str(w.message).split(":")[0] for w in caught if w.category is LeaderboardWarning] == ["broken.json"]


def test_cli_warns_and_still_renders(good, tmp_path_factory, capsys):
    (good / "broken.json").write_text('{"schema": 1, "upstream"')
    newer = write_record(good, "future", "kws", 0.6)
    newer.write_text(newer.read_text().replace('"schema": 1', '"schema": 99'))
    out = tmp_path_factory.mktemp("out")
    code, stdout, stderr = run_cli(capsys, "leaderboard", "--results", str(good), "--out", str(out))
    assert code == 0 and "| m |" in stdout and "| logmel |" in stdout and "| future |" not in stdout
    assert f"warning: {good / 'broken.json'}: unreadable or truncated JSON" in stderr
    assert "schema 99 is newer" in stderr and str(newer) in stderr
    md = (out / "LEADERBOARD.md").read_text()
    assert "`broken.json`" in md and "schema 99 is newer" in md
    assert (out / "index.html").exists() and (out / "leaderboard.csv").exists()


def test_cli_missing_results_folder_is_one_clear_error(tmp_path, capsys):
    code, _, stderr = run_cli(capsys, "leaderboard", "--results", str(tmp_path / "nope"))
    assert code == 2 and "no results folder" in stderr


def test_train_fraction_and_options_are_separate_variants(good):
    def variant(path, **protocol):
        record = json.loads(path.read_text())
        record["protocol"].update(protocol)
        path.write_text(json.dumps(record))
    variant(write_record(good, "m", "kws", 0.5, name="frac.json"), train_fraction=0.1)
    variant(write_record(good, "m", "kws", 0.4, name="opt.json"), options={"encoder_lr": 1e-5})
    variant(write_record(good, "m", "kws", 0.7, name="default.json"), train_fraction=1.0, options={})
    frame, problems = read_records(good)
    assert problems == []  # default.json duplicates seed0.json exactly; the others are other runs
    protocols = sorted(frame.loc[frame["model"] == "m", "protocol"])
    assert protocols[0] == "linear" and protocols[1] == "linear-frac_0.1"
    assert re.fullmatch(r"linear-opt_[0-9a-f]{8}", protocols[2])
    assert len(build_from(good).entries) == 4
