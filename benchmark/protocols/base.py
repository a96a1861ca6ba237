"""What every protocol shares: the run context (upstream, task, cached features) and its shape."""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any, Callable

import numpy as np
import pandas as pd
import torch

from benchmark.features.audio import duration_s
from benchmark.features.cache import EmbeddingCache, Embeddings
from benchmark.features.digest import task_digest
from benchmark.device import probe_device
from benchmark.errors import EarbenchError, ProtocolError
from benchmark.family import FAMILIES, families_with, family_of
from benchmark.features.extract import ExtractStats, embedding_key, extract
from benchmark.features.frame_budget import FrameEstimate, estimate_frames, free_space
from benchmark.protocols import PROTOCOLS
from benchmark.protocols.options import Option, check_options
from benchmark.scoring.items import ItemOutputs
from benchmark.settings import POOLINGS, RunSettings
from benchmark.task import TaskSpec
from benchmark.upstream import cls_frames, fingerprint
from benchmark.upstreams.hear import SceneEmbeddings


#: the roles whose cached embeddings a head reads, unless it declares others with `reads`
ROLES = ("train", "valid", "test")
#: what a head returns: (metrics, chosen on valid, per-item test outputs or None), the
#: outputs going to the record's sidecar (`benchmark.scoring.items`); a plugin's head may
#: return (metrics, chosen) alone, and its records then hold no per-item outputs
HeadResult = tuple[dict[str, float], dict, ItemOutputs | None]
HeadFunction = Callable[["RunContext", dict[str, list[str]], int], HeadResult]


def reads(*roles: str) -> Callable[[HeadFunction], HeadFunction]:
    """Declare the roles whose cached embeddings a head reads (none: it runs the upstream
    itself); `Protocol.needs` reports them to the planner."""
    def declare(head: HeadFunction) -> HeadFunction:
        head.reads = roles  # type: ignore[attr-defined]
        return head
    return declare


