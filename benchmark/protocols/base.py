"""What every protocol shares: the run context (upstream, task, cached features) and its shape."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import pandas as pd
import torch

from benchmark.features.audio import duration_s
from benchmark.features.cache import EmbeddingCache, Embeddings
from benchmark.errors import ProtocolError
from benchmark.family import FAMILIES, families_with, family_of
from benchmark.features.extract import ExtractStats, extract
from benchmark.registry import Registry
from benchmark.settings import POOLINGS, RunSettings
from benchmark.task import TaskSpec


#: the roles whose cached embeddings a head reads, unless it declares others with `reads`
ROLES = ("train", "valid", "test")
HeadFunction = Callable[["RunContext", dict[str, list[str]], int], tuple[dict[str, float], dict]]


def reads(*roles: str) -> Callable[[HeadFunction], HeadFunction]:
    """Declare the roles whose cached embeddings a head reads (none: it runs the upstream
    itself); `Protocol.needs` reports them to the planner."""
    def declare(head: HeadFunction) -> HeadFunction:
        head.reads = roles  # type: ignore[attr-defined]
        return head
    return declare


@dataclass
class Part:
    """The items one role (train, valid or test) of a run uses.

    `manifest` holds the rows (the concatenation of the role's splits, subsampled for
    `--train-fraction`); `rows` indexes those rows in the concatenation of the splits'
    cached embeddings, so features and labels stay aligned.
    """

    role: str
    splits: list[str]
    manifest: pd.DataFrame
    rows: np.ndarray

    def __len__(self) -> int:
        return len(self.rows)


@dataclass
class RunContext:
    """One (upstream, task) pairing under the run's `settings` (layer, pooling, options, ...,
    checked when they were made); embeddings are extracted once and shared by all runs.
    `cache` defaults to the one at `settings.cache_root`.
    """

    upstream: torch.nn.Module
    task: TaskSpec
    manifests: dict[str, pd.DataFrame]
    settings: RunSettings = field(default_factory=RunSettings)
    cache: EmbeddingCache | None = None
    stats: ExtractStats = field(default_factory=ExtractStats)
    sizes: dict = field(default_factory=dict)  # items per role actually used by the current run
    _embeddings: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.cache is None:
            self.cache = EmbeddingCache(self.settings.cache_root)
        if self.settings.pooling == "cls" and not getattr(self.upstream, "has_cls", False):
            raise ProtocolError(f"--pooling cls needs an upstream whose first frame is a CLS token (has_cls = True); "
                                f"upstream {self.upstream_name!r} does not declare one: use mean, max or attention")

    @property
    def upstream_name(self) -> str:
        return getattr(self.upstream, "earbench_name", type(self.upstream).__name__)

    @property
    def weighted(self) -> bool:
        return self.settings.weighted

    def option(self, key: str, default: Any) -> Any:
        """A protocol option (`-o key=value`), converted to the type of its default."""
        value = self.settings.options.get(key, default)
        if value is default or default is None or isinstance(value, type(default)):
            return value
        try:
            return type(default)(value)
        except (TypeError, ValueError):
            raise ProtocolError(f"option {key}={value!r}: expected a {type(default).__name__}") from None

    def embeddings(self, split: str, pooling: str | None = None) -> Embeddings:
        pooling = pooling or self.settings.pooling
        if pooling == "frames":
            self.require_frames()
        if (split, pooling) not in self._embeddings:
            self._embeddings[split, pooling] = extract(
                self.upstream, list(self.manifests[split]["path"]), task=self.task.name,
                task_version=self.task.version, split=split, pooling=pooling, cache=self.cache,
                batch_seconds=self.settings.batch_seconds, workers=self.settings.workers,
                progress=self.settings.progress, stats=self.stats)
            if pooling == "frames":
                self._check_has_frames(split, self._embeddings[split, pooling])
        return self._embeddings[split, pooling]

    def clips_per_s(self) -> float | None:
        """Extraction throughput, as measured when the cache entries were computed."""
        items = sum(e.meta.get("num_items", 0) - e.meta.get("resumed_items", 0) for e in self._embeddings.values())
        seconds = sum(e.meta.get("embed_s", 0.0) for e in self._embeddings.values())
        return round(items / seconds, 2) if seconds else None

    def layer_index(self, num_layers: int) -> int:
        """`last`, or an index into the hidden states (0 = first), checked against the model."""
        index = self.settings.layer
        if index == "last":
            return num_layers - 1
        if index == "weighted":
            raise ProtocolError("--layer weighted needs a trained head (linear, mlp, finetune); "
                                "this protocol uses one layer: pass --layer last or an index")
        if not -num_layers <= index < num_layers:
            raise ProtocolError(f"layer {index} is out of range: upstream "
                                f"{self.upstream_name!r} has {num_layers} layers (0..{num_layers - 1})")
        return index % num_layers

    def _layers(self, num_layers: int) -> int | slice:
        return slice(None) if self.weighted else self.layer_index(num_layers)

    def clip_features(self, splits: list[str], pooling: str | None = None) -> np.ndarray:
        """Pooled features for the concatenation of `splits`, float32: [N, D] for one layer,
        [N, L, D] with --layer weighted."""
        pooling = pooling or self.settings.pooling
        if pooling == "attention":
            raise ProtocolError("attention pooling is learned: this protocol needs fixed pooled features "
                                "(--pooling mean, max or cls)")
        arrays = []
        for split in splits:
            emb = self.embeddings(split, pooling)
            arrays.append(np.asarray(emb.data[:, self._layers(emb.num_layers)], dtype=np.float32))
        return np.concatenate(arrays)

    def clip(self, part: Part, pooling: str | None = None) -> np.ndarray:
        """Pooled features of the items of `part`."""
        return self.clip_features(part.splits, pooling)[part.rows]

    def frames(self, part: Part) -> tuple[np.ndarray, np.ndarray]:
        """Frame features of the items of `part`: (data [sum T, D] or [sum T, L, D], offsets [n+1])."""
        pieces = []
        for split in part.splits:
            emb = self.embeddings(split, "frames")
            layers = self._layers(emb.num_layers)
            pieces += [(emb, i, layers) for i in range(len(emb.offsets) - 1)]
        chosen = [pieces[r] for r in part.rows]
        lengths = np.array([emb.offsets[i + 1] - emb.offsets[i] for emb, i, _ in chosen], dtype=np.int64)
        offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        if not chosen:
            raise ProtocolError(f"task {self.task.name!r}: no items in {part.role}")
        data = np.concatenate([np.asarray(emb.item(i)[:, layers], dtype=np.float32) for emb, i, layers in chosen])
        return data, offsets

    def require_frames(self) -> None:
        """Frame-level heads need an upstream with a frame axis (a finite positive hop)."""
        hop = getattr(self.upstream, "hop_ms", None)
        if getattr(self.upstream, "frames", True) is False or not (isinstance(hop, (int, float)) and 0 < hop < float("inf")):
            raise ProtocolError(f"task {self.task.name!r} ({self.task.family}) needs frame embeddings, but upstream "
                                f"{self.upstream_name!r} gives one embedding per clip (hop_ms={hop!r})")

    def _check_has_frames(self, split: str, emb: Embeddings) -> None:
        lengths = np.diff(emb.offsets)
        hop_s = float(self.upstream.hop_ms) / 1000.0
        durations = [duration_s(p) for p in self.manifests[split]["path"][:20]]
        if len(lengths) and (lengths == 1).all() and max(durations, default=0.0) > 3 * hop_s:
            raise ProtocolError(f"task {self.task.name!r} ({self.task.family}) needs frame embeddings, but upstream "
                                f"{self.upstream_name!r} returned a single frame for every clip of {split!r}")

    def manifest(self, splits: list[str]) -> pd.DataFrame:
        return pd.concat([self.manifests[s] for s in splits], ignore_index=True)

    def part(self, roles: dict[str, list[str]], role: str, seed: int = 0, stratify: str | None = None) -> Part:
        """The items of `role`; train is subsampled to `train_fraction` (stratified on
        `stratify` when given, keeping at least one item per class), a fresh draw per seed."""
        splits = roles[role]
        manifest = self.manifest(splits)
        rows = np.arange(len(manifest))
        if role == "train" and self.settings.train_fraction < 1.0:
            rows = subsample(manifest, self.settings.train_fraction, seed, stratify)
        self.sizes[role] = int(len(rows))
        return Part(role, list(splits), manifest.iloc[rows].reset_index(drop=True), rows)


def subsample(manifest: pd.DataFrame, fraction: float, seed: int, stratify: str | None) -> np.ndarray:
    """Sorted row indices of a `fraction` of `manifest` (label-efficiency curves)."""
    rng = np.random.default_rng([seed, 7919])
    n = len(manifest)
    if stratify is None or stratify not in manifest:
        return np.sort(rng.permutation(n)[: max(2, round(fraction * n))])
    keep: list[int] = []
    for _, group in manifest.groupby(manifest[stratify].astype(str), sort=True):
        index = group.index.to_numpy()
        keep += list(rng.permutation(index)[: max(1, round(fraction * len(index)))])
    return np.sort(np.array(keep, dtype=np.int64))


@dataclass(frozen=True)
class FamilyHead:
    """Runs the head the task's family names for `protocol` (`Family.heads`)."""

    protocol: str

    def function(self, task: TaskSpec) -> HeadFunction:
        return family_of(task.family).head(self.protocol).function

    def __call__(self, ctx: RunContext, roles: dict[str, list[str]], seed: int) -> tuple[dict[str, float], dict]:
        return family_of(ctx.task.family).head(self.protocol)(ctx, roles, seed)


