"""The leaderboard as data: everything the renderers show, computed from records alone."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from benchmark.scoring.bootstrap import N_BOOT
from leaderboard import aggregate, intervals
from leaderboard.costs import attach as attach_costs
from leaderboard.direction import Direction, direction
from leaderboard.domains import DOMAINS, task_domain
from leaderboard.intervals import all_replicates
from leaderboard.normalise import Scale, scales
from leaderboard.ranks import bootstrap_overall, not_separable, percentiles, rank_intervals, resampling_units
from leaderboard.records import Problem, read_records

FLOOR_MODEL = "logmel"
#: the central interval the overall and domain scores carry (of the rank bootstrap)
LEVEL = 0.95


@dataclass
class Board:
    tasks: list[str]                      # the columns, in suite order (or by name)
    metrics: dict[str, str]               # task -> main metric
    directions: dict[str, Direction]
    domains: dict[str, str]               # task -> speech | environment | music
    entries: pd.DataFrame                 # one row per entry, best first (see `build`)
    cells: pd.DataFrame                   # (entry, task) -> mean, lo, hi, n, interval, normalised
    scales: dict[str, Scale]
    layer_weights: dict[tuple[str, str], list[float]]
    notes: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    suite: str | None = None
    floor_model: str = FLOOR_MODEL
    title: str = "all records"            # what the board shows: "benchmark B", or one protocol variant
    benchmark: str | None = None
    declarations: dict[str, str] = field(default_factory=dict)  # a benchmark's: task -> its declared protocol

    @property
    def ranked(self) -> pd.DataFrame:
        return self.entries[self.entries["rank"].notna()]


def select_tasks(frame: pd.DataFrame, tasks: list[str] | None) -> tuple[pd.DataFrame, list[str]]:
    """Keep the records of `tasks` (all tasks when None), in that order."""
    if tasks is None:
        return frame, sorted(frame["task"].unique())
    return frame[frame["task"].isin(tasks)].reset_index(drop=True), list(dict.fromkeys(tasks))


def build(frame: pd.DataFrame, problems: list[Problem] = (), *, tasks: list[str] | None = None,
          suite: str | None = None, floor_model: str = FLOOR_MODEL, known_ceilings: dict[str, float] | None = None,
          best_ceiling: bool = False, known_floors: dict[str, float] | None = None, by_model: bool = False,
          title: str = "all records", benchmark: str | None = None, costs: pd.DataFrame | None = None,
          n_boot: int = N_BOOT, seed: int = 0) -> Board:
    """Aggregate run rows (from `read_records`) into a Board.

    Entries with a normalised score on every scaled task get an overall score, per-domain
    averages (over the domain's scaled tasks), a rank and a bootstrap rank interval, and
    95% intervals of the overall and domain scores from the same bootstrap; the others are
    listed after them, unranked, with the tasks they miss in the notes. An entry is one
    (model, protocol variant, layer, pooling), or with `by_model` one model (a benchmark's
    board, whose rows hold one declared protocol per task). `costs`: the cost analysis'
    measurements (`leaderboard.costs.read_costs`), shown beside each entry's parameters.
    """
    frame, task_list = select_tasks(frame, tasks)
    frame = frame.assign(entry=frame["model"] if by_model else aggregate.entry_labels(frame))
    notes: list[str] = []
    metrics, directions, domains = {}, {}, {}
    for task in task_list:
        rows = frame[frame["task"] == task]
        if rows.empty:
            notes.append(f"{task}: no records" + (f" (it is in suite {suite!r})" if suite else ""))
            continue
        used = rows["metric"].value_counts()
        metrics[task] = used.index[0]
        if len(used) > 1:
            notes.append(f"{task}: records disagree on the main metric ({', '.join(used.index)}); "
                         f"only {metrics[task]!r} is used")
        directions[task] = direction(metrics[task])
        if not directions[task].known:
            notes.append(f"{task}: metric {metrics[task]!r} is not registered here; taken as higher-is-better, "
                         f"perfect at 1.0")
        versions = sorted(set(rows["version"]))
        if len(versions) > 1:
            notes.append(f"{task}: records from several task versions ({', '.join(versions)}) are pooled")
        declared = rows["domain"].dropna()
        domains[task] = task_domain(task, rows["family"].dropna().iloc[0] if rows["family"].notna().any() else None,
                                    declared.iloc[0] if len(declared) else None)
    frame = frame[frame["metric"] == frame["task"].map(metrics)].reset_index(drop=True)

    replicates = all_replicates(frame, n_boot, seed)
    table = aggregate.cells(frame, replicates)
    floor_entries = sorted(frame.loc[frame["model"] == floor_model, "entry"].unique())
    task_scales, scale_notes = scales(table["mean"], floor_entries, directions, known_ceilings, best_ceiling,
                                      known_floors)
    notes += scale_notes
    table["normalised"] = [task_scales[t](m) + 0.0 if t in task_scales else np.nan
                           for (_, t), m in zip(table.index, table["mean"])]

    entries, cost_notes = attach_costs(aggregate.entry_facts(frame), frame, costs)
    notes += cost_notes
    names = list(entries.index)
    scaled = [t for t in task_list if t in task_scales]
    complete = [e for e in names if all((e, t) in table.index for t in scaled)] if scaled else []
    # ranks come from one kind of interval: where some rows are resampled over test items, a row
    # with cells over seeds only (records without per-item outputs) would look more certain than it is
    itemised = [e for e in complete if all(table.loc[(e, t), "interval"] == intervals.ITEMS for t in scaled)]
    seeds_only = [e for e in complete if e not in itemised] if itemised else []
    complete = [e for e in complete if e not in seeds_only]
    def average(entry: str, over: list[str]) -> float:
        have = [table.loc[(entry, t), "normalised"] for t in over if (entry, t) in table.index]
        return float(np.mean(have)) if over and len(have) == len(over) else np.nan

    entries["overall"] = [average(e, scaled) for e in names]
    for d in DOMAINS:
        entries[d] = [average(e, [t for t in scaled if domains[t] == d]) for e in names]
    entries["missing"] = [", ".join(t for t in task_list if (e, t) not in table.index) for e in names]
    for col in ("rank", "rank_lo", "rank_hi"):
        entries[col] = pd.Series(pd.NA, index=entries.index, dtype="Int64")
    for col in ("overall", *DOMAINS):
        entries[f"{col}_lo"], entries[f"{col}_hi"] = np.nan, np.nan
    entries["not_separable_from"] = [[] for _ in names]
    # a replicate where a cell's metric is undefined (say, no target trial drawn) counts as its point value
    filled = {key: np.where(np.isnan(r), table.loc[key, "mean"], r) for key, r in replicates.items()}
    units = resampling_units(frame)
    if complete:
        boot = bootstrap_overall(units, complete, task_scales, n_boot, np.random.default_rng(seed), filled)
        rank_table = rank_intervals(entries.loc[complete, "overall"].to_numpy(float), boot)
        for col in ("rank", "rank_lo", "rank_hi"):
            entries.loc[complete, col] = rank_table[col].to_numpy()
        for e, others in zip(complete, not_separable(rank_table, complete)):
            entries.at[e, "not_separable_from"] = others
        entries.loc[complete, "overall_lo"], entries.loc[complete, "overall_hi"] = percentiles(boot, LEVEL)
    for k, d in enumerate(DOMAINS, start=1):
        in_domain = {t: task_scales[t] for t in scaled if domains[t] == d}
        have = [e for e in names if e not in seeds_only and in_domain and all((e, t) in table.index for t in in_domain)]
        if have:
            boot = bootstrap_overall(units, have, in_domain, n_boot, np.random.default_rng([seed, k]), filled)
            entries.loc[have, f"{d}_lo"], entries.loc[have, f"{d}_hi"] = percentiles(boot, LEVEL)
    if seeds_only:
        notes.append("not ranked (cells without per-item outputs, so their intervals cover seeds only, not test "
                     "items; rerun them to rank): " + ", ".join(seeds_only))
    unranked = [e for e in names if e not in complete and e not in seeds_only]
    if scaled and unranked:
        notes.append("not ranked (missing a task of the overall score): " + "; ".join(
            f"{e} (missing {', '.join(t for t in scaled if (e, t) not in table.index)})" for e in unranked))
    if not scaled and names:
        notes.append(f"no task has a {floor_model!r} floor, so there is no overall score and no rank")
    entries = entries.assign(_r=entries["rank"].astype(float).fillna(np.inf)).sort_values(
        ["_r", "overall", "model"], ascending=[True, False, True], na_position="last").drop(columns="_r")
    return Board(tasks=task_list, metrics=metrics, directions=directions, domains=domains, entries=entries,
                 cells=table, scales=task_scales, layer_weights=aggregate.layer_weights(frame), notes=notes,
                 problems=list(problems), suite=suite, floor_model=floor_model, title=title, benchmark=benchmark)


def build_from(results: str | Path, **kwargs) -> Board:
    """Read the records under `results` and build their Board."""
    frame, problems = read_records(results)
    return build(frame, problems, **kwargs)
