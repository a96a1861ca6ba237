"""The mini suite as registered tasks: built on first use, loaded, and run end to end."""
import json

import pytest

from benchmark.task import suite_tasks
from benchmark.sources.load import load_task
from tests.support.helpers import run_cli


@pytest.fixture
def tiny(monkeypatch):
    monkeypatch.setenv("EARBENCH_MINI_SIZE", "tiny")


def test_suite_lists_every_mini_task():
    assert suite_tasks("mini") == ["mini-kws", "mini-lid", "mini-speaker", "mini-sv", "mini-asr", "mini-tagging",
                                   "mini-scenes", "mini-sed", "mini-pitch", "mini-instrument", "mini-retrieval"]


def test_registered_mini_task_builds_on_first_use_and_runs(tiny, tmp_path, capsys):
    task = load_task("mini-scenes")
    assert task.version.endswith("+tiny") and task.family == "classification"
    assert set(task.load()) == {"train", "valid", "test"}
    code, out, err = run_cli(capsys, "run", "-m", "logmel", "-t", "mini-scenes", "--results", str(tmp_path / "r"))
    assert code == 0, err
    (record,) = [json.loads(p.read_text()) for p in (tmp_path / "r").rglob("*.json")]
    assert record["task"]["name"] == "mini-scenes" and 0.0 <= record["metrics"]["accuracy"] <= 1.0


def test_data_build_command(tmp_path, capsys):
    code, out, err = run_cli(capsys, "data", "build", "mini", "--size", "tiny", "--out", str(tmp_path / "m"))
    assert code == 0, err
    assert (tmp_path / "m" / "mini-kws" / "task.toml").is_file()
    code, _, err = run_cli(capsys, "data", "build", "other")
    assert code == 2 and "only the `mini` suite" in err


def test_data_build_of_named_tasks_builds_only_those(tmp_path, capsys):
    code, out, err = run_cli(capsys, "data", "build", "mini", "--size", "tiny", "--out", str(tmp_path / "m"),
                             "-t", "mini-kws", "-t", "mini-pitch")
    assert code == 0, err
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == ["mini-kws", "mini-pitch"]
    code, _, err = run_cli(capsys, "data", "build", "mini", "--size", "tiny", "--out", str(tmp_path / "m"),
                           "-t", "mini-kwz")
    assert code == 2 and "no mini task 'mini-kwz'" in err
