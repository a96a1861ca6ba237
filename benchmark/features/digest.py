"""Content digests of audio files, memoised by (path, size, mtime) like git's index, and of
a task's data as a whole.

The embedding cache is keyed on audio *content*, yet a warm run must not re-read every
file: each file is hashed once and its digest reused while its stat is unchanged. A
result record is keyed on its task's content (`task_digest`: manifests and audio), from
the same memo, so that changed data never reuse a record made on other data.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Mapping, Sequence

import pandas as pd

from benchmark.storage import home, write_json

CHUNK = 1 << 20


def file_digest(path: str) -> str:
    digest = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


class DigestIndex:
    """A JSON memo of file digests under `$EARBENCH_HOME/cache/file-digests.json`."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or home() / "cache" / "file-digests.json"
        try:
            self.entries: dict[str, list] = json.loads(self.path.read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            self.entries = {}
        self.dirty = False

    def digest(self, path: str) -> str:
        stat = os.stat(path)
        stamp = [stat.st_size, stat.st_mtime_ns]
        entry = self.entries.get(path)
        if entry is None or entry[:2] != stamp:
            entry = [*stamp, file_digest(path)]
            self.entries[path] = entry
            self.dirty = True
        return entry[2]

    def save(self) -> None:
        if self.dirty:
            write_json(self.path, self.entries)
            self.dirty = False


def content_digest(paths: Sequence[str], index: DigestIndex | None = None) -> str:
    """One digest for an ordered list of files: their contents, in this order."""
    index = index or DigestIndex()
    total = hashlib.blake2b(digest_size=16)
    for path in paths:
        total.update(index.digest(path).encode())
    index.save()
    return total.hexdigest()


def task_digest(manifests: Mapping[str, pd.DataFrame], root: Path | None = None,
                index: DigestIndex | None = None) -> str:
    """One digest of a task's data: every manifest (split, fold or trial list) row by row,
    all columns, with paths under `root` taken relative to it (so a task folder may move),
    and the content of the audio its `path` columns name (`content_digest`, the memo the
    embedding cache uses: no file is hashed twice)."""
    index = index or DigestIndex()
    prefix = str(root).rstrip(os.sep) + os.sep if root is not None else None
    total = hashlib.blake2b(digest_size=16)
    for name in sorted(manifests):
        frame = manifests[name]
        rows = frame.copy()
        if prefix:
            for column in rows.columns:
                if not pd.api.types.is_numeric_dtype(rows[column]):
                    rows[column] = [v[len(prefix):] if isinstance(v, str) and v.startswith(prefix) else v
                                    for v in rows[column]]
        table = rows.to_json(orient="split", index=False, double_precision=15, default_handler=str)
        audio = content_digest(list(frame["path"]), index) if "path" in frame.columns else ""
        total.update(json.dumps([name, table, audio]).encode())
    return f"blake2b:{total.hexdigest()}"
