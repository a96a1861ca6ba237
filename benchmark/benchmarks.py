"""Benchmarks: a suite of tasks with one declared protocol per task, as SUPERB, HEAR and MTEB fix them.

A benchmark answers "how good is this model?" with one row: every model is scored on
every task the same way (the task's declared protocol, layer, pooling and options), so
rows are comparable and each model gets one overall score. It also fixes what that score
means: per task, the normalised score's 0 (the floor: a declared value, else the floor
model's own score under the declared protocol, so the floor model scores exactly 0) and
its 100 (the ceiling: a declared value, else the metric's perfect value).

`earbench run --benchmark B -m M` runs exactly the declarations; `earbench leaderboard
--benchmark B` ranks one row per model from the records that match them, and shows every
other record under its own protocol's board. The built-in benchmarks are declared in
tasks/benchmarks.py; a plugin adds more through the `earbench.benchmarks` group.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

from benchmark.errors import EarbenchError, ProtocolError
from benchmark.record import variant_name
from benchmark.registry import Registry
from benchmark.settings import RunSettings, check_options, parse_layer

#: the model whose score on each task is that task's normalised 0, unless a task declares a floor
FLOOR_MODEL = "logmel"


class BenchmarkError(EarbenchError):
    """A benchmark declaration that cannot be used."""


@dataclass(frozen=True)
class TaskProtocol:
    """How a benchmark scores one task.

    `pooling` None is each pairing's default (the upstream's own scene embedding where it
    has one, else mean), as for `earbench run`; `floor`/`ceiling` None take the floor
    model's score and the metric's perfect value.
    """

    task: str
    protocol: str = "linear"
    layer: str | int = "last"
    pooling: str | None = None
    options: dict = field(default_factory=dict)
    floor: float | None = None
    ceiling: float | None = None

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "layer", parse_layer(self.layer))
            object.__setattr__(self, "options", check_options(self.options))
            RunSettings(protocol=self.protocol, pooling=self.pooling)  # the same checks as a run's
        except ProtocolError as err:
            raise BenchmarkError(f"task {self.task!r}: {err}") from None
        for name in ("floor", "ceiling"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))
                                      or not math.isfinite(value)):
                raise BenchmarkError(f"task {self.task!r}: {name} must be a finite number, got {value!r}")

    @property
    def variant(self) -> str:
        """The records' protocol variant this declaration runs (`benchmark.record.variant_name`)."""
        return variant_name({"name": self.protocol, "train_fraction": 1.0, "options": self.options})

    def settings(self, base: RunSettings) -> RunSettings:
        """`base` (results folder, workers, ...) with this task's protocol, layer, pooling and options."""
        return replace(base, protocol=self.protocol, layer=self.layer, pooling=self.pooling, train_fraction=1.0,
                       options=dict(self.options))

    def matches(self, variant: str, layer: str, pooling: str) -> bool:
        """Whether a record (its variant, layer as text, pooling) is a run of this declaration."""
        poolings = ("mean", "scene") if self.pooling is None else (self.pooling,)
        return variant == self.variant and layer == str(self.layer) and pooling in poolings

    @property
    def label(self) -> str:
        pooling = self.pooling or "default pooling"
        options = "".join(f", {k}={v}" for k, v in sorted(self.options.items()))
        return f"{self.protocol}, layer {self.layer}, {pooling}{options}"


@dataclass(frozen=True)
class Benchmark:
    """A named list of `TaskProtocol`s (in display order) and the model that is every task's floor."""

    name: str
    tasks: tuple[TaskProtocol, ...]
    description: str = ""
    floor_model: str = FLOOR_MODEL

    def __post_init__(self) -> None:
        object.__setattr__(self, "tasks", tuple(self.tasks))
        if not self.tasks:
            raise BenchmarkError(f"benchmark {self.name!r} declares no task")
        names = [t.task for t in self.tasks]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise BenchmarkError(f"benchmark {self.name!r} declares task(s) {', '.join(twice)} more than once")

    @property
    def task_names(self) -> list[str]:
        return [t.task for t in self.tasks]

    def declaration(self, task: str) -> TaskProtocol | None:
        return next((t for t in self.tasks if t.task == task), None)

    def groups(self, base: RunSettings) -> list[tuple[RunSettings, list[str]]]:
        """The run as (settings, tasks) groups, one per distinct protocol declaration, in task order."""
        out: dict[tuple, tuple[RunSettings, list[str]]] = {}
        for t in self.tasks:
            key = (t.protocol, t.layer, t.pooling, repr(sorted(t.options.items())))
            out.setdefault(key, (t.settings(base), []))[1].append(t.task)
        return list(out.values())

    def floors(self) -> dict[str, float]:
        return {t.task: float(t.floor) for t in self.tasks if t.floor is not None}

    def ceilings(self) -> dict[str, float]:
        return {t.task: float(t.ceiling) for t in self.tasks if t.ceiling is not None}

    def describe(self) -> dict[str, Any]:
        """As plain data (for `earbench list benchmarks` and the page)."""
        return {"name": self.name, "description": self.description, "floor_model": self.floor_model,
                "tasks": {t.task: t.label for t in self.tasks}}


BENCHMARKS: Registry[Benchmark] = Registry("benchmark", "earbench.benchmarks")