def streams(head: HeadFunction) -> HeadFunction:
    """Declare that a head reads frames as padded sequences (`probing.sequence_inputs`), so it
    can take them streamed when their cache would exceed the budget (`Protocol.streams`)."""
    head.streams = True  # type: ignore[attr-defined]
    return head


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
    `cache` defaults to the one at `settings.cache_root`. A run that names no pooling gets
    this pairing's `default_pooling`, and `settings` say which (the records carry it).
    """

    upstream: torch.nn.Module
    task: TaskSpec
    manifests: dict[str, pd.DataFrame]
    settings: RunSettings = field(default_factory=RunSettings)
    cache: EmbeddingCache | None = None
    stats: ExtractStats = field(default_factory=ExtractStats)
    sizes: dict = field(default_factory=dict)  # items per role actually used by the current run
    _embeddings: dict = field(default_factory=dict)
    _scene: torch.nn.Module | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.cache is None:
            self.cache = EmbeddingCache(self.settings.cache_root)
        if self.task.audio_at is not None:  # the task's own audio at the upstream's rate, where it has it
            self.manifests = self.task.audio_at(self.manifests, int(self.upstream.sample_rate))
        if self.settings.pooling is None:
            pooling = default_pooling(self.upstream, self.task, self.settings.protocol)
            self.settings = replace(self.settings, pooling=pooling)
        if self.settings.pooling == "scene" and not hasattr(self.upstream, "scene_embeddings"):
            raise ProtocolError(f"--pooling scene needs an upstream with its own clip embedding (scene_embeddings: "
                                f"a HEAR module's get_scene_embeddings); upstream {self.upstream_name!r} has none: "
                                f"use mean, max or attention")
        if self.settings.frame_hop is not None:
            if not self.frame_splits():
                raise ProtocolError(f"--frame-hop applies to frame embeddings, but task {self.task.name!r} "
                                    f"({self.task.family}) under --protocol {self.settings.protocol} reads pooled "
                                    f"clip embeddings")
            self.frame_pool  # a hop that is no multiple of the upstream's is refused here, before any work
        if self.settings.pooling == "cls" and not getattr(self.upstream, "has_cls", False):
            raise ProtocolError(f"--pooling cls needs an upstream whose first frame is a CLS token (has_cls = True); "
                                f"upstream {self.upstream_name!r} does not declare one: use mean, max or attention")

    @cached_property
    def digest(self) -> str:
        """The task's data, digested (`task_digest`: manifests and audio): part of what
        makes a record this pairing's run, so a record made on other data is not reused."""
        return task_digest(self.manifests, self.task.root)

    @cached_property
    def frame_pool(self) -> int:
        """How many of the upstream's frames are averaged into one (`--frame-hop`; 1: none)."""
        hop = self.settings.frame_hop
        if hop is None:
            return 1
        own = float(self.upstream.hop_ms)
        factor = round(hop / own) if math.isfinite(own) and own > 0 else 0
        if factor < 1 or abs(hop - factor * own) > 1e-6 * hop:
            raise ProtocolError(f"--frame-hop {hop:g}: upstream {self.upstream_name!r} has {own:g} ms frames; "
                                f"the hop must be a whole multiple of them")
        return factor

    @property
    def hop_ms(self) -> float:
        """The hop of the frames the heads read: the upstream's, times `frame_pool`."""
        return float(self.upstream.hop_ms) * self.frame_pool

    @property
    def upstream_name(self) -> str:
        return getattr(self.upstream, "earbench_name", type(self.upstream).__name__)

    @property
    def weighted(self) -> bool:
        return self.settings.weighted

    @property
    def probe_device(self) -> torch.device:
        """Where this run's heads train (`--device`; default the GPU when one is visible)."""
        return probe_device(self.settings.device)

    def option(self, key: str, default: Any) -> Any:
        """A protocol option (`-o key=value`), converted to the type of its default."""
        value = self.settings.options.get(key, default)
        if value is default or default is None or isinstance(value, type(default)):
            return value
        try:
            return type(default)(value)
        except (TypeError, ValueError):
            raise ProtocolError(f"option {key}={value!r}: expected a {type(default).__name__}") from None

    def source(self, pooling: str) -> tuple[torch.nn.Module, str]:
        """What extracts `pooling`'s embeddings, and how it pools: `scene` is the mean of the
        upstream's scene view (`SceneEmbeddings`: one frame per clip, the module's own scene
        embedding, cached under its own fingerprint); every other pooling, the upstream's."""
        if pooling != "scene":
            return self.upstream, pooling
        if self._scene is None:
            self._scene = SceneEmbeddings(self.upstream)
            self._scene.earbench_fingerprint = fingerprint(self._scene)
        return self._scene, "mean"

    def is_cached(self, split: str, pooling: str) -> bool:
        """Whether the cache holds `split`'s embeddings under `pooling` (the planner skips warm extractions)."""
        return self.cache.load(self._key(split, pooling, self.kept_layers(split, pooling))) is not None

    def _key(self, split: str, pooling: str, layers: str | int) -> str:
        upstream, pooled = self.source(pooling)
        if getattr(upstream, "earbench_fingerprint", None) is None:
            upstream.earbench_fingerprint = fingerprint(upstream)  # as extract() sets it
        return embedding_key(upstream.earbench_fingerprint, self.task.name, self.task.version, split, pooled,
                             list(self.manifests[split]["path"]), layers, self.frame_pool)

    def kept_layers(self, split: str, pooling: str) -> str | int:
        """The hidden states `pooling`'s cache entry keeps: frames (the big entries) only the
        run's layer, unless the run weighs every layer, `frame_layers="all"` asks for all, or an
        entry of all is already there; pooled entries (small) always every layer."""
        if pooling != "frames" or self.weighted or self.settings.frame_layers == "all":
            return "all"
        return "all" if self.cache.has(self._key(split, pooling, "all")) else self.settings.layer

    def frame_splits(self) -> list[str]:
        """The splits whose frames this pairing's runs read (none for pooled features)."""
        needs = PROTOCOLS.get(self.settings.protocol).needs(self.task, self.settings)
        return [split for split, pooling in needs if pooling == "frames"]

    @cached_property
    def frame_estimate(self) -> FrameEstimate | None:
        """The size of this pairing's frame entries if they are still to be made (None when it
        reads no frames or they are cached): one probe forward and the audio's headers."""
        splits = self.frame_splits()
        if not splits or all(self.is_cached(split, "frames") for split in splits):
            return None
        self.require_frames()
        paths = [p for split in splits for p in self.manifests[split]["path"]]
        return estimate_frames(self.upstream, paths, self.kept_layers(splits[0], "frames"), self.frame_pool)

    @property
    def cache_budget(self) -> int:
        """`--cache-budget`, or the free space of the cache's disk."""
        return self.settings.cache_budget or free_space(self.cache.root)

    @cached_property
    def streams_frames(self) -> bool:
        """Whether this pairing's frames are encoded per batch instead of cached: their
        entries, still to be made, would take more than the cache budget."""
        estimate = self.frame_estimate
        return estimate is not None and estimate.bytes > self.cache_budget

    def embeddings(self, split: str, pooling: str | None = None) -> Embeddings:
        pooling = pooling or self.settings.pooling
        if pooling == "frames":
            self.require_frames()
            if self.streams_frames:
                raise ProtocolError(f"task {self.task.name!r} with {self.upstream_name!r}: frames are streamed "
                                    f"(over the cache budget), but this head reads cached frames")
        if (split, pooling) not in self._embeddings:
            upstream, pooled = self.source(pooling)
            self._embeddings[split, pooling] = extract(
                upstream, list(self.manifests[split]["path"]), task=self.task.name,
                task_version=self.task.version, split=split, pooling=pooled, cache=self.cache,
                batch_seconds=self.settings.batch_seconds, workers=self.settings.workers,
                progress=self.settings.progress, stats=self.stats, layers=self.kept_layers(split, pooling),
                frame_pool=self.frame_pool)
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

    def _layers(self, emb: Embeddings) -> int | slice:
        """Where the run's layer(s) are in `emb`: an entry of one layer holds only it."""
        if emb.meta.get("layers", "all") != "all":
            return 0
        return slice(None) if self.weighted else self.layer_index(emb.num_layers)

    def clip_features(self, splits: list[str], pooling: str | None = None) -> np.ndarray:
        """Pooled features for the concatenation of `splits`, float32: [N, D] for one layer,
        [N, L, D] with --layer weighted."""
        pooling = pooling or self.settings.pooling
        if pooling == "attention":
            raise ProtocolError("attention pooling is learned: this protocol needs fixed pooled features "
                                "(--pooling mean, max, cls or scene)")
        arrays = []
        for split in splits:
            emb = self.embeddings(split, pooling)
            arrays.append(np.asarray(emb.data[:, self._layers(emb)], dtype=np.float32))
        return np.concatenate(arrays)

    def clip(self, part: Part, pooling: str | None = None) -> np.ndarray:
        """Pooled features of the items of `part`."""
        return self.clip_features(part.splits, pooling)[part.rows]

    def frames(self, part: Part) -> tuple[np.ndarray, np.ndarray]:
        """Frame features of the items of `part`: (data [sum T, D] or [sum T, L, D], offsets [n+1]).
        These are the audio's timeline: an upstream's leading CLS frame(s) (`has_cls`) are left
        out, so that frame k starts at k hops."""
        skip = cls_frames(self.upstream)
        pieces = []
        for split in part.splits:
            emb = self.embeddings(split, "frames")
            layers = self._layers(emb)
            pieces += [(emb, i, layers) for i in range(len(emb.offsets) - 1)]
        chosen = [pieces[r] for r in part.rows]
        lengths = np.array([emb.offsets[i + 1] - emb.offsets[i] - skip for emb, i, _ in chosen], dtype=np.int64)
        offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        if not chosen:
            raise ProtocolError(f"task {self.task.name!r}: no items in {part.role}")
        data = np.concatenate([np.asarray(emb.item(i)[skip:, layers], dtype=np.float32)
                               for emb, i, layers in chosen])
        return data, offsets

    def require_frames(self) -> None:
        """Frame-level heads need an upstream with a frame axis (a finite positive hop)."""
        hop = getattr(self.upstream, "hop_ms", None)
        if getattr(self.upstream, "frames", True) is False or not (isinstance(hop, (int, float)) and 0 < hop < float("inf")):
            raise ProtocolError(f"task {self.task.name!r} ({self.task.family}) needs frame embeddings, but upstream "
                                f"{self.upstream_name!r} gives one embedding per clip (hop_ms={hop!r})")

    def _check_has_frames(self, split: str, emb: Embeddings) -> None:
        lengths = np.diff(emb.offsets)
        hop_s = self.hop_ms / 1000.0
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


