"""Task sources: a registered name, `scheme:ARG`, a folder task or a HEAR task directory -> a TaskSpec.

Kept apart from `benchmark.task` (the contract) so that the formats, which build TaskSpecs,
depend on the contract and not the other way round.
"""
from __future__ import annotations

from pathlib import Path

from benchmark.errors import TaskError
from benchmark.sources.folder import load_folder_task
from benchmark.sources.hear import load_hear_task
from benchmark.task import TASK_SCHEMES, TASKS, TaskSpec


def load_task(spec: str | Path | TaskSpec) -> TaskSpec:
    """A registered task name, `scheme:ARG` (e.g. `hf:OWNER/NAME`), a folder task path or a HEAR task directory."""
    if isinstance(spec, TaskSpec):
        return spec
    scheme, sep, argument = str(spec).partition(":")
    if sep and str(spec) not in TASKS and scheme in TASK_SCHEMES:
        return TASK_SCHEMES.get(scheme)(argument)
    path = Path(spec)
    if str(spec) not in TASKS and path.is_dir():
        if (path / "task_metadata.json").exists() and not (path / "task.toml").exists():
            return load_hear_task(path)
        return load_folder_task(path)
    if str(spec) not in TASKS and (path.suffix or "/" in str(spec)):
        raise TaskError(f"task {str(spec)!r}: no such folder task (neither task.toml nor task_metadata.json found)")
    entry = TASKS.get(str(spec))
    task = entry() if callable(entry) else entry
    if not isinstance(task, TaskSpec):
        raise TaskError(f"task {spec!r}: its registration returned {type(task).__name__}, not a TaskSpec")
    return task
