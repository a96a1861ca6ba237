"""The command line end to end on tiny folder tasks the tests write themselves."""
import json

import pytest

from benchmark.upstream import UPSTREAMS
from tests.support.tone_task import write_tone_task
from tests.support.helpers import Broken, Counting, run_cli


def records(results):
    return [json.loads(p.read_text()) for p in sorted(results.rglob("*.json"))]


def test_separable_task_scores_high_and_record_is_complete(tmp_path, capsys):
    task = write_tone_task(tmp_path / "tones", per_class=20)
    code, out, err = run_cli(capsys, "run", "--model", "logmel", "--task", str(task), "--results", str(tmp_path / "r"))
    assert code == 0, err
    (record,) = records(tmp_path / "r")
    assert record["metrics"]["accuracy"] >= 0.95
    assert record["schema"] == 2 and record["upstream"]["fingerprint"].startswith("sha256:")
    assert record["upstream"]["params"] == 0 and record["task"]["version"] == "1"
    assert set(record["protocol"]["chosen"]) >= {"weight_decay", "solver", "iterations", "valid_score"}
    assert set(record["timing"]) >= {"embed_s", "probe_s", "clips_per_s"}
    assert record["env"]["torch"] and record["date"].endswith("Z")
    assert "tones" in out and "accuracy" in out


def test_shuffled_labels_score_near_chance(tmp_path, capsys):
    task = write_tone_task(tmp_path / "shuffled", per_class=30, shuffle_labels=True)
    code, _, err = run_cli(capsys, "run", "-m", "random-cnn", "-t", str(task), "--seeds", "3", "--results", str(tmp_path / "r"))
    assert code == 0, err
    scores = [r["metrics"]["accuracy"] for r in records(tmp_path / "r")]
    assert len(scores) == 3 and sum(scores) / 3 < 0.6  # chance is 1/3; 0.6 is far from separable


def test_same_seed_gives_the_identical_score(tmp_path, capsys):
    task = write_tone_task(tmp_path / "tones", per_class=10)
    for out in ("a", "b"):
        run_cli(capsys, "run", "-m", "random-transformer", "-t", str(task), "--results", str(tmp_path / out))
    assert records(tmp_path / "a")[0]["metrics"] == records(tmp_path / "b")[0]["metrics"]


def test_kfold_task_reports_every_fold(tmp_path, capsys):
    task = write_tone_task(tmp_path / "kf", per_class=12, kfold=True)
    code, out, _ = run_cli(capsys, "run", "-m", "logmel", "-t", str(task), "--results", str(tmp_path / "r"))
    assert code == 0
    assert sorted(r["fold"] for r in records(tmp_path / "r")) == ["fold0", "fold1", "fold2", "fold3"]


def test_rerun_reuses_finished_records(tmp_path, capsys):
    task = write_tone_task(tmp_path / "tones", per_class=8)
    run_cli(capsys, "run", "-m", "logmel", "-t", str(task), "--results", str(tmp_path / "r"))
    (path,) = (tmp_path / "r").rglob("*.json")
    stamp = path.stat().st_mtime_ns
    run_cli(capsys, "run", "-m", "logmel", "-t", str(task), "--results", str(tmp_path / "r"))
    assert path.stat().st_mtime_ns == stamp


def test_ctrl_c_during_extraction_then_resume_gives_the_same_scores(tmp_path, capsys, monkeypatch):
    task = write_tone_task(tmp_path / "tones", per_class=20)
    code, _, _ = run_cli(capsys, "run", "-m", "logmel", "-t", str(task), "--results", str(tmp_path / "ref"))
    assert code == 0
    monkeypatch.setenv("EARBENCH_HOME", str(tmp_path / "home2"))
    UPSTREAMS.register("crashes-once", lambda: Counting(fail_at=2))
    args = ("run", "-m", "crashes-once", "-t", str(task), "--results", str(tmp_path / "r"), "--batch-seconds", "4")
    code, _, err = run_cli(capsys, *args)
    assert code == 130 and "run the same command again to resume" in err
    assert not list((tmp_path / "r").rglob("*.json"))  # nothing half-written
    UPSTREAMS._objects["crashes-once"] = lambda: Counting()  # same weights, no crash this time
    code, _, err = run_cli(capsys, *args)
    assert code == 0, err
    assert records(tmp_path / "r")[0]["metrics"] == records(tmp_path / "ref")[0]["metrics"]