def default_pooling(upstream: torch.nn.Module, task: TaskSpec, protocol: str) -> str:
    """The pooling of a run that names none: on clip tasks, the upstream's own clip embedding
    where it has one and the protocol takes it (`scene`: a HEAR module's get_scene_embeddings,
    what the HEAR kit gives scene tasks, while timestamp tasks read its frames); else the
    mean of the frames."""
    own = hasattr(upstream, "scene_embeddings") and not family_of(task.family).frames
    return "scene" if own and "scene" in PROTOCOLS.get(protocol).poolings else "mean"


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

    def __call__(self, ctx: RunContext, roles: dict[str, list[str]], seed: int) -> HeadResult:
        return family_of(ctx.task.family).head(self.protocol)(ctx, roles, seed)


@dataclass(frozen=True)
class Protocol:
    """A named way to score an upstream: `run(ctx, roles, seed) -> (metrics, chosen, items)`
    (`HeadResult`), where `roles` maps train, valid and test to the splits they use.

    The built-in protocols give neither `families` nor `run`: they apply to the families that
    name a head for them (`benchmark.family`) and run that head; a plugin may pass both.
    `trains` says whether it fits parameters (only then can it learn a weighting of layers
    or an attention pooling); `encodes`, that it runs the upstream itself (fine-tuning, a
    text tower), so its runs want the device; `main_metric(task)` overrides the task's main
    metric for protocols that score something else (query-by-example reports mAP).
    `options` are the `-o KEY=VALUE` it takes (`benchmark.protocols.options`), checked by
    `check_options` before any work.
    """

    name: str
    families: tuple[str, ...] = ()
    run: HeadFunction | None = None
    trains: bool = True
    main_metric: Callable[[TaskSpec], str] | None = None
    poolings: tuple[str, ...] = POOLINGS
    check_upstream: Callable[[torch.nn.Module], None] | None = None
    encodes: bool = False
    options: tuple[Option, ...] = ()

    def __post_init__(self) -> None:
        if self.run is None:
            object.__setattr__(self, "run", FamilyHead(self.name))
            object.__setattr__(self, "families", self.families or families_with(self.name))

    def streams(self, task: TaskSpec) -> bool:
        """Whether the head run on `task` can take its frames streamed (`streams`)."""
        return bool(getattr(self._head(task), "streams", False))

    def _head(self, task: TaskSpec) -> Any:
        return self.run.function(task) if isinstance(self.run, FamilyHead) else self.run

    def needs(self, task: TaskSpec, settings: RunSettings) -> tuple[tuple[str, str], ...]:
        """The cache entries, (split, pooling), that the runs of `task` read: every split of the
        roles the head reads (`reads`), as frames where the family's heads read frames or the
        pooling is learned over them, else pooled as `settings` (a pairing's: `RunContext.settings`) say."""
        roles = getattr(self._head(task), "reads", ROLES)
        pooling = "frames" if family_of(task.family).frames or settings.pooling == "attention" else settings.pooling
        splits = sorted({split for _, run in task.runs() for role in roles for split in run[role]})
        return tuple((split, pooling) for split in splits)

    def check_options(self, options: dict[str, Any]) -> None:
        """Refuse an option this protocol does not declare (did you mean ...?) or a value out of
        its range, before any work; an unknown one is looked up among the other protocols' too."""
        check_options(self.name, self.options, options, declared_options)

    def check(self, task: TaskSpec, layer: str | int = "last", pooling: str | None = "mean") -> None:
        """Refuse, before any work, what this protocol cannot do (pooling None: each pairing's default)."""
        if task.family not in self.families:
            raise ProtocolError(f"protocol {self.name!r} does not apply to task {task.name!r} "
                                f"(family {task.family!r}); it handles: {', '.join(self.families)}")
        if layer == "weighted" and not self.trains:
            raise ProtocolError(f"--layer weighted needs a trained head; protocol {self.name!r} trains nothing: "
                                f"use --layer last or an index")
        if pooling is None:
            return
        if pooling not in self.poolings or (pooling == "attention" and not self.trains):
            raise ProtocolError(f"protocol {self.name!r} cannot use --pooling {pooling}; "
                                f"it takes: {', '.join(p for p in self.poolings if self.trains or p != 'attention')}")
        if pooling == "attention" and not family_of(task.family).pooled:
            pooled = ", ".join(name for name, family in FAMILIES.items() if family.pooled)
            raise ProtocolError(f"--pooling attention applies to clip tasks ({pooled}), "
                                f"not to {task.family!r} task {task.name!r}")
        if pooling == "scene" and family_of(task.family).frames:
            raise ProtocolError(f"--pooling scene applies to clip tasks; {task.family!r} task {task.name!r} reads "
                                f"frames (a HEAR module's timestamp embeddings)")

    def metric_of(self, task: TaskSpec) -> str:
        return self.main_metric(task) if self.main_metric else task.main_metric


def declared_options() -> dict[str, tuple[Option, ...]]:
    """Every registered protocol's options (to say which protocol an unknown option is one of)."""
    tables = {}
    for name in PROTOCOLS.names():
        try:
            tables[name] = PROTOCOLS.get(name).options
        except EarbenchError:  # a plugin that fails to load declares nothing
            continue
    return tables
