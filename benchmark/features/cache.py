"""The embedding cache: float16 (float32 where values exceed float16), memory-mapped,
written atomically, resumable, verified on read.

An extraction writes one shard per batch into `<key>.partial/`; when every item is done the
shards are consolidated into memory-mappable `.npy` files and the directory is renamed to
`<key>/` in one step. A crash leaves the finished shards, and the next run does only the
rest; a complete entry means no encoder forward at all. An entry that fails its checks
(`entry.py`) is reported in one line, moved aside (`NAME.bad-N`) and recomputed, never read.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import numpy as np

from benchmark.features.entry import FORMAT, BadEntry, Embeddings, describe, open_entry, remember
from benchmark.storage import atomic_dir, atomic_path, file_lock, home, remove_staging, set_aside

__all__ = ["BadEntry", "EmbeddingCache", "Embeddings", "ShardWriter", "cache_key", "storable"]

_SHARD = re.compile(r"shard-(\d+)\.npz")  # finished shards; their temporaries are hidden `.shard-*.tmp`
_reported: set[str] = set()  # warnings already printed by this process


def warn(message: str) -> None:
    """One line on stderr, once per process: the run goes on."""
    if message not in _reported:
        _reported.add(message)
        print(f"warning: {message}", file=sys.stderr, flush=True)


def cache_key(**parts: object) -> str:
    """sha256 of the JSON of everything the embeddings depend on."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def storable(item: np.ndarray) -> np.ndarray:
    """`item` as the cache stores it: float16, or float32 when a value exceeds float16's range
    (clipping it, or making it inf, would silently change the results)."""
    with np.errstate(over="ignore"):
        half = item.astype(np.float16)
    return half if np.isfinite(half).all() else item.astype(np.float32)


def widest(arrays: list[np.ndarray]) -> type:
    return np.float32 if any(a.dtype != np.float16 for a in arrays) else np.float16


class EmbeddingCache:
    def __init__(self, root: Path | None = None) -> None:
        self.root = Path(root) if root else home() / "cache" / "embeddings"
        self._held: set[str] = set()  # keys whose lock this process holds

    def path(self, key: str) -> Path:
        return self.root / key[:2] / key

    def has(self, key: str) -> bool:
        """Whether an entry is published under `key` (without reading it: `load` verifies)."""
        return os.path.lexists(self.path(key))

    def load(self, key: str) -> Embeddings | None:
        """The entry's embeddings, or None when it is absent or bad. A bad one is reported
        (once, naming the file) and, when this process holds the key's lock, removed so that
        it is recomputed."""
        final = self.path(key)
        if not os.path.lexists(final):
            return None
        try:
            return open_entry(final)
        except BadEntry as bad:
            # said once (warn repeats no line); the extraction holding the entry's lock moves it aside
            warn(f"cache entry {bad.file}: {bad.reason}; moved aside ({self.path(key).name}.bad-N) and recomputed")
            if key in self._held:
                self.set_aside(key)
            return None

    def set_aside(self, key: str) -> Path:
        """Rename a bad published entry to `NAME.bad-N` beside it (kept for a look; never read again)."""
        return set_aside(self.path(key))

    @contextmanager
    def locked(self, key: str) -> Iterator[None]:
        """Hold `<key>.lock` exclusively while extracting and publishing an entry.

        Workers sharing the cache (Ray, one process per GPU) may reach the same entry at
        once; without the lock they would write the same shard names and staging folder.
        The lock is `storage.file_lock`: its holder's death releases it, so a crashed
        worker leaves no stale lock and the next one resumes from the finished shards.
        """
        lock = self.root.with_name(self.root.name + ".locks") / f"{key}.lock"  # beside, not among, the entries
        with file_lock(lock):
            remove_staging(self.path(key))  # a publish killed midway: its hidden folder
            self._held.add(key)
            try:
                yield
            finally:
                self._held.discard(key)

    def writer(self, key: str, num_items: int, meta: dict) -> "ShardWriter":
        return ShardWriter(self.path(key), num_items, meta)


