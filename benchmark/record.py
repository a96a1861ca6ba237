"""The result record: one JSON file per protocol run, written by the run, read by the planner
(to resume), the CLI summary and the leaderboard. `Record` is its one definition: how it is
built, where it lives, which variant it is, whether it is the same run as another, and how
a file is read back and checked (schema version, migration of older records)."""
from __future__ import annotations

import copy
import datetime as dt
import hashlib
import json
import math
import re
import subprocess
from dataclasses import dataclass, field
from functools import lru_cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, Callable

import torch

from benchmark.errors import EarbenchError
from benchmark.settings import RunSettings
from benchmark.task import TaskSpec
from benchmark.upstream import count_parameters

SCHEMA = 1
#: schema version V -> a function turning a record of version V into one of version V + 1;
#: reading applies them in turn, so a record of any listed version reads as the current one.
#: Empty while every record ever written is schema 1.
MIGRATIONS: dict[int, Callable[[dict], dict]] = {}


class RecordError(EarbenchError):
    """A file that is not a usable result record: names the file and what is wrong with it."""

    def __init__(self, file: str | Path, reason: str) -> None:
        super().__init__(f"{file}: {reason}")
        self.file, self.reason = str(file), reason


class _Invalid(ValueError):
    """Why some JSON is not a record (raised while checking, named with its file by `from_json`)."""


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


def record_path(results: Path, upstream: str, task: str, protocol: dict[str, Any], seed: int | None,
                fold: str | None) -> Path:
    """Where the record of one run lives: RESULTS/MODEL/TASK/VARIANT-layer_L-POOLING/seedS[-fold_F].json.
    `protocol` is the record's protocol settings (`RunSettings.identity()` before the run)."""
    variant = f"{variant_name(protocol)}-layer_{protocol.get('layer', 'last')}-{protocol.get('pooling', 'mean')}"
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


