"""Result records: one JSON file per protocol run, written atomically, read by the leaderboard."""
from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
from functools import lru_cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import torch

SCHEMA = 1


def slug(text: str) -> str:
    """A file-name-safe form of a model or task name (`hear:pkg.mod` -> `hear_pkg.mod`)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_") or "_"


def record_path(results: Path, upstream: str, task: str, protocol: str, layer: str | int, pooling: str,
                seed: int, fold: str | None) -> Path:
    variant = f"{protocol}-layer_{layer}-{pooling}"
    leaf = f"seed{seed}" + (f"-fold_{slug(fold)}" if fold is not None else "") + ".json"
    return Path(results) / slug(upstream) / slug(task) / variant / leaf


@lru_cache(maxsize=1)
def environment() -> dict:
    try:
        earbench = version("earbench")
    except PackageNotFoundError:
        earbench = "unknown"
    try:
        git = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                             cwd=Path(__file__).parent, timeout=5).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        git = None
    return {"earbench": earbench, "torch": torch.__version__, "git": git}


def now() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def read_record(path: Path) -> dict:
    return json.loads(Path(path).read_text())
