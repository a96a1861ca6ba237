"""What a published cache entry holds, and how it is checked before anything reads it.

`meta.json` records, for each array file, its shape, dtype and a sha256 of its data taken
when it was written. Opening an entry always checks what costs nothing (the files parse,
their size, shape and dtype match the meta, the item count and offsets agree); the
checksums are verified on the first open of the entry in a process (one sequential read of
its files, remembered by inode, size and modification time), so a disk error, a partial
copy or an edited file is found before a probe reads it. Finiteness is checked when the
entry is written, so a verified checksum also means no NaN or infinity.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

#: the layout of `meta.json`; an entry written in another one is recomputed, never misread
FORMAT = 1
_BLOCK_BYTES = 64 << 20  # checksums read this much at a time
_verified: set[tuple] = set()  # (path, inode, size, mtime) of files whose checksum matched in this process


class BadEntry(Exception):
    """A cache entry that cannot be trusted: `file` is the culprit, `reason` what is wrong."""

    def __init__(self, file: Path, reason: str) -> None:
        super().__init__(f"{file}: {reason}")
        self.file, self.reason = file, reason


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


def sha256(array: np.ndarray) -> str:
    """sha256 of the array's bytes in C order, read in blocks (a memmap is never loaded whole)."""
    digest = hashlib.sha256()
    flat = array.reshape(-1) if array.flags.c_contiguous else np.ascontiguousarray(array).reshape(-1)
    step = max(1, _BLOCK_BYTES // max(1, flat.itemsize))
    for start in range(0, flat.size, step):
        digest.update(np.ascontiguousarray(flat[start: start + step]).view(np.uint8))
    return digest.hexdigest()


def describe(array: np.ndarray) -> dict:
    """What `meta.json` says about one array file."""
    return {"shape": list(array.shape), "dtype": str(array.dtype), "sha256": sha256(array)}


def _stamp(path: Path) -> tuple:
    st = os.stat(path)
    return str(path), st.st_ino, st.st_size, st.st_mtime_ns


def remember(folder: Path) -> None:
    """Mark the array files of a just-published entry as verified (their checksums were taken from memory)."""
    for path in Path(folder).glob("*.npy"):
        _verified.add(_stamp(path))


def _open_array(path: Path, expected: object) -> np.ndarray:
    if not isinstance(expected, dict):
        raise BadEntry(path.with_name("meta.json"), f"says nothing about {path.name}")
    try:
        array = np.load(path, mmap_mode="r", allow_pickle=False)
    except FileNotFoundError:
        raise BadEntry(path, "missing") from None
    except (ValueError, OSError, EOFError) as err:
        raise BadEntry(path, f"unreadable ({err or type(err).__name__})") from None
    if not isinstance(array, np.memmap):
        raise BadEntry(path, "not a .npy array")
    if list(array.shape) != expected.get("shape") or str(array.dtype) != expected.get("dtype"):
        raise BadEntry(path, f"holds {array.dtype}{list(array.shape)}; meta.json says "
                             f"{expected.get('dtype')}{expected.get('shape')}")
    size, wanted = os.path.getsize(path), array.offset + array.nbytes
    if size != wanted:
        raise BadEntry(path, f"is {size} bytes; its header and meta.json make {wanted}")
    stamp = _stamp(path)
    if stamp not in _verified:
        if sha256(array) != expected.get("sha256"):
            raise BadEntry(path, "checksum mismatch: its data changed after it was written")
        _verified.add(stamp)
    return array


def open_entry(folder: Path) -> Embeddings:
    """The embeddings of the published entry `folder`, checked; BadEntry names what is wrong."""
    meta_path = Path(folder) / "meta.json"
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise BadEntry(meta_path, f"unreadable ({err})") from None
    if not isinstance(meta, dict):
        raise BadEntry(meta_path, f"holds a JSON {type(meta).__name__}, not an object")
    if meta.get("format") != FORMAT:
        raise BadEntry(meta_path, f"cache format {meta.get('format')!r}, this earbench reads {FORMAT!r} "
                                  f"(written by another version)")
    files, num_items = meta.get("files"), meta.get("num_items")
    if not isinstance(files, dict) or not isinstance(num_items, int):
        raise BadEntry(meta_path, "lacks `files` or `num_items`")
    data = _open_array(Path(folder) / "data.npy", files.get("data.npy"))
    offsets = None
    if "offsets.npy" in files:
        offsets = np.array(_open_array(Path(folder) / "offsets.npy", files["offsets.npy"]))
        if (offsets.shape != (num_items + 1,) or offsets[0] != 0 or offsets[-1] != len(data)
                or (np.diff(offsets) < 0).any()):
            raise BadEntry(Path(folder) / "offsets.npy", f"does not split {len(data)} frames into {num_items} items")
    elif len(data) != num_items:
        raise BadEntry(Path(folder) / "data.npy", f"holds {len(data)} items; meta.json says {num_items}")
    if data.ndim != 3:
        raise BadEntry(Path(folder) / "data.npy", f"has {data.ndim} dimensions; expected [items, layers, width]")
    return Embeddings(data, offsets, meta)
