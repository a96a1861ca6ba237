"""What every protocol shares: the run context (upstream, task, cached features) and its shape."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pandas as pd
import torch

from benchmark.cache import EmbeddingCache, Embeddings
from benchmark.errors import ProtocolError
from benchmark.extract import ExtractStats, extract
from benchmark.registry import Registry
from benchmark.task import TaskSpec


@dataclass
class RunContext:
    """One (upstream, task) pairing; embeddings are extracted once and shared by all runs."""

    upstream: torch.nn.Module
    task: TaskSpec
    manifests: dict[str, pd.DataFrame]
    layer: str | int = "last"
    pooling: str = "mean"
    cache: EmbeddingCache = field(default_factory=EmbeddingCache)
    workers: int = 0
    batch_seconds: float = 160.0
    progress: bool = True
    stats: ExtractStats = field(default_factory=ExtractStats)
    _embeddings: dict = field(default_factory=dict)

    def embeddings(self, split: str, pooling: str | None = None) -> Embeddings:
        pooling = pooling or self.pooling
        if (split, pooling) not in self._embeddings:
            self._embeddings[split, pooling] = extract(
                self.upstream, list(self.manifests[split]["path"]), task=self.task.name,
                task_version=self.task.version, split=split, pooling=pooling, cache=self.cache,
                batch_seconds=self.batch_seconds, workers=self.workers, progress=self.progress, stats=self.stats)
        return self._embeddings[split, pooling]

    def clips_per_s(self) -> float | None:
        """Extraction throughput, as measured when the cache entries were computed."""
        items = sum(e.meta.get("num_items", 0) - e.meta.get("resumed_items", 0) for e in self._embeddings.values())
        seconds = sum(e.meta.get("embed_s", 0.0) for e in self._embeddings.values())
        return round(items / seconds, 2) if seconds else None

    def layer_index(self, num_layers: int) -> int:
        """`last`, or an index into the hidden states (0 = first), checked against the model."""
        if self.layer == "last":
            return num_layers - 1
        try:
            index = int(self.layer)
        except ValueError:
            raise ProtocolError(f"--layer must be 'last' or an integer, got {self.layer!r}") from None
        if not -num_layers <= index < num_layers:
            raise ProtocolError(f"layer {index} is out of range: upstream "
                                f"{getattr(self.upstream, 'earbench_name', '?')!r} has {num_layers} layers (0..{num_layers - 1})")
        return index % num_layers

    def clip_features(self, splits: list[str]) -> np.ndarray:
        """Pooled features of the chosen layer for the concatenation of `splits`, float32."""
        arrays = []
        for split in splits:
            emb = self.embeddings(split)
            arrays.append(np.asarray(emb.data[:, self.layer_index(emb.num_layers)], dtype=np.float32))
        return np.concatenate(arrays)

    def manifest(self, splits: list[str]) -> pd.DataFrame:
        return pd.concat([self.manifests[s] for s in splits], ignore_index=True)


@dataclass(frozen=True)
class Protocol:
    """A named way to score an upstream: `run(ctx, plan, seed) -> (metrics, chosen)`."""

    name: str
    families: tuple[str, ...]
    run: Callable[[RunContext, dict[str, list[str]], int], tuple[dict[str, float], dict]]

    def check(self, task: TaskSpec) -> None:
        if task.family not in self.families:
            raise ProtocolError(f"protocol {self.name!r} does not apply to task {task.name!r} "
                                f"(family {task.family!r}); it handles: {', '.join(self.families)}")


PROTOCOLS: Registry[Protocol] = Registry("protocol", "earbench.protocols")
