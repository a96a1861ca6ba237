"""What `tasks` adds to earbench: its one `earbench.plugins` entry point (see benchmark/registry.py).

The real-data tasks and their suites are the tables of tasks/catalog.py, the benchmarks
those of tasks/benchmarks.py; the mini tasks
build on first use (tasks/mini_tasks.py); `hf:` task specs and `earbench data` come from here too.
"""
from __future__ import annotations

from benchmark.registry import Plugin

PLUGIN = Plugin(
    entries={
        "earbench.tasks": {f"mini-{short}": f"tasks.mini_tasks:{short}" for short in (
            "kws", "lid", "speaker", "sv", "asr", "tagging", "scenes", "sed", "pitch", "instrument", "retrieval")},
        "earbench.suites": {"mini": "tasks.mini_tasks:mini_suite"},
        "earbench.task_schemes": {"hf": "tasks.hf:load_hf_task"},
        "earbench.commands": {"data": "tasks.cli:app"},
    },
    tables={"earbench.tasks": "tasks.catalog:TASKS", "earbench.suites": "tasks.catalog:SUITES",
            "earbench.benchmarks": "tasks.benchmarks:BENCHMARKS"},
)
