"""Content digests of audio files, memoised by (path, size, mtime) like git's index.

The embedding cache is keyed on audio *content*, yet a warm run must not re-read every
file: each file is hashed once and its digest reused while its stat is unchanged.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Sequence

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
