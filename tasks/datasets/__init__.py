"""Dataset recipes, lhotse style: `download_<corpus>(target_dir)` fetches the published
archives (official URL, checksum, resumable) and `prepare_<corpus>(corpus_dir, out_dir)`
turns the corpus's own layout into earbench folder tasks under `out_dir/<task name>/`
(default `$EARBENCH_HOME/data`, where the registered tasks look for them).

Each recipe module declares `TASKS` (the task names it prepares), `RESOURCES` and
`DESCRIPTION`; `earbench data list` shows them all.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Callable

from benchmark.errors import EarbenchError
from benchmark.storage import home

#: recipe name -> module (imported only when used)
RECIPES: dict[str, str] = {
    "esc50": "tasks.datasets.esc50",
    "urbansound8k": "tasks.datasets.urbansound8k",
    "fsd50k": "tasks.datasets.fsd50k",
    "audioset": "tasks.datasets.audioset",
    "speech_commands": "tasks.datasets.speech_commands",
    "librispeech": "tasks.datasets.librispeech",
    "voxceleb1": "tasks.datasets.voxceleb1",
    "crema_d": "tasks.datasets.crema_d",
    "tau2020": "tasks.datasets.tau2020",
    "desed": "tasks.datasets.desed",
    "dcase2016_task2": "tasks.datasets.dcase2016_task2",
    "clotho": "tasks.datasets.clotho",
    "audiocaps": "tasks.datasets.audiocaps",
    "gtzan": "tasks.datasets.gtzan",
    "nsynth": "tasks.datasets.nsynth",
    "magnatagatune": "tasks.datasets.magnatagatune",
    "openmic": "tasks.datasets.openmic",
    "fsdd": "tasks.datasets.fsdd",
}


@dataclass(frozen=True)
class Recipe:
    name: str
    module: ModuleType
    download: Callable[..., Path]
    prepare: Callable[..., list[Path]]

    @property
    def tasks(self) -> tuple[str, ...]:
        return tuple(self.module.TASKS)

    @property
    def description(self) -> str:
        return str(self.module.DESCRIPTION)


def canonical(name: str) -> str:
    return name.strip().lower().replace("-", "_")


def get_recipe(name: str) -> Recipe:
    key = canonical(name)
    if key not in RECIPES:
        import difflib
        close = difflib.get_close_matches(key, RECIPES, n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(close)}?" if close else f"; known: {', '.join(RECIPES)}"
        raise EarbenchError(f"unknown recipe {name!r}{hint}")
    module = importlib.import_module(RECIPES[key])
    return Recipe(key, module, getattr(module, f"download_{key}"), getattr(module, f"prepare_{key}"))


def default_out_dir() -> Path:
    """Where prepared tasks go and where registered tasks look: `$EARBENCH_HOME/data`."""
    return home() / "data"


def recipe_of_task(task: str) -> str | None:
    for name in RECIPES:
        if task in get_recipe(name).tasks:
            return name
    return None
