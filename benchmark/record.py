"""Result records: one JSON file per protocol run, written atomically, read by the leaderboard."""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import subprocess
from functools import lru_cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import torch

SCHEMA = 1


def slug(text: str) -> str:
    """A file-name-safe form of a model or task name (`hear:pkg.mod` -> `hear_pkg.mod`)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_") or "_"


def variant_name(protocol: dict[str, Any]) -> str:
    """A record's protocol variant: the name, plus `-frac_F` when it trained on a fraction F
    of the training split and `-opt_HASH` when it had options, so that variants never
    overwrite each other. The one definition: the record's path and the leaderboard's
    rows both use it."""
    name = protocol["name"]
    fraction = protocol.get("train_fraction", 1.0)
    if fraction != 1.0:
        name += f"-frac_{fraction:g}"
    if protocol.get("options"):
        digest = hashlib.sha256(json.dumps(protocol["options"], sort_keys=True, default=str).encode()).hexdigest()
        name += f"-opt_{digest[:8]}"
    return name


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
