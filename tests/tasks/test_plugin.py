"""What tasks/plugin.py declares: every mini task, the suites, the `hf` scheme and `earbench data`."""
from benchmark.registry import Registry
from benchmark.task import SUITES, TASK_SCHEMES, TASKS, suite_tasks
from tasks.catalog import REAL_TASKS, SUITES as REAL_SUITES
from tasks.cli import app
from tasks.hf import load_hf_task
from tasks.mini import MINI_TASKS


def test_every_mini_and_real_task_and_suite_is_registered():
    assert set(TASKS.names()) >= set(MINI_TASKS) | set(REAL_TASKS)
    assert suite_tasks("mini") == list(MINI_TASKS)
    assert set(SUITES.names()) >= {"mini", *REAL_SUITES}


def test_the_hf_scheme_and_the_data_command_come_from_the_plugin():
    assert TASK_SCHEMES.get("hf") is load_hf_task
    assert Registry("command", "earbench.commands").get("data") is app
