"""Two entries, task by task, tested over test items.

Per task, when both entries' records carry per-item outputs for the same test items, a
paired bootstrap (`benchmark.scoring.bootstrap`: the same item draws for both, clustered
as for the cells, each entry's seeds resampled) gives the difference A - B, its 95% BCa
interval (the jackknife of the difference over the same clusters) and the two-sided p-value
of no difference that inverts it. For the top-1 metrics (accuracy,
pitch and chroma accuracy), whose per-item outcome is right or wrong, the exact McNemar
test on the discordant items must agree too (at every matched seed, folds pooled: each
item is tested in one fold). Only then is one entry called better; otherwise the two are
"not separable". Records without per-item outputs (written before the sidecars) allow no
item-level test: their seed-level difference is shown, and they are never called better.
p-values are per task, not corrected for the number of tasks.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass

import numpy as np
import pandas as pd

from benchmark.errors import EarbenchError
from benchmark.scoring.bootstrap import (N_BOOT, Run, bca_interval, bca_p_value, items_digest, result_jackknife,
                                         result_observed, result_replicates)
from benchmark.scoring.mcnemar import discordant, mcnemar_p
from benchmark.scoring.resampled import CORRECTNESS
from leaderboard.aggregate import VARIANT, entry_labels
from leaderboard.direction import direction
from leaderboard.intervals import item_runs

ALPHA = 0.05


@dataclass(frozen=True)
class TaskComparison:
    task: str
    metric: str | None
    n: int                        # runs compared (A's and B's), 0 when not compared
    items: int = 0                # test items of the item-level test (0: none was possible)
    mean_a: float | None = None
    mean_b: float | None = None
    diff: float | None = None     # A - B, in metric units
    ci: tuple[float, float] | None = None  # paired bootstrap 95% interval of the difference
    p: float | None = None        # two-sided paired bootstrap p
    p_mcnemar: float | None = None  # exact McNemar (top-1 metrics), the largest over matched seeds
    winner: str | None = None     # "A", "B" or None (not separable / not compared)
    verdict: str = ""


def resolve(labels: pd.Series, frame: pd.DataFrame, name: str, like: str | None = None) -> str:
    """An entry label, or a model name with a single entry, or with a single entry under the
    protocol, layer and pooling of the entry `like` (the other side of a comparison)."""
    if name in set(labels):
        return name
    mine = sorted(set(labels[frame["model"] == name]))
    if len(mine) == 1:
        return mine[0]
    if mine and like is not None:
        def variant(label: str) -> set:
            return set(map(tuple, frame.loc[labels == label, VARIANT[1:]].astype(str).values))
        same = [m for m in mine if variant(m) == variant(like)]
        if len(same) == 1:
            return same[0]
    if mine:
        raise EarbenchError(f"{name!r} has several entries; name one of: {'; '.join(mine)}")
    close = difflib.get_close_matches(name, sorted(set(labels) | set(frame["model"])), n=3)
    hint = f" (did you mean {', '.join(close)}?)" if close else ""
    raise EarbenchError(f"no records for {name!r}{hint}")


def compare(frame: pd.DataFrame, a: str, b: str, tasks: list[str] | None = None, *, alpha: float = ALPHA,
            n_boot: int = N_BOOT, seed: int = 0, by_model: bool = False) -> list[TaskComparison]:
    """One TaskComparison per task (the given ones, or every task either entry has). With
    `by_model` an entry is a model (the records of a benchmark's declared protocols)."""
    frame = frame.assign(entry=frame["model"] if by_model else entry_labels(frame))
    def plain(name: str) -> str | None:  # its entry, or None when it needs the other side's to choose
        try:
            return resolve(frame["entry"], frame, name)
        except EarbenchError:
            return None

    plain_a, plain_b = plain(a), plain(b)
    a = plain_a or resolve(frame["entry"], frame, a, like=plain_b)
    b = plain_b or resolve(frame["entry"], frame, b, like=a)
    if a == b:
        raise EarbenchError(f"compare needs two different entries, got {a!r} twice")
    rows = frame[frame["entry"].isin([a, b])]
    tasks = tasks if tasks is not None else sorted(rows["task"].unique())
    return [compare_task(rows[rows["task"] == t], t, a, b, alpha, n_boot, seed) for t in tasks]


def runs_text(keys: list[tuple]) -> str:
    return ", ".join(f"seed {s}" + (f"/fold {f}" if f is not None else "") for s, f in keys) or "none"


def same_test_sets(runs_a: list[Run], runs_b: list[Run]) -> bool:
    sets = [{r.fold: items_digest(r.items) for r in runs} for runs in (runs_a, runs_b)]
    return sets[0] == sets[1]


def mcnemar_over_seeds(runs_a: list[Run], runs_b: list[Run], metric: str) -> float:
    """The largest exact McNemar p over the seed pairs (matched seeds, else in order), folds pooled."""
    seeds_a, seeds_b = sorted({r.seed for r in runs_a}, key=str), sorted({r.seed for r in runs_b}, key=str)
    matched = [s for s in seeds_a if s in seeds_b]
    pairs = [(s, s) for s in matched] or list(zip(seeds_a, seeds_b))
    right = CORRECTNESS[metric]
    worst = 0.0
    for sa, sb in pairs:
        b = c = 0
        for run in (r for r in runs_a if r.seed == sa):
            other = next(r for r in runs_b if r.seed == sb and r.fold == run.fold)
            db, dc = discordant(right(run.items), right(other.items))
            b, c = b + db, c + dc
        worst = max(worst, mcnemar_p(b, c))
    return worst


def compare_task(rows: pd.DataFrame, task: str, a: str, b: str, alpha: float, n_boot: int,
                 seed: int) -> TaskComparison:
    ra, rb = rows[rows["entry"] == a], rows[rows["entry"] == b]
    if ra.empty or rb.empty:
        which = "neither has" if ra.empty and rb.empty else f"only {a if rb.empty else b} has"
        return TaskComparison(task, None, 0, verdict=f"not compared: {which} records")
    metric, metric_b = ra["metric"].iloc[0], rb["metric"].iloc[0]
    if metric != metric_b:
        return TaskComparison(task, None, 0, verdict=f"not compared: {a} reports {metric}, {b} {metric_b}")
    runs_a, runs_b = item_runs(ra), item_runs(rb)
    if runs_a is None or runs_b is None:
        return seed_level(ra, rb, task, metric, a, b, [n for n, r in ((a, runs_a), (b, runs_b)) if r is None])
    if not same_test_sets(runs_a, runs_b):
        return TaskComparison(task, metric, 0, verdict=f"not compared: {a} and {b} predicted different test items "
                                                        f"(other task data or folds)")
    # the same test sets (checked above), so both draw the same items: the difference is paired
    d = (result_replicates(runs_a, metric, task, a, n_boot, seed)
         - result_replicates(runs_b, metric, task, b, n_boot, seed))
    d = d[~np.isnan(d)]
    observed = result_observed(runs_a, metric) - result_observed(runs_b, metric)
    jackknife = [ja - jb for ja, jb in zip(result_jackknife(runs_a, metric, task, seed),
                                           result_jackknife(runs_b, metric, task, seed))]
    lo, hi = bca_interval(d, observed, jackknife)
    p = bca_p_value(d, observed, jackknife)
    p_mc = mcnemar_over_seeds(runs_a, runs_b, metric) if metric in CORRECTNESS else None
    mean_a, mean_b = float(ra["score"].mean()), float(rb["score"].mean())
    diff = mean_a - mean_b
    separated = (lo > 0 or hi < 0) and (p_mc is None or p_mc < alpha)
    winner = ("A" if (diff > 0) == direction(metric).higher_is_better else "B") if separated and diff else None
    n_items = sum(len(r.items) for r in runs_a if r.seed == runs_a[0].seed)
    # no replicate on the other side: p is below what len(d) replicates can resolve, not 0
    p_text = f"p < {2 / len(d):.1g}" if len(d) and p == 0 else f"p = {p:.2g}"
    tests = f"paired bootstrap over {n_items} test items {p_text}" + (
        f"; exact McNemar p = {p_mc:.2g}" if p_mc is not None else "")
    stats_text = (f"{metric} {mean_a:.4f} vs {mean_b:.4f}, diff {diff:+.4f} [95% CI {lo:+.4f}, {hi:+.4f}], "
                  f"{tests}; {len(runs_a)} vs {len(runs_b)} run(s)")
    verdict = f"{a if winner == 'A' else b} better ({stats_text})" if winner else f"not separable ({stats_text})"
    return TaskComparison(task, metric, len(runs_a) + len(runs_b), n_items, mean_a, mean_b, diff, (lo, hi), p, p_mc,
                          winner, verdict)


def seed_level(ra: pd.DataFrame, rb: pd.DataFrame, task: str, metric: str, a: str, b: str,
               lacking: list[str]) -> TaskComparison:
    """Records without per-item outputs: the difference over matched seeds/folds, shown, never a verdict."""
    def by_run(r: pd.DataFrame) -> dict:
        return {(None if pd.isna(s) else int(s), f): v for s, f, v in zip(r["seed"], r["fold"], r["score"])}
    sa, sb = by_run(ra), by_run(rb)
    keys = sorted(set(sa) & set(sb), key=str)
    if not keys:
        return TaskComparison(task, metric, 0, verdict=f"not compared: no matched seeds/folds ({a}: "
                              f"{runs_text(sorted(sa, key=str))}; {b}: {runs_text(sorted(sb, key=str))})")
    x, y = np.array([sa[k] for k in keys]), np.array([sb[k] for k in keys])
    verdict = (f"not separable: {' and '.join(lacking)}'s records hold no per-item outputs, so no item-level test is possible (seed level: "
               f"{metric} {x.mean():.4f} vs {y.mean():.4f}, diff {x.mean() - y.mean():+.4f} over {len(keys)} matched "
               f"run(s)); rerun them to write per-item outputs")
    return TaskComparison(task, metric, len(keys), 0, float(x.mean()), float(y.mean()), float(x.mean() - y.mean()),
                          verdict=verdict)
