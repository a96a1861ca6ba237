"""Load result records into a DataFrame, skipping (and naming) files that cannot be read."""
from __future__ import annotations

import json
import warnings
from pathlib import Path

import pandas as pd

SCHEMA = 1


def load_records(results: Path) -> pd.DataFrame:
    """One row per record: model, task, protocol, layer, seed, fold, main metric and score."""
    rows = []
    for path in sorted(Path(results).rglob("*.json")):
        try:
            record = json.loads(path.read_text())
            if record.get("schema", 0) > SCHEMA:
                warnings.warn(f"{path}: schema {record['schema']} is newer than this earbench ({SCHEMA}); skipped")
                continue
            main = record["main_metric"]
            rows.append({"model": record["upstream"]["name"], "task": record["task"]["name"],
                         "protocol": record["protocol"]["name"], "layer": str(record["protocol"]["layer"]),
                         "seed": record["seed"], "fold": record["fold"], "metric": main,
                         "score": float(record["metrics"][main]), "params": record["upstream"].get("params"),
                         "file": str(path)})
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as err:
            warnings.warn(f"{path}: not a valid result record ({type(err).__name__}: {err}); skipped")
    return pd.DataFrame(rows)
