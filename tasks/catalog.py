"""The real-data tasks and their suites: the `TASKS` and `SUITES` tables that tasks/plugin.py
adds to the task and suite registries.

A real task is a folder task that a dataset preparer (tasks/datasets/) wrote into
`$EARBENCH_HOME/data/<name>`; asking for one that is not prepared yet says exactly which
two commands make it.
"""
from __future__ import annotations

from functools import partial
from typing import Callable

from benchmark.errors import TaskError
from benchmark.storage import home
from benchmark.task import TaskSpec

#: task name -> the dataset (tasks/datasets/) that prepares it
REAL_TASKS: dict[str, str] = {
    "esc50": "esc50",
    "urbansound8k": "urbansound8k",
    "fsd50k": "fsd50k",
    "audioset-balanced": "audioset",
    "speech-commands-ks12": "speech_commands",
    "speech-commands-35": "speech_commands",
    "librispeech-100h": "librispeech",
    "librispeech-100h-other": "librispeech",
    "voxceleb1-sid": "voxceleb1",
    "voxceleb1-sv": "voxceleb1",
    "crema-d": "crema_d",
    "tau-urban-2020-mobile": "tau2020",
    "desed": "desed",
    "dcase2016-task2": "dcase2016_task2",
    "clotho-v2": "clotho",
    "audiocaps": "audiocaps",
    "gtzan": "gtzan",
    "nsynth-pitch": "nsynth",
    "nsynth-instrument": "nsynth",
    "magnatagatune-top50": "magnatagatune",
    "openmic-2018": "openmic",
    "fsdd": "fsdd",
}

#: suite name -> task names (docs/datasets.md, "Suites")
SUITES: dict[str, list[str]] = {
    # HEAR 2021's open tasks that have a dataset preparer here, without the two largest (FSD50K, NSynth 50h)
    "hear-lite": ["esc50", "speech-commands-ks12", "crema-d", "dcase2016-task2", "gtzan", "nsynth-pitch"],
    # SUPERB's KS, SID, ASV and ASR tasks
    "superb-lite": ["speech-commands-ks12", "voxceleb1-sid", "voxceleb1-sv", "librispeech-100h"],
    "env": ["esc50", "urbansound8k", "fsd50k", "tau-urban-2020-mobile", "dcase2016-task2", "desed"],
    "music": ["gtzan", "nsynth-pitch", "nsynth-instrument", "magnatagatune-top50", "openmic-2018"],
    "speech": ["speech-commands-ks12", "speech-commands-35", "fsdd", "crema-d", "voxceleb1-sid", "voxceleb1-sv",
               "librispeech-100h"],
}


def prepared_task(name: str) -> TaskSpec:
    """The folder task `$EARBENCH_HOME/data/<name>`, or an error naming the commands that prepare it."""
    from benchmark.sources.folder import load_folder_task  # pandas: when a task loads, not when the names list
    root = home() / "data" / name
    if not (root / "task.toml").is_file():
        dataset = REAL_TASKS[name]
        raise TaskError(
            f"task {name!r} is not prepared (no {root / 'task.toml'}). Prepare it once with:\n"
            f"  earbench data download {dataset} --target DIR     # or fetch the corpus yourself\n"
            f"  earbench data prepare {dataset} --corpus-dir DIR\n"
            f"(`earbench data list` shows every dataset and what it needs)")
    return load_folder_task(root)


#: the task registry's table: name -> the function that loads the prepared task
TASKS: dict[str, Callable[[], TaskSpec]] = {name: partial(prepared_task, name) for name in REAL_TASKS}
