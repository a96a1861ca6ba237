"""A results folder as boards: a benchmark's board and one board per other protocol.

Under a benchmark (benchmark/benchmarks.py) a model's row holds, per task, the records of
that task's declared protocol only, so every model is scored the same way and gets one
overall score; the floor is the floor model's score on the declared protocol (it scores
exactly 0) or the value the benchmark declares, and so is the ceiling. Every other record
(another protocol, layer or pooling on a benchmark task, or a task the benchmark does not
hold) appears on the board of its own protocol variant, one row per model, never mixed
into a benchmark row. Without a benchmark there is one board of every record, an entry
per (model, protocol variant, layer, pooling), as before.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from benchmark.benchmarks import BENCHMARKS, Benchmark
from leaderboard.board import Board, build
from leaderboard.records import Problem, read_records

#: the columns that make a record's protocol variant (the records' `protocol` is the variant name)
VARIANT = ["protocol", "layer", "pooling"]


def declared(frame: pd.DataFrame, bench: Benchmark) -> pd.Series:
    """Whether each record is a run of its task's declaration in `bench`.

    A declaration that leaves pooling to the pairing matches a `mean` or `scene` record; where
    a model has both for one task, `scene` is the one its default chose (the default takes the
    upstream's own clip embedding whenever it has one), so the `mean` records go elsewhere.
    """
    def match(row) -> bool:
        decl = bench.declaration(row.task)
        return decl is not None and decl.matches(row.protocol, row.layer, row.pooling)
    hit = pd.Series([match(row) for row in frame.itertuples()], index=frame.index, dtype=bool)
    poolings = frame[hit].groupby(["model", "task"])["pooling"].agg(set)
    scene_chosen = {key for key, used in poolings.items()
                    if {"mean", "scene"} <= used and bench.declaration(key[1]).pooling is None}
    mean_aside = [(m, t) in scene_chosen and p == "mean" for m, t, p in zip(frame["model"], frame["task"],
                                                                             frame["pooling"])]
    return hit & ~pd.Series(mean_aside, index=frame.index, dtype=bool)


def variant_title(protocol: str, layer: str, pooling: str) -> str:
    return f"{protocol}, layer {layer}, {pooling}"


def build_boards(frame: pd.DataFrame, problems: list[Problem] = (), *, benchmark: str | Benchmark | None = None,
                 **kwargs) -> list[Board]:
    """The boards of these records: [the benchmark's, then each other protocol variant's, by name],
    or [one board of everything] without a benchmark. `kwargs` go to `board.build`
    (ceilings, floor model, tasks, ...); a benchmark's declared floors and ceilings come first."""
    if benchmark is None:
        return [build(frame, problems, **kwargs)]
    bench = BENCHMARKS.get(benchmark) if isinstance(benchmark, str) else benchmark
    hit = declared(frame, bench)
    given = kwargs.pop("known_ceilings", None) or {}  # --ceiling: every board's; the benchmark's own win on its board
    ceilings = {**given, **bench.ceilings()}
    kwargs.pop("tasks", None)
    floor_model = kwargs.pop("floor_model", None) or bench.floor_model
    main = build(frame[hit].reset_index(drop=True), problems, tasks=bench.task_names, by_model=True,
                 floor_model=floor_model, known_ceilings=ceilings, known_floors=bench.floors(),
                 title=f"benchmark {bench.name}", benchmark=bench.name, **kwargs)
    main.declarations = {t.task: t.label for t in bench.tasks}
    main.notes.insert(0, "protocols: " + "; ".join(f"{task}: {label}" for task, label in main.declarations.items()))
    rest = frame[~hit]
    others = [build(group.reset_index(drop=True), by_model=True, floor_model=floor_model, known_ceilings=given,
                    title=variant_title(*key), **kwargs)
              for key, group in rest.groupby(VARIANT, sort=True)]
    return [main, *others]


def boards_from(results: str | Path, **kwargs) -> list[Board]:
    """Read the records under `results` and build their boards."""
    frame, problems = read_records(results)
    return build_boards(frame, problems, **kwargs)