@dataclass(frozen=True)
class Protocol:
    """A named way to score an upstream: `run(ctx, roles, seed) -> (metrics, chosen)`, where
    `roles` maps train, valid and test to the splits they use.

    The built-in protocols give neither `families` nor `run`: they apply to the families that
    name a head for them (`benchmark.family`) and run that head; a plugin may pass both.
    `trains` says whether it fits parameters (only then can it learn a weighting of layers
    or an attention pooling); `encodes`, that it runs the upstream itself (fine-tuning, a
    text tower), so its runs want the device; `main_metric(task)` overrides the task's main
    metric for protocols that score something else (query-by-example reports mAP).
    """

    name: str
    families: tuple[str, ...] = ()
    run: HeadFunction | None = None
    trains: bool = True
    main_metric: Callable[[TaskSpec], str] | None = None
    poolings: tuple[str, ...] = POOLINGS
    check_upstream: Callable[[torch.nn.Module], None] | None = None
    encodes: bool = False

    def __post_init__(self) -> None:
        if self.run is None:
            object.__setattr__(self, "run", FamilyHead(self.name))
            object.__setattr__(self, "families", self.families or families_with(self.name))

    def needs(self, task: TaskSpec, settings: RunSettings) -> tuple[tuple[str, str], ...]:
        """The cache entries, (split, pooling), that the runs of `task` read: every split of the
        roles the head reads (`reads`), as frames where the family's heads read frames or the
        pooling is learned over them, else pooled as `settings` say."""
        head = self.run.function(task) if isinstance(self.run, FamilyHead) else self.run
        roles = getattr(head, "reads", ROLES)
        pooling = "frames" if family_of(task.family).frames or settings.pooling == "attention" else settings.pooling
        splits = sorted({split for _, run in task.runs() for role in roles for split in run[role]})
        return tuple((split, pooling) for split in splits)

    def check(self, task: TaskSpec, layer: str | int = "last", pooling: str = "mean") -> None:
        """Refuse, before any work, what this protocol cannot do."""
        if task.family not in self.families:
            raise ProtocolError(f"protocol {self.name!r} does not apply to task {task.name!r} "
                                f"(family {task.family!r}); it handles: {', '.join(self.families)}")
        if layer == "weighted" and not self.trains:
            raise ProtocolError(f"--layer weighted needs a trained head; protocol {self.name!r} trains nothing: "
                                f"use --layer last or an index")
        if pooling not in self.poolings or (pooling == "attention" and not self.trains):
            raise ProtocolError(f"protocol {self.name!r} cannot use --pooling {pooling}; "
                                f"it takes: {', '.join(p for p in self.poolings if self.trains or p != 'attention')}")
        if pooling == "attention" and not family_of(task.family).pooled:
            pooled = ", ".join(name for name, family in FAMILIES.items() if family.pooled)
            raise ProtocolError(f"--pooling attention applies to clip tasks ({pooled}), "
                                f"not to {task.family!r} task {task.name!r}")

    def metric_of(self, task: TaskSpec) -> str:
        return self.main_metric(task) if self.main_metric else task.main_metric


PROTOCOLS: Registry[Protocol] = Registry("protocol", "earbench.protocols")