class ShardWriter:
    """Collects per-batch shards in `<key>.partial/` and finalises them into `<key>/`.

    The caller holds the key's lock, so nothing else writes here: temporaries left by a
    killed writer are removed, and a finished shard that cannot be read is reported,
    removed and its items recomputed.
    """

    def __init__(self, final: Path, num_items: int, meta: dict) -> None:
        self.final = final
        self.partial = final.with_name(final.name + ".partial")
        self.partial.mkdir(parents=True, exist_ok=True)
        for leftover in self.partial.glob(".*.tmp"):  # a write killed before its rename
            leftover.unlink(missing_ok=True)
        self.num_items = num_items
        self.meta = meta
        self.widened = False  # an item needed float32 (reported once)
        self.next_shard = 1 + max((int(_SHARD.fullmatch(p.name)[1]) for p in self.shards()), default=-1)

    def shards(self) -> list[Path]:
        return sorted(p for p in self.partial.glob("shard-*.npz") if _SHARD.fullmatch(p.name))

    def read(self, shard: Path) -> dict[int, np.ndarray] | None:
        """Item index -> its stored array, or None (reported, shard removed) if the shard is bad."""
        try:
            with np.load(shard, allow_pickle=False) as z:
                indices, lengths, data = z["indices"], z["lengths"], z["data"]  # reading checks zip CRCs
            if lengths.any():
                bounds = np.concatenate([[0], np.cumsum(lengths)])
                if len(lengths) != len(indices) or bounds[-1] != len(data) or (lengths < 0).any():
                    raise ValueError("lengths do not match its data")
                pieces = {int(i): data[bounds[k]: bounds[k + 1]] for k, i in enumerate(indices)}
            elif len(data) != len(indices):
                raise ValueError("item count does not match its data")
            else:
                pieces = {int(i): data[k] for k, i in enumerate(indices)}
            if any(not 0 <= i < self.num_items for i in pieces):
                raise ValueError(f"item index out of 0..{self.num_items - 1}")
        except Exception as err:  # noqa: BLE001 - zipfile, numpy and KeyError all mean the same: unreadable
            warn(f"cache shard {shard}: unreadable ({type(err).__name__}: {err}); its items are recomputed")
            shard.unlink(missing_ok=True)
            return None
        return pieces

    def done_items(self) -> set[int]:
        done: set[int] = set()
        for shard in self.shards():
            done.update(self.read(shard) or ())
        return done

    def write(self, indices: list[int], items: list[np.ndarray]) -> None:
        """One batch: `items[k]` is [L, D] (pooled) or [T, L, D] (frames) for `indices[k]`.

        Each item is stored as float16 unless a value exceeds float16's range; then it is
        kept as float32, the finished entry becomes float32, and a line names the layer."""
        path = self.partial / f"shard-{self.next_shard:06d}.npz"
        lengths = np.array([len(x) if x.ndim == 3 else 0 for x in items], dtype=np.int64)
        stored = [storable(x) for x in items]
        wide = next((k for k, x in enumerate(stored) if x.dtype != np.float16), None)
        if wide is not None and not self.widened:
            self.widened = True
            magnitude = np.abs(items[wide]).reshape(-1, *items[wide].shape[-2:]).max(axis=(0, 2))  # per layer
            layers = [k for k, m in enumerate(magnitude) if m > np.finfo(np.float16).max]
            warn(f"upstream {self.meta.get('upstream')!r} layer(s) {layers}: values up to {magnitude.max():.4g} "
                 f"exceed float16's range (item {indices[wide]} of {self.meta.get('task')}/{self.meta.get('split')}); "
                 f"this cache entry is stored as float32")
        dtype = widest(stored)
        stacked = (np.concatenate(stored) if items[0].ndim == 3 else np.stack(stored)).astype(dtype, copy=False)
        with atomic_path(path) as tmp, open(tmp, "wb") as f:  # the temporary is `.shard-N.npz.*.tmp`
            np.savez(f, indices=np.asarray(indices, dtype=np.int64), lengths=lengths, data=stacked)
        self.next_shard += 1

    def finish(self) -> None:
        """Consolidate shards in item order into data.npy (+ offsets.npy), describe them in
        meta.json, and publish."""
        pieces: dict[int, np.ndarray] = {}
        for shard in self.shards():
            pieces.update(self.read(shard) or {})
        missing = sorted(set(range(self.num_items)) - set(pieces))
        if missing:
            raise RuntimeError(f"cache {self.partial}: items {missing[:5]} were never written")
        ordered = [pieces[i] for i in range(self.num_items)]
        dtype = widest(ordered)  # float32 as soon as one item needed it
        arrays = {}
        if ordered[0].ndim == 3:
            arrays["offsets.npy"] = np.concatenate([[0], np.cumsum([len(x) for x in ordered])]).astype(np.int64)
            arrays["data.npy"] = np.concatenate(ordered).astype(dtype, copy=False)
        else:
            arrays["data.npy"] = np.stack(ordered).astype(dtype, copy=False)
        if not np.isfinite(arrays["data.npy"]).all():  # what the checksum will vouch for
            raise RuntimeError(f"cache {self.partial}: NaN or infinite values in the shards")
        meta = {**self.meta, "num_items": self.num_items, "format": FORMAT,
                "files": {name: describe(array) for name, array in arrays.items()}}
        with atomic_dir(self.final) as staging:  # hidden until published whole, which flushes it once
            for name, array in arrays.items():
                np.save(staging / name, array)
            (staging / "meta.json").write_text(json.dumps(meta, indent=2, default=str) + "\n")
        remember(self.final)
        shutil.rmtree(self.partial, ignore_errors=True)