@pytest.mark.parametrize("args,message", [
    (("run", "-m", "logmell", "-t", "TASK"), "unknown upstream 'logmell'; did you mean 'logmel'"),
    (("run", "-m", "logmel", "-t", "mini-kwz"), "unknown task 'mini-kwz'"),
    (("run", "-m", "logmel", "-t", "/no/such/task"), "no such folder task"),
    (("run", "-m", "logmel"), "give --task, --suite or --benchmark"),
    (("list", "gizmos"), "cannot list 'gizmos'"),
])
def test_bad_names_give_one_clear_error(tone_task, capsys, args, message):
    code, _, err = run_cli(capsys, *[str(tone_task) if a == "TASK" else a for a in args])
    assert code == 2 and message in " ".join(err.split())


def test_corrupt_audio_names_the_file_and_leaves_no_record(tmp_path, capsys):
    task = write_tone_task(tmp_path / "tones", per_class=6)
    victim = sorted((task / "audio").iterdir())[4]
    victim.write_bytes(b"RIFF....WAVEnot really")
    code, _, err = run_cli(capsys, "run", "-m", "logmel", "-t", str(task), "--results", str(tmp_path / "r"))
    assert code == 2 and victim.name in err and "cannot read audio" in err
    assert not list((tmp_path / "r").rglob("*.json"))


def test_nan_upstream_is_reported_by_name(tmp_path, capsys):
    UPSTREAMS.register("nan-model", lambda: Broken("nan"))
    task = write_tone_task(tmp_path / "tones", per_class=4)
    code, _, err = run_cli(capsys, "run", "-m", "nan-model", "-t", str(task), "--results", str(tmp_path / "r"))
    assert code == 2 and "nan-model" in err and "NaN" in err


def test_leaderboard_table(tmp_path, capsys):
    task = write_tone_task(tmp_path / "tones", per_class=8)
    run_cli(capsys, "run", "-m", "logmel", "-t", str(task), "--seeds", "2", "--results", str(tmp_path / "r"))
    code, out, _ = run_cli(capsys, "leaderboard", "--results", str(tmp_path / "r"), "--out", str(tmp_path / "lb"))
    assert code == 0 and "| logmel |" in out and "tones (accuracy)" in out
    assert (tmp_path / "lb" / "LEADERBOARD.md").read_text().count("| logmel |") == 1


def test_list_models_and_help(capsys):
    code, out, _ = run_cli(capsys, "list", "models")
    assert code == 0 and "random-transformer" in out and "hear:" in out
    code, out, _ = run_cli(capsys, "run", "--help")
    assert code == 0 and "--seeds" in out and "resume" in out


def test_the_run_summary_interval_is_over_test_items(tmp_path, capsys):
    """A linear probe is deterministic given its features, so an interval over seeds would
    read ± 0; the summary's comes from the test items, and is about as wide as the normal
    approximation of a proportion over that many items says."""
    from benchmark.cli import summary_interval
    from benchmark.record import Record
    task = write_tone_task(tmp_path / "tones", per_class=40, shuffle_labels=True)
    results = tmp_path / "r"
    code, out, err = run_cli(capsys, "run", "--model", "logmel", "--task", str(task), "--results", str(results))
    assert code == 0, err
    assert "items" in out
    (path,) = sorted(results.rglob("seed*.json"))
    record = Record.read(path)
    interval, over = summary_interval([record], results)
    assert over == "items"
    lo, hi = (float(v) for v in interval.strip("[]").split(", "))
    p, n = record.metrics["accuracy"], record.task["n"]["test"]
    assert lo <= p <= hi
    expected = 2 * 1.96 * (p * (1 - p) / n) ** 0.5
    assert 0.6 * expected < hi - lo < 1.4 * expected, (lo, hi, p, n)
