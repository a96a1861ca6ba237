"""Tasks are declarative data: a frozen `TaskSpec` plus a source of manifests per split.

A manifest is a pandas DataFrame with an absolute `path` column and the family's label
columns; protocols never look at files beyond what a manifest names.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Mapping

from benchmark.errors import TaskError
from benchmark.family import check_metrics, family_of
from benchmark.registry import Registry

if TYPE_CHECKING:  # manifests are DataFrames; the registries here are listed without pandas
    import pandas as pd

SPLITS = ("train", "valid", "test")


@dataclass(frozen=True)
class TaskSpec:
    """Everything a protocol needs to know about a task, and where its data comes from.

    `splits` names the fixed splits; a k-fold task instead lists `folds` and each run
    tests on one fold, validates on the next and trains on the rest (as HEAR does).
    `load` returns one manifest per split or fold name. `uninformative` names protocols whose
    score on this task says nothing (protocol -> why): a suite's run leaves those pairings out
    (naming the task runs it). A task that holds its audio at
    several rates (a HEAR task's `{rate}/` folders) gives `audio_at(manifests, rate)`: the
    manifests reading its own copy at that rate where it has one (the run context asks for
    the upstream's); others are resampled by the harness.
    """

    name: str
    family: str
    load: Callable[[], dict[str, pd.DataFrame]] = field(repr=False, compare=False)
    version: str = "1"
    description: str = ""
    splits: tuple[str, ...] = SPLITS
    folds: tuple[str, ...] = ()
    metrics: tuple[str, ...] = ()
    main_metric: str = ""
    sample_rate: int | None = None
    license: str = ""
    citation: str = ""
    source: str = ""
    root: Path | None = None
    audio_at: Callable[[dict[str, pd.DataFrame], int], dict[str, pd.DataFrame]] | None = field(
        default=None, repr=False, compare=False)
    uninformative: Mapping[str, str] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        try:
            family = family_of(self.family)
        except TaskError as err:
            raise TaskError(f"task {self.name!r}: {err}") from None
        default_metrics, default_main = family.metrics, family.main_metric
        if not self.metrics:
            object.__setattr__(self, "metrics", default_metrics)
        if not self.main_metric:
            object.__setattr__(self, "main_metric", self.metrics[0] if self.metrics != default_metrics else default_main)
        try:  # every source's tasks, folder, HEAR, Hugging Face or registered, before any work
            check_metrics(family, self.metrics, self.main_metric)
        except TaskError as err:
            raise TaskError(f"task {self.name!r}: {err}") from None

    @property
    def prediction_type(self) -> str:
        return family_of(self.family).prediction_type

    @property
    def is_kfold(self) -> bool:
        return bool(self.folds)

    def runs(self) -> list[tuple[str | None, dict[str, list[str]]]]:
        """(fold, {train|valid|test: [split names]}) for each evaluation of this task."""
        if not self.folds:
            return [(None, {s: [s] for s in SPLITS})]
        n = len(self.folds)
        if n < 3:
            raise TaskError(f"task {self.name!r}: k-fold needs at least 3 folds, has {n}")
        runs = []
        for i, fold in enumerate(self.folds):
            valid = self.folds[(i + 1) % n]
            train = [f for f in self.folds if f not in (fold, valid)]
            runs.append((fold, {"train": train, "valid": [valid], "test": [fold]}))
        return runs


TASKS: Registry[Callable[[], TaskSpec] | TaskSpec] = Registry("task", "earbench.tasks")
#: scheme -> loader(argument) for task specs like `hf:OWNER/NAME@REV`
TASK_SCHEMES: Registry[Callable[[str], TaskSpec]] = Registry("task scheme", "earbench.task_schemes")
#: suite name -> list of task names (or a function returning one)
SUITES: Registry[Callable[[], list[str]] | list[str]] = Registry("suite", "earbench.suites")


def register_task(name: str, factory: Callable[[], TaskSpec] | TaskSpec | None = None):  # type: ignore[no-untyped-def]
    """Register a task (a TaskSpec or a function returning one); usable as a decorator."""
    return TASKS.register(name, factory) if factory is not None else TASKS.register(name)


def suite_tasks(name: str) -> list[str]:
    entry = SUITES.get(name)
    return list(entry() if callable(entry) else entry)
