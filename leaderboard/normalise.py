"""The normalised score, as SUPERB's: 0 at the reference floor, 100 at the ceiling.

Per task, `100 * (score - floor) / (ceiling - floor)`, where the floor is the `logmel`
baseline (its best entry on that task, so every learned model must beat the strongest
floor; on a benchmark's board its one entry, or the value the benchmark declares) and the ceiling is the metric's perfect value (1.0, or 0.0 for error rates), or a
known best value given per task. The one formula serves both directions: for an error
rate the ceiling is below the floor, so a lower error gives a higher score. A task whose
floor is missing, or equals its ceiling, has no normalised score and is left out of the
averages, with a note.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from leaderboard.direction import Direction


@dataclass(frozen=True)
class Scale:
    floor: float
    ceiling: float

    def __call__(self, score):  # float or numpy array
        return 100.0 * (score - self.floor) / (self.ceiling - self.floor)


def scales(means: pd.Series, floor_entries: list[str], directions: dict[str, Direction],
           known: dict[str, float] | None = None, best_ceiling: bool = False,
           floors: dict[str, float] | None = None) -> tuple[dict[str, Scale], list[str]]:
    """task -> Scale, and notes on the tasks that cannot be normalised.

    `means` is indexed by (entry, task); `floor_entries` are the reference model's
    entries; `known` maps tasks to a best known value used as ceiling; `best_ceiling`
    uses the best observed mean instead of the perfect value; `floors` maps tasks to a
    declared floor (a benchmark's), used instead of the reference model's score.
    """
    known, floors = known or {}, floors or {}
    out, notes = {}, []
    for task, col in means.groupby(level="task"):
        col = col.droplevel("task")
        d = directions[task]
        references = col[col.index.isin(floor_entries)]
        if task in floors:
            floor = float(floors[task])
        elif references.empty:
            notes.append(f"{task}: no reference (floor) result, so no normalised score")
            continue
        else:
            floor = float(references.max() if d.higher_is_better else references.min())
        best = float(col.max() if d.higher_is_better else col.min())
        if task in known:
            ceiling = float(known[task])
        elif best_ceiling or d.perfect is None:
            ceiling = best
        else:
            ceiling = d.perfect
        if math.isclose(ceiling, floor) or d.better(floor, ceiling):
            notes.append(f"{task}: the floor ({floor:.4g}) is not below the ceiling ({ceiling:.4g}), "
                         f"so no normalised score")
            continue
        out[task] = Scale(floor, ceiling)
    return out, notes
