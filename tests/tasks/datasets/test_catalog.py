"""Real tasks and suites through the tasks plugin, and the `earbench data` commands."""
import socket

import pytest

import tests.support.dataset_layouts as fx
from benchmark.errors import TaskError
from benchmark.task import SUITES, TASKS, suite_tasks
from benchmark.sources.load import load_task
from tests.support.helpers import run_cli
from tasks.datasets import DATASETS, get_dataset
from tasks.catalog import REAL_TASKS, SUITES as SUITE_LISTS


def test_every_dataset_task_is_registered_and_every_suite_names_real_tasks():
    dataset_tasks = {t for name in DATASETS for t in get_dataset(name).tasks}
    assert dataset_tasks == set(REAL_TASKS)
    assert all(name in TASKS for name in REAL_TASKS)
    for suite in ("hear-lite", "superb-lite", "env", "music", "speech"):
        assert suite in SUITES and set(suite_tasks(suite)) <= set(REAL_TASKS)
    assert all(get_dataset(r).name == r for r in set(REAL_TASKS.values()))
    assert SUITE_LISTS["superb-lite"] == suite_tasks("superb-lite")


def test_an_unprepared_task_says_how_to_prepare_it():
    with pytest.raises(TaskError, match=r"(?s)task 'esc50' is not prepared .*earbench data download esc50 --target DIR.*"
                                        r"earbench data prepare esc50 --corpus-dir DIR"):
        load_task("esc50")


def test_prepare_command_then_the_registered_task_loads(tmp_path, earbench_home, capsys):
    corpus = fx.crema_d(tmp_path / "dl")
    code, out, err = run_cli(capsys, "data", "prepare", "crema-d", "--corpus-dir", str(corpus))
    assert code == 0, err
    assert "prepared crema-d" in out and (earbench_home / "data" / "crema-d" / "task.toml").is_file()
    task = load_task("crema-d")
    assert task.family == "classification" and len(task.folds) == 5
    code, out, _ = run_cli(capsys, "data", "list")
    assert code == 0 and "crema_d" in out and "speech_commands" in out


def test_prepare_on_a_wrong_directory_is_one_clear_line(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    code, _, err = run_cli(capsys, "data", "prepare", "esc50", "--corpus-dir", str(tmp_path / "empty"))
    assert code == 2 and "ESC-50: meta/esc50.csv not found" in err and "Traceback" not in err


def test_unknown_dataset_suggests(capsys, tmp_path):
    code, _, err = run_cli(capsys, "data", "prepare", "esc5O", "--corpus-dir", str(tmp_path))
    assert code == 2 and "unknown dataset 'esc5O'; did you mean esc50" in err


def test_download_offline_is_one_clear_line(tmp_path, capsys, monkeypatch):
    import tasks.datasets.esc50 as esc50
    from tasks.datasets.download import Resource
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setattr(esc50, "RESOURCES", (Resource(f"http://127.0.0.1:{port}/ESC-50-master.zip"),))
    code, _, err = run_cli(capsys, "data", "download", "esc50", "--target", str(tmp_path / "dl"))
    assert code == 2 and "cannot download" in err and "offline" in err


def test_manual_corpora_explain_themselves(tmp_path, capsys):
    code, _, err = run_cli(capsys, "data", "download", "desed", "--target", str(tmp_path))
    assert code == 2 and "DESED cannot be downloaded automatically" in err and "DESED_task" in err
