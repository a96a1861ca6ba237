"""The embedding cache: float16, memory-mapped, written atomically, resumable.

An extraction writes one shard per batch into `<key>.partial/`; when every item is done the
shards are consolidated into memory-mappable `.npy` files and the directory is renamed to
`<key>/` in one step. A crash leaves the finished shards, and the next run does only the
rest; a complete entry means no encoder forward at all.
"""
from __future__ import annotations

import hashlib
import json
import shutil
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from benchmark.storage import atomic_path, home, publish_dir, save_npy, write_json

try:
    import fcntl
except ImportError:  # not POSIX: no cross-process locking
    fcntl = None  # type: ignore[assignment]

FP16_MAX = float(np.finfo(np.float16).max)


def cache_key(**parts: object) -> str:
    """sha256 of the JSON of everything the embeddings depend on."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def to_fp16(array: np.ndarray) -> np.ndarray:
    """Clip to float16's range first, so a large activation is saturated, not made inf."""
    return np.clip(array, -FP16_MAX, FP16_MAX).astype(np.float16)


@dataclass
class Embeddings:
    """Cached embeddings of one split, all requested layers.

    pooled: `data` is [N, L, D]. frames: `data` is [sum T, L, D] and item i owns rows
    `offsets[i]:offsets[i+1]`.
    """

    data: np.ndarray
    offsets: np.ndarray | None
    meta: dict

    @property
    def num_layers(self) -> int:
        return int(self.data.shape[1])

    def item(self, index: int) -> np.ndarray:
        if self.offsets is None:
            return self.data[index]
        return self.data[self.offsets[index]: self.offsets[index + 1]]


class EmbeddingCache:
    def __init__(self, root: Path | None = None) -> None:
        self.root = Path(root) if root else home() / "cache" / "embeddings"

    def path(self, key: str) -> Path:
        return self.root / key[:2] / key

    def load(self, key: str) -> Embeddings | None:
        final = self.path(key)
        meta_path = final / "meta.json"
        if not meta_path.is_file():
            return None
        meta = json.loads(meta_path.read_text())
        data = np.load(final / "data.npy", mmap_mode="r")
        offsets = np.load(final / "offsets.npy") if (final / "offsets.npy").exists() else None
        return Embeddings(data, offsets, meta)

    @contextmanager
    def locked(self, key: str) -> Iterator[None]:
        """Hold `<key>.lock` exclusively while extracting and publishing an entry.

        Workers sharing the cache (Ray, one process per GPU) may reach the same entry at
        once; without the lock they would write the same shard names and staging folder.
        A POSIX record lock (`lockf`, which NFS also honours) is released by the kernel when
        its holder dies, so a crashed worker leaves no stale lock: the next one takes over
        and resumes from the finished shards.
        """
        lock = self.root.with_name(self.root.name + ".locks") / f"{key}.lock"  # beside, not among, the entries
        lock.parent.mkdir(parents=True, exist_ok=True)
        with open(lock, "a+b") as handle:
            if fcntl is not None:
                fcntl.lockf(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                if fcntl is not None:
                    fcntl.lockf(handle, fcntl.LOCK_UN)

    def writer(self, key: str, num_items: int, meta: dict) -> "ShardWriter":
        return ShardWriter(self.path(key), num_items, meta)


class ShardWriter:
    """Collects per-batch shards in `<key>.partial/` and finalises them into `<key>/`."""

    def __init__(self, final: Path, num_items: int, meta: dict) -> None:
        self.final = final
        self.partial = final.with_name(final.name + ".partial")
        self.partial.mkdir(parents=True, exist_ok=True)
        self.num_items = num_items
        self.meta = meta
        self.next_shard = len(self.shards())

    def shards(self) -> list[Path]:
        return sorted(self.partial.glob("shard-*.npz"))

    def done_items(self) -> set[int]:
        done: set[int] = set()
        for shard in self.shards():
            with np.load(shard) as z:
                done.update(int(i) for i in z["indices"])
        return done

    def write(self, indices: list[int], items: list[np.ndarray]) -> None:
        """One batch: `items[k]` is [L, D] (pooled) or [T, L, D] (frames) for `indices[k]`."""
        path = self.partial / f"shard-{self.next_shard:06d}.npz"
        lengths = np.array([len(x) if x.ndim == 3 else 0 for x in items], dtype=np.int64)
        stacked = np.concatenate(items) if items[0].ndim == 3 else np.stack(items)
        with atomic_path(path) as tmp, open(tmp, "wb") as f:
            np.savez(f, indices=np.asarray(indices, dtype=np.int64), lengths=lengths, data=to_fp16(stacked))
        self.next_shard += 1

    def finish(self) -> None:
        """Consolidate shards in item order into data.npy (+ offsets.npy) and publish."""
        pieces: dict[int, np.ndarray] = {}
        for shard in self.shards():
            with np.load(shard) as z:
                data, lengths = z["data"], z["lengths"]
                if lengths.any():
                    bounds = np.concatenate([[0], np.cumsum(lengths)])
                    for k, index in enumerate(z["indices"]):
                        pieces[int(index)] = data[bounds[k]: bounds[k + 1]]
                else:
                    for k, index in enumerate(z["indices"]):
                        pieces[int(index)] = data[k]
        missing = sorted(set(range(self.num_items)) - set(pieces))
        if missing:
            raise RuntimeError(f"cache {self.partial}: items {missing[:5]} were never written")
        ordered = [pieces[i] for i in range(self.num_items)]
        staging = self.final.with_name(self.final.name + ".staging")
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        if ordered[0].ndim == 3:
            offsets = np.concatenate([[0], np.cumsum([len(x) for x in ordered])]).astype(np.int64)
            save_npy(staging / "offsets.npy", offsets)
            save_npy(staging / "data.npy", np.concatenate(ordered))
        else:
            save_npy(staging / "data.npy", np.stack(ordered))
        write_json(staging / "meta.json", self.meta)
        publish_dir(staging, self.final)
        shutil.rmtree(self.partial, ignore_errors=True)
