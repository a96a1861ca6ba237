"""The real-data tasks and their suites, declared for the `earbench.tasks` and
`earbench.suites` entry-point groups (see pyproject.toml).

A real task is a folder task that a recipe prepared into `$EARBENCH_HOME/data/<name>`;
asking for one that is not prepared yet says exactly which two commands make it.
"""
from __future__ import annotations

from functools import partial

from benchmark.errors import TaskError
from benchmark.sources.folder import load_folder_task
from benchmark.storage import home
from benchmark.task import TaskSpec

#: task name -> recipe that prepares it
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

#: suite name -> task names (README: "Real datasets, HEAR tasks and Hugging Face datasets")
SUITES: dict[str, list[str]] = {
    # HEAR 2021's open tasks that have a recipe here, without the two largest (FSD50K, NSynth 50h)
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
    root = home() / "data" / name
    if not (root / "task.toml").is_file():
        recipe = REAL_TASKS[name]
        raise TaskError(
            f"task {name!r} is not prepared (no {root / 'task.toml'}). Prepare it once with:\n"
            f"  earbench data download {recipe} --target DIR     # or fetch the corpus yourself\n"
            f"  earbench data prepare {recipe} --corpus-dir DIR\n"
            f"(`earbench data list` shows every recipe and what it needs)")
    return load_folder_task(root)


def _attribute(name: str) -> str:
    return name.replace("-", "_")


# one module attribute per task, so that each entry point names a callable: tasks.catalog:esc50, ...
for _name in REAL_TASKS:
    globals()[_attribute(_name)] = partial(prepared_task, _name)
for _suite, _tasks in SUITES.items():
    globals()[f"suite_{_attribute(_suite)}"] = list(_tasks)
