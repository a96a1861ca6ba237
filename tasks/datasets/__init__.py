"""The real datasets, lhotse style: `download_<corpus>(target_dir)` fetches the published
archives (official URL, checksum, resumable) and `prepare_<corpus>(corpus_dir, out_dir)`
turns the corpus's own layout into earbench folder tasks under `out_dir/<task name>/`
(default `$EARBENCH_HOME/data`, where the registered tasks look for them).

Each dataset module declares `TASKS` (the task names it prepares), `RESOURCES` and
`DESCRIPTION`; `earbench data list` shows them all.
"""
from __future__ import annotations

import difflib
import importlib
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Callable

from benchmark.errors import EarbenchError
from benchmark.storage import home

#: dataset name -> module (imported only when used)
DATASETS: dict[str, str] = {
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
class Dataset:
    """One corpus: how to download it and how to prepare its folder tasks."""

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


def get_dataset(name: str) -> Dataset:
    key = canonical(name)
    if key not in DATASETS:
        close = difflib.get_close_matches(key, DATASETS, n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(close)}?" if close else f"; known: {', '.join(DATASETS)}"
        raise EarbenchError(f"unknown dataset {name!r}{hint}")
    module = importlib.import_module(DATASETS[key])
    return Dataset(key, module, getattr(module, f"download_{key}"), getattr(module, f"prepare_{key}"))


def default_out_dir() -> Path:
    """Where prepared tasks go and where registered tasks look: `$EARBENCH_HOME/data`."""
    return home() / "data"

