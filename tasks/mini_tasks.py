"""The `mini` suite as registered tasks: built on first use under `$EARBENCH_HOME/data/mini/<size>`.

`EARBENCH_MINI_SIZE` (tiny | small | full, default small) picks the build; the size is part
of each task's version, so results of different sizes never mix on a leaderboard.
"""
from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Callable

from benchmark.sources.folder import load_folder_task
from benchmark.storage import home
from benchmark.task import TaskSpec

DEFAULT_SIZE = "small"
#: task -> {protocol: why its score there says nothing}; `--suite mini` leaves these out
UNINFORMATIVE = {"mini-asr": {"linear": "a linear CTC head cannot learn mini-asr, it scores at chance by design "
                                        "(docs/reports/mini-calibration.md); --protocol bilstm scores it"}}


def mini_size() -> str:
    return os.environ.get("EARBENCH_MINI_SIZE", DEFAULT_SIZE)


def mini_root(size: str | None = None) -> Path:
    return home() / "data" / "mini" / (size or mini_size())


def mini_task(name: str, size: str | None = None) -> TaskSpec:
    """Load a mini task, building it first (deterministically, cached) if needed."""
    from tasks.mini import build_mini
    size = size or mini_size()
    (folder,) = build_mini(mini_root(size), size=size, names=[name])
    spec = load_folder_task(folder)
    return dataclasses.replace(spec, version=f"{spec.version}+{size}", uninformative=UNINFORMATIVE.get(name, {}))


def _factory(name: str) -> Callable[[], TaskSpec]:
    def load() -> TaskSpec:
        return mini_task(name)
    load.__doc__ = f"The `{name}` task of the mini suite."
    return load


kws = _factory("mini-kws")
lid = _factory("mini-lid")
speaker = _factory("mini-speaker")
sv = _factory("mini-sv")
asr = _factory("mini-asr")
tagging = _factory("mini-tagging")
scenes = _factory("mini-scenes")
sed = _factory("mini-sed")
pitch = _factory("mini-pitch")
instrument = _factory("mini-instrument")
retrieval = _factory("mini-retrieval")


def mini_suite() -> list[str]:
    from tasks.mini import MINI_TASKS
    return list(MINI_TASKS)