def _number(value: object) -> float | None:
    """A finite JSON number as float, else None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def _text(value: object, what: str) -> str:
    if not isinstance(value, str) or not value:
        raise _Invalid(f"{what} must be a non-empty string, got {value!r}")
    return value


def migrate(data: dict) -> dict:
    """`data` (a record of any version MIGRATIONS covers) as a record of the current schema."""
    schema = data.get("schema")
    if isinstance(schema, bool) or not isinstance(schema, int):
        raise _Invalid(f"no integer 'schema' field (got {schema!r}): not a result record")
    if schema > SCHEMA:
        raise _Invalid(f"schema {schema} is newer than this earbench reads ({SCHEMA}); upgrade earbench")
    while schema < SCHEMA:
        if schema not in MIGRATIONS:
            raise _Invalid(f"schema {schema} is older than any this earbench reads (it migrates "
                           f"{', '.join(map(str, sorted(MIGRATIONS))) or 'none'} to {SCHEMA})")
        data = {**MIGRATIONS[schema](data), "schema": schema + 1}
        schema += 1
    return data


@dataclass(frozen=True)
class Record:
    """One protocol run's result. On disk it is the plain JSON object of `to_json`, field
    for field (schema 1):

    upstream   {name, fingerprint, params, sample_rate, hop_ms, source[, pretraining]}
    task       {name, version, family, split, n: {role: items}}
    protocol   {name, layer, pooling, train_fraction, options, chosen: {...}}
    seed, fold, metrics {name: value}, main_metric,
    timing     {embed_s, probe_s, clips_per_s}, env {earbench, torch, git, device}, date
    """

    upstream: dict[str, Any]
    task: dict[str, Any]
    protocol: dict[str, Any]
    seed: int | None
    fold: str | int | None
    metrics: dict[str, Any]
    main_metric: str
    timing: dict[str, Any] = field(default_factory=dict)
    env: dict[str, Any] = field(default_factory=dict)
    date: str | None = None
    schema: int = SCHEMA

    @classmethod
    def of_run(cls, upstream: torch.nn.Module, task: TaskSpec, settings: RunSettings, *, sizes: dict[str, int],
               seed: int, fold: str | None, metrics: dict[str, float], chosen: dict, main_metric: str,
               embed_s: float, probe_s: float, clips_per_s: float | None) -> "Record":
        """The record of a run that just finished (`sizes`: items per role)."""
        pretraining = getattr(upstream, "pretraining", None)
        device = str(next(iter(upstream.parameters()), torch.empty(0)).device)
        return cls(
            upstream={"name": upstream.earbench_name, "fingerprint": upstream.earbench_fingerprint,
                      "params": count_parameters(upstream), "sample_rate": int(upstream.sample_rate),
                      "hop_ms": float(upstream.hop_ms), "source": upstream.earbench_source,
                      **({"pretraining": pretraining} if isinstance(pretraining, dict) else {})},
            task={"name": task.name, "version": task.version, "family": task.family, "split": "test", "n": sizes},
            protocol={**settings.identity(), "chosen": chosen},
            seed=seed, fold=fold, metrics=metrics, main_metric=main_metric,
            timing={"embed_s": round(embed_s, 3), "probe_s": round(probe_s, 3), "clips_per_s": clips_per_s},
            env={**environment(), "device": device}, date=now())

    # -- on disk -------------------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        """The record as the plain JSON object written to its file (a copy)."""
        return copy.deepcopy({"schema": self.schema, "upstream": self.upstream, "task": self.task,
                              "protocol": self.protocol, "seed": self.seed, "fold": self.fold,
                              "metrics": self.metrics, "main_metric": self.main_metric, "timing": self.timing,
                              "env": self.env, "date": self.date})

    @classmethod
    def from_json(cls, data: object, file: str | Path = "<record>") -> "Record":
        """Check `data` (migrating an older schema) -> Record; RecordError naming `file` if unusable.
        Required fields must be well-formed; optional ones (timing, env, date, ...) may be missing."""
        try:
            return cls._checked(data)
        except _Invalid as err:
            raise RecordError(file, str(err)) from None

    @classmethod
    def read(cls, path: str | Path) -> "Record":
        """The record in the file at `path`; RecordError naming it if unreadable, truncated or invalid."""
        if Path(path).is_dir():
            raise RecordError(path, "a directory, not a record file")
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
            raise RecordError(path, f"unreadable or truncated JSON ({err})") from None
        return cls.from_json(data, path)

    @classmethod
    def _checked(cls, data: object) -> "Record":
        if not isinstance(data, dict):
            raise _Invalid(f"expected a JSON object, got {type(data).__name__}")
        data = migrate(data)
        try:
            upstream, task, protocol = data["upstream"], data["task"], data["protocol"]
            metrics, main = data["metrics"], data["main_metric"]
        except KeyError as err:
            raise _Invalid(f"missing field {err}") from None
        if not all(isinstance(x, dict) for x in (upstream, task, protocol, metrics)):
            raise _Invalid("'upstream', 'task', 'protocol' and 'metrics' must be JSON objects")
        _text(upstream.get("name"), "'upstream.name'")
        _text(task.get("name"), "'task.name'")
        _text(protocol.get("name"), "'protocol.name'")
        _text(main, "'main_metric'")
        if main not in metrics:
            raise _Invalid(f"main metric {main!r} is not among its metrics {sorted(metrics)}")
        if _number(metrics[main]) is None:
            raise _Invalid(f"main metric {main!r} is {metrics[main]!r}, not a finite number")
        seed, fold = data.get("seed"), data.get("fold")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise _Invalid(f"'seed' must be an integer or null, got {seed!r}")
        if fold is not None and not isinstance(fold, (str, int)):
            raise _Invalid(f"'fold' must be a string or null, got {fold!r}")
        layer = protocol.get("layer", "last")
        if not isinstance(layer, (str, int)) or isinstance(layer, bool):
            raise _Invalid(f"'protocol.layer' must be a string or integer, got {layer!r}")
        fraction = protocol.get("train_fraction", 1.0)
        if _number(fraction) is None:
            raise _Invalid(f"'protocol.train_fraction' must be a number, got {fraction!r}")
        optional = {key: data[key] for key, kind in (("timing", dict), ("env", dict), ("date", str))
                    if isinstance(data.get(key), kind)}
        return cls(upstream=upstream, task=task, protocol=protocol, seed=seed, fold=fold, metrics=metrics,
                   main_metric=main, schema=data["schema"], **optional)

    # -- what it is ----------------------------------------------------------------------------

    @property
    def model(self) -> str:
        return self.upstream["name"]

    @property
    def task_name(self) -> str:
        return self.task["name"]

    @property
    def layer(self) -> str | int:
        return self.protocol.get("layer", "last")

    @property
    def pooling(self) -> str:
        return str(self.protocol.get("pooling", "mean"))

    @property
    def score(self) -> float:
        """The main metric's value."""
        return float(self.metrics[self.main_metric])

    @property
    def variant(self) -> str:
        """The protocol variant (`variant_name`): a leaderboard row and a part of the path."""
        return variant_name(self.protocol)

    @property
    def label(self) -> str:
        """`linear`, `linear layer=weighted`, `mlp pooling=max frac=0.1`: the protocol and what
        differs from the default settings (the CLI summary's column)."""
        label = self.protocol["name"]
        if self.layer != "last":
            label += f" layer={self.layer}"
        if self.pooling != "mean":
            label += f" pooling={self.pooling}"
        fraction = self.protocol.get("train_fraction", 1.0)
        if fraction != 1.0:
            label += f" frac={fraction:g}"
        return label

    def path(self, results: str | Path) -> Path:
        """Where this record lives under `results`."""
        return record_path(Path(results), self.model, self.task_name, self.protocol, self.seed,
                           None if self.fold is None else str(self.fold))

    def same_run(self, fingerprint: str, task_version: str, identity: dict[str, Any]) -> bool:
        """Whether this record is the run that an upstream with `fingerprint` would make on this
        version of the task with these protocol settings (`RunSettings.identity()`): then the
        planner reuses it instead of running again."""
        return (self.upstream.get("fingerprint") == fingerprint and self.task.get("version") == task_version
                and {key: self.protocol.get(key) for key in identity} == identity)

    # -- optional fields, None when missing or malformed ---------------------------------------

    @property
    def fingerprint(self) -> str | None:
        return self.upstream.get("fingerprint")

    @property
    def task_version(self) -> str:
        return str(self.task.get("version", ""))

    @property
    def family(self) -> str | None:
        return self.task.get("family") if isinstance(self.task.get("family"), str) else None

    @property
    def domain(self) -> str | None:
        return self.task.get("domain") if isinstance(self.task.get("domain"), str) else None

    @property
    def params(self) -> int | None:
        params = _number(self.upstream.get("params"))
        return None if params is None else int(params)

    @property
    def pretraining(self) -> dict | None:
        pretraining = self.upstream.get("pretraining")
        return pretraining if isinstance(pretraining, dict) else None

    @property
    def clips_per_s(self) -> float | None:
        return _number(self.timing.get("clips_per_s"))

    @property
    def device(self) -> str | None:
        return self.env.get("device") if isinstance(self.env.get("device"), str) else None

    @property
    def layer_weights(self) -> list[float] | None:
        """The learned weights of `--layer weighted`, if the record has a well-formed list of them."""
        chosen = self.protocol.get("chosen")
        weights = chosen.get("layer_weights") if isinstance(chosen, dict) else None
        if not isinstance(weights, list) or not weights or any(_number(w) is None for w in weights):
            return None
        return [float(w) for w in weights]

    def ignored(self) -> list[str]:
        """Notes on optional fields that are present but malformed (and so read as missing)."""
        chosen = self.protocol.get("chosen")
        weights = chosen.get("layer_weights") if isinstance(chosen, dict) else None
        if weights is not None and self.layer_weights is None:
            return [f"'protocol.chosen.layer_weights' is not a list of finite numbers ({weights!r:.60}); ignored"]
        return []
