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
import platform
import re
import subprocess
import glob
from dataclasses import dataclass, field, replace
from functools import lru_cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from benchmark.errors import EarbenchError
from benchmark.scoring.items import CLUSTERS, ItemOutputs
from benchmark.settings import RunSettings
from benchmark.storage import write_bytes, write_json
from benchmark.task import TaskSpec
from benchmark.upstream import count_parameters

if TYPE_CHECKING:  # records are read (the leaderboard, `earbench list benchmarks`) without torch
    import torch

SCHEMA = 2
#: the task digest of a record written before records carried one: it equals no digest a
#: run computes, so the planner recomputes such a record rather than reuse it
UNKNOWN_DIGEST = "unknown"


def digest_unknown(data: dict) -> dict:
    """Schema 1 -> 2: schema 2 keys a record on its task's content (`task.digest`); a schema-1
    record was made on data nobody digested, so its digest is unknown. Nothing else changes:
    the fields schema 2 adds (the command, more package versions) are optional."""
    return {**data, "task": {**data["task"], "digest": UNKNOWN_DIGEST}} if isinstance(data.get("task"), dict) else data


#: schema version V -> a function turning a record of version V into one of version V + 1;
#: reading applies them in turn, so a record of any listed version reads as the current one.
MIGRATIONS: dict[int, Callable[[dict], dict]] = {1: digest_unknown}
#: the packages whose versions a record keeps besides earbench and torch (those that compute scores)
PACKAGES = ("numpy", "scipy", "scikit-learn", "pandas", "torchaudio", "soundfile")


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
    of the training split, `-hop_H` when its frames were averaged to H ms (`--frame-hop`)
    and `-opt_HASH` when it had options, so that variants never
    overwrite each other. The one definition: the record's path and the leaderboard's
    rows both use it."""
    name = protocol["name"]
    fraction = protocol.get("train_fraction", 1.0)
    if fraction != 1.0:
        name += f"-frac_{fraction:g}"
    if protocol.get("frame_hop") is not None:
        name += f"-hop_{protocol['frame_hop']:g}"
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


def package_version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "unknown"


@lru_cache(maxsize=1)
def environment() -> dict:
    """The software a record was made with: earbench (version, git commit), Python, torch and `PACKAGES`."""
    import torch  # here, not at the top: see the TYPE_CHECKING import
    try:
        git = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                             cwd=Path(__file__).parent, timeout=5).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        git = None
    return {"earbench": package_version("earbench"), "torch": torch.__version__, "git": git,
            "python": platform.python_version(), **{name: package_version(name) for name in PACKAGES}}


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


#: the one sidecar format: numpy's .npz of plain arrays, read with allow_pickle=False
SIDECAR_FORMAT = "npz"


def _sidecar_problem(items: dict) -> str | None:
    """What is wrong with an `items` field, or None."""
    file, sha = items.get("file"), items.get("sha256")
    if not isinstance(file, str) or not re.fullmatch(r"[A-Za-z0-9._-]+\.npz", file):
        return f"'items.file' must be a sidecar file name beside the record, got {file!r}"
    if items.get("format") != SIDECAR_FORMAT:
        return f"'items.format' must be {SIDECAR_FORMAT!r}, got {items.get('format')!r}"
    if not isinstance(sha, str) or not re.fullmatch(r"[0-9a-f]{64}", sha):
        return f"'items.sha256' must be 64 hex digits, got {sha!r}"
    if items.get("kind") not in CLUSTERS:
        return f"'items.kind' must be one of {', '.join(CLUSTERS)}, got {items.get('kind')!r}"
    n = items.get("n")
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        return f"'items.n' must be a count, got {n!r}"
    return None


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
    for field (schema 2):

    upstream   {name, fingerprint, params, sample_rate, hop_ms, source[, pretraining][, card]}
    task       {name, version, family, split, n: {role: items}, digest}
    protocol   {name, layer, pooling, train_fraction, options, chosen: {...}}
    seed, fold, metrics {name: value}, main_metric,
    timing     {embed_s, probe_s, clips_per_s},
    env        {earbench, torch, git, python, numpy, scipy, ..., device}, date,
    command    how the run was asked for (`earbench run ...`, `python: evaluate(...)`)

    Its identity (`same_run`) is the upstream's fingerprint, the task's version and digest
    (`benchmark.features.digest.task_digest`: manifests and audio) and the protocol settings.
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
    command: str | None = None
    items: dict[str, Any] | None = None  # the per-item outputs' sidecar: {file, format, sha256, kind, n}
    schema: int = SCHEMA

    @classmethod
    def of_run(cls, upstream: torch.nn.Module, task: TaskSpec, settings: RunSettings, *, sizes: dict[str, int],
               seed: int, fold: str | None, metrics: dict[str, float], chosen: dict, main_metric: str,
               embed_s: float, probe_s: float, clips_per_s: float | None, digest: str) -> "Record":
        """The record of a run that just finished (`sizes`: items per role; `digest`: the task
        data's, `task_digest`)."""
        pretraining = getattr(upstream, "pretraining", None)
        card = getattr(upstream, "card", None)  # a zoo checkpoint's published facts (benchmark/upstreams/zoo.py)
        weights = next(iter(upstream.parameters()), None)
        device = str(weights.device) if weights is not None else "cpu"  # a module without weights runs on the CPU
        return cls(
            upstream={"name": upstream.earbench_name, "fingerprint": upstream.earbench_fingerprint,
                      "params": count_parameters(upstream), "sample_rate": int(upstream.sample_rate),
                      "hop_ms": float(upstream.hop_ms), "source": upstream.earbench_source,
                      **({"pretraining": pretraining} if isinstance(pretraining, dict) else {}),
                      **({"card": card} if isinstance(card, dict) else {})},
            task={"name": task.name, "version": task.version, "family": task.family, "split": "test", "n": sizes,
                  "digest": digest},
            protocol={**settings.identity(), "chosen": chosen},
            seed=seed, fold=fold, metrics=metrics, main_metric=main_metric,
            timing={"embed_s": round(embed_s, 3), "probe_s": round(probe_s, 3), "clips_per_s": clips_per_s},
            env={**environment(), "device": device}, date=now(), command=settings.command)

    # -- on disk -------------------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        """The record as the plain JSON object written to its file (a copy)."""
        return copy.deepcopy({"schema": self.schema, "upstream": self.upstream, "task": self.task,
                              "protocol": self.protocol, "seed": self.seed, "fold": self.fold,
                              "metrics": self.metrics, "main_metric": self.main_metric, "timing": self.timing,
                              "env": self.env, "date": self.date, "command": self.command,
                              **({"items": self.items} if self.items is not None else {})})

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
        optional = {key: data[key] for key, kind in (("timing", dict), ("env", dict), ("date", str),
                                                     ("command", str), ("items", dict))
                    if isinstance(data.get(key), kind)}
        return cls(upstream=upstream, task=task, protocol=protocol, seed=seed, fold=fold, metrics=metrics,
                   main_metric=main, schema=data["schema"], **optional)

    # -- per-item outputs: the sidecar -----------------------------------------------------------

    def write(self, path: str | Path, outputs: ItemOutputs | None) -> "Record":
        """Write this record to `path` with its per-item outputs beside it -> the record as written.

        The outputs go first, to `STEM.items-SHA16.npz` (named by their content), then the JSON,
        whose `items` field holds the sidecar's name, format, sha256, kind and length; sidecars
        of earlier runs of the same path are removed last. Each file is written atomically, so at
        every moment the JSON on disk names a complete sidecar with the checksum it states.
        """
        path = Path(path)
        items = None
        if outputs is not None:
            data = outputs.to_npz()
            sha = hashlib.sha256(data).hexdigest()
            items = {"file": f"{path.stem}.items-{sha[:16]}.npz", "format": SIDECAR_FORMAT, "sha256": sha,
                     "kind": outputs.kind, "n": len(outputs)}
            write_bytes(path.parent / items["file"], data)
        record = replace(self, items=items)
        write_json(path, record.to_json())
        for old in path.parent.glob(f"{glob.escape(path.stem)}.items-*.npz"):
            if items is None or old.name != items["file"]:
                old.unlink(missing_ok=True)
        return record

    @property
    def sidecar(self) -> dict[str, Any] | None:
        """The well-formed `items` field, else None (`ignored()` says why a present one is not)."""
        items = self.items
        if not isinstance(items, dict) or _sidecar_problem(items) is not None:
            return None
        return items

    def outputs(self, path: str | Path) -> ItemOutputs | None:
        """The per-item outputs of the record read from `path` (None if it has none), checked
        against the checksum its `items` field states; RecordError naming the sidecar if it is
        missing, altered or not what the field says."""
        items = self.sidecar
        if items is None:
            return None
        file = Path(path).parent / items["file"]
        try:
            data = file.read_bytes()
        except OSError as err:
            raise RecordError(file, f"the record's per-item outputs are unreadable ({err.strerror or err})") from None
        if hashlib.sha256(data).hexdigest() != items["sha256"]:
            raise RecordError(file, "per-item outputs do not match the sha256 their record states (altered or "
                                    "replaced)")
        try:
            outputs = ItemOutputs.from_npz(data)
        except (ValueError, OSError, EOFError) as err:
            raise RecordError(file, f"not per-item outputs ({err})") from None
        if outputs.kind != items["kind"] or len(outputs) != items["n"]:
            raise RecordError(file, f"holds {len(outputs)} {outputs.kind} items; its record says "
                                    f"{items['n']} {items['kind']}")
        return outputs

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
        if self.protocol.get("frame_hop") is not None:
            label += f" hop={self.protocol['frame_hop']:g}ms"
        return label

    def path(self, results: str | Path) -> Path:
        """Where this record lives under `results`."""
        return record_path(Path(results), self.model, self.task_name, self.protocol, self.seed,
                           None if self.fold is None else str(self.fold))

    def same_run(self, fingerprint: str, task_version: str, digest: str, identity: dict[str, Any]) -> bool:
        """Whether this record is the run that an upstream with `fingerprint` would make on this
        version of the task, holding the data of `digest` (`task_digest`), with these protocol
        settings (`RunSettings.identity()`): then the planner reuses it instead of running again."""
        return self.mismatch(fingerprint, task_version, digest, identity) is None

    def mismatch(self, fingerprint: str, task_version: str, digest: str, identity: dict[str, Any]) -> str | None:
        """Why this record is not that run (what differs, in a few words), or None when it is."""
        if self.upstream.get("fingerprint") != fingerprint:
            return "other upstream weights"
        if self.task.get("version") != task_version:
            return f"task version {self.task.get('version')!r}, not {task_version!r}"
        if self.task.get("digest") == UNKNOWN_DIGEST:
            return "written before records were keyed on the task's data (schema 1)"
        if self.task.get("digest") != digest:
            return "the task's data (manifests or audio) changed"
        if {key: self.protocol.get(key) for key in identity} != identity:
            return "other protocol settings"
        return None

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
    def card(self) -> dict | None:
        """A zoo checkpoint's published facts (repo, revision, licence, training data, paper, ...)."""
        card = self.upstream.get("card")
        return card if isinstance(card, dict) else None

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
        notes = []
        chosen = self.protocol.get("chosen")
        weights = chosen.get("layer_weights") if isinstance(chosen, dict) else None
        if weights is not None and self.layer_weights is None:
            notes.append(f"'protocol.chosen.layer_weights' is not a list of finite numbers ({weights!r:.60}); ignored")
        if self.items is not None and self.sidecar is None:
            notes.append(f"{_sidecar_problem(self.items)}; its per-item outputs are ignored")
        return notes
