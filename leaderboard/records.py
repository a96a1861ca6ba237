"""Read result records into one pandas row per run, setting aside (and naming) bad files.

The leaderboard must render even when a results folder holds a truncated file, a record
from a newer earbench, or two records that disagree about the same run; each of those
becomes a `Problem` naming the file, and the remaining records are used.
"""
from __future__ import annotations

import json
import math
import warnings
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from benchmark.record import SCHEMA, variant_name


#: what identifies one run: two records with equal keys claim the same run
RUN_KEY = ["model", "task", "protocol", "layer", "pooling", "seed", "fold"]
COLUMNS = [*RUN_KEY, "metric", "score", "family", "domain", "version", "fingerprint", "params", "clips_per_s",
           "device", "date", "pretraining", "layer_weights", "file"]


class LeaderboardWarning(UserWarning):
    """A result file was left out (or partly ignored); the message names it."""


@dataclass(frozen=True)
class Problem:
    file: str
    reason: str

    def __str__(self) -> str:
        return f"{self.file}: {self.reason}"


class BadRecord(ValueError):
    """Why one file is not a usable result record."""


def _text(value: object, what: str) -> str:
    if not isinstance(value, str) or not value:
        raise BadRecord(f"{what} must be a non-empty string, got {value!r}")
    return value


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def protocol_variant(protocol: dict) -> str:
    """The protocol variant of a record (`benchmark.record.variant_name`, the text of its
    path), once its fields are checked: label-efficiency or option variants are separate
    rows and never taken for duplicates."""
    _text(protocol.get("name"), "'protocol.name'")
    fraction = protocol.get("train_fraction", 1.0)
    if _number(fraction) is None:
        raise BadRecord(f"'protocol.train_fraction' must be a number, got {fraction!r}")
    return variant_name(protocol)


def parse_record(record: object, name: str) -> tuple[dict, list[str]]:
    """One record -> (row, notes on ignored optional fields); raises BadRecord if unusable."""
    if not isinstance(record, dict):
        raise BadRecord(f"expected a JSON object, got {type(record).__name__}")
    schema = record.get("schema")
    if isinstance(schema, bool) or not isinstance(schema, int):
        raise BadRecord(f"no integer 'schema' field (got {schema!r}): not a result record")
    if schema > SCHEMA:
        raise BadRecord(f"schema {schema} is newer than this leaderboard reads ({SCHEMA}); upgrade earbench")
    try:
        upstream, task, protocol = record["upstream"], record["task"], record["protocol"]
        metrics, main = record["metrics"], record["main_metric"]
    except KeyError as err:
        raise BadRecord(f"missing field {err}") from None
    if not all(isinstance(x, dict) for x in (upstream, task, protocol, metrics)):
        raise BadRecord("'upstream', 'task', 'protocol' and 'metrics' must be JSON objects")
    _text(main, "'main_metric'")
    if main not in metrics:
        raise BadRecord(f"main metric {main!r} is not among its metrics {sorted(metrics)}")
    score = _number(metrics[main])
    if score is None:
        raise BadRecord(f"main metric {main!r} is {metrics[main]!r}, not a finite number")
    seed, fold = record.get("seed"), record.get("fold")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise BadRecord(f"'seed' must be an integer or null, got {seed!r}")
    if fold is not None and not isinstance(fold, (str, int)):
        raise BadRecord(f"'fold' must be a string or null, got {fold!r}")
    layer = protocol.get("layer", "last")
    if not isinstance(layer, (str, int)) or isinstance(layer, bool):
        raise BadRecord(f"'protocol.layer' must be a string or integer, got {layer!r}")
    notes = []
    chosen = protocol.get("chosen") if isinstance(protocol.get("chosen"), dict) else {}
    weights = chosen.get("layer_weights")
    if weights is not None:
        if not isinstance(weights, list) or not weights or any(_number(w) is None for w in weights):
            notes.append(f"'protocol.chosen.layer_weights' is not a list of finite numbers ({weights!r:.60}); ignored")
            weights = None
        else:
            weights = [float(w) for w in weights]
    timing = record.get("timing") if isinstance(record.get("timing"), dict) else {}
    env = record.get("env") if isinstance(record.get("env"), dict) else {}
    params = upstream.get("params")
    pretraining = upstream.get("pretraining")
    row = {
        "model": _text(upstream.get("name"), "'upstream.name'"),
        "task": _text(task.get("name"), "'task.name'"),
        "protocol": protocol_variant(protocol),
        "layer": str(layer), "pooling": str(protocol.get("pooling", "mean")),
        "seed": seed, "fold": None if fold is None else str(fold),
        "metric": main, "score": score,
        "family": task.get("family") if isinstance(task.get("family"), str) else None,
        "domain": task.get("domain") if isinstance(task.get("domain"), str) else None,
        "version": str(task.get("version", "")),
        "fingerprint": upstream.get("fingerprint"),
        "params": int(params) if _number(params) is not None else None,
        "clips_per_s": _number(timing.get("clips_per_s")),
        "device": env.get("device") if isinstance(env.get("device"), str) else None,
        "date": record.get("date") if isinstance(record.get("date"), str) else None,
        "pretraining": pretraining if isinstance(pretraining, dict) else None,
        "layer_weights": weights,
        "file": name,
    }
    return row, notes


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
            record = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
            problems.append(Problem(name, f"unreadable or truncated JSON ({err}); skipped"))
            continue
        try:
            row, notes = parse_record(record, name)
        except BadRecord as err:
            problems.append(Problem(name, f"{err}; skipped"))
            continue
        problems += [Problem(name, note) for note in notes]
        rows.append(row)
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
