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


def test_a_suite_run_leaves_out_the_linear_ctc_head_on_mini_asr_and_says_so(tiny, tmp_path, capsys):
    from benchmark.run.plan import plan_suite
    from benchmark.settings import RunSettings
    settings = RunSettings(results=tmp_path / "r", progress=False, cache_root=tmp_path / "c")
    plan = plan_suite(["logmel"], [], settings, suite="mini", strict=True)
    assert [task for task, _ in plan.skipped] == ["mini-asr"] and "at chance by design" in plan.skipped[0][1]
    assert "mini-asr" not in {job.task for job in plan.jobs}
    named = plan_suite(["logmel"], ["mini-asr"], settings, strict=True)  # named: it runs
    assert not named.skipped and "mini-asr" in {job.task for job in named.jobs}
    bilstm = plan_suite(["logmel"], [], RunSettings(protocol="bilstm", results=tmp_path / "r", progress=False,
                                                    cache_root=tmp_path / "c"), suite="mini", strict=False)
    assert not bilstm.skipped
