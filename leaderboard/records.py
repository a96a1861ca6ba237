"""Read result records into one pandas row per run, setting aside (and naming) bad files.

The leaderboard must render even when a results folder holds a truncated file, a record
from a newer earbench, or two records that disagree about the same run; each of those
becomes a `Problem` naming the file, and the remaining records are used. Each row carries
its run's per-item outputs (`items`, the checked sidecar, or None without one).
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from benchmark.record import Record, RecordError


#: what identifies one run: two records with equal keys claim the same run
RUN_KEY = ["model", "task", "protocol", "layer", "pooling", "seed", "fold"]
COLUMNS = [*RUN_KEY, "metric", "score", "family", "domain", "version", "fingerprint", "params", "clips_per_s",
           "device", "date", "pretraining", "card", "layer_weights", "file", "items"]


class LeaderboardWarning(UserWarning):
    """A result file was left out (or partly ignored); the message names it."""


@dataclass(frozen=True)
class Problem:
    file: str
    reason: str

    def __str__(self) -> str:
        return f"{self.file}: {self.reason}"


def row_of(record: Record, name: str) -> dict:
    """One checked record -> its leaderboard row (`name`: the file, relative to the results folder)."""
    return {
        "model": record.model, "task": record.task_name, "protocol": record.variant,
        "layer": str(record.layer), "pooling": record.pooling,
        "seed": record.seed, "fold": None if record.fold is None else str(record.fold),
        "metric": record.main_metric, "score": record.score,
        "family": record.family, "domain": record.domain, "version": record.task_version,
        "fingerprint": record.fingerprint, "params": record.params, "clips_per_s": record.clips_per_s,
        "device": record.device, "date": record.date, "pretraining": record.pretraining, "card": record.card,
        "layer_weights": record.layer_weights, "file": name,
    }


def read_records(results: str | Path) -> tuple[pd.DataFrame, list[Problem]]:
    """Every `*.json` under `results` -> (one row per usable run, the problems met).

    File names in rows and problems are relative to `results`, so output built from
    them does not depend on where the folder lives.
    """
    root = Path(results)
    rows, problems = [], []
    for path in sorted(root.rglob("*.json")) if root.is_dir() else []:
        name = path.relative_to(root).as_posix()
        try:
            record = Record.read(path)
        except RecordError as err:
            problems.append(Problem(name, f"{err.reason}; skipped"))
            continue
        problems += [Problem(name, note) for note in record.ignored()]
        try:
            outputs = record.outputs(path)
        except RecordError as err:
            problems.append(Problem(name, f"sidecar {Path(err.file).name}: {err.reason}; its per-item outputs are "
                                          f"ignored (seed-based interval)"))
            outputs = None
        rows.append({**row_of(record, name), "items": outputs})
    frame = pd.DataFrame(rows, columns=COLUMNS)
    frame["seed"] = frame["seed"].astype("Int64")  # keep 0, 1, ... integral next to missing seeds
    frame, conflicts = drop_conflicts(frame)
    return frame, problems + conflicts


def drop_conflicts(frame: pd.DataFrame) -> tuple[pd.DataFrame, list[Problem]]:
    """Records claiming the same run: identical scores count once; different scores are
    all left out (there is no telling which is right) and named."""
    problems, keep = [], []
    for _, group in frame.groupby(RUN_KEY, sort=False, dropna=False):
        if len(group) == 1 or group["score"].nunique() == 1:
            keep.append(group.index[0])
            continue
        files = ", ".join(f"{f} ({s:.4g})" for f, s in zip(group["file"], group["score"]))
        first = group.iloc[0]
        what = f"{first.model} / {first.task} / {first.protocol} layer {first.layer} {first.pooling}, " \
               f"seed {first.seed}, fold {first.fold}"
        for f in group["file"]:
            problems.append(Problem(f, f"conflicts with another record of the same run ({what}) with a different "
                                       f"score: {files}; all of them left out"))
    return frame.loc[sorted(keep)].reset_index(drop=True), problems


def load_records(results: str | Path) -> pd.DataFrame:
    """`read_records` for library use: problems become LeaderboardWarnings."""
    frame, problems = read_records(results)
    for problem in problems:
        warnings.warn(str(problem), LeaderboardWarning, stacklevel=2)
    return frame
