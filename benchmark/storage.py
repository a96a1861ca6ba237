"""Where earbench keeps things, and how it writes them: atomically and durably, so a crash loses nothing.

A file is written under a hidden temporary name beside its destination, flushed to disk and
renamed over the old one (`atomic_path`, `write_text`, `write_json`, `save_npy`). A directory
is filled under a hidden temporary name, everything in it flushed, and then put in place of
the old one whole (`atomic_dir`, or `staging_dir` + `publish_dir` when it is published later).
A reader finds the old version or the new one, never half of either; after a crash, what was
published is complete on disk and what was not leaves the old version as it was.
"""
from __future__ import annotations

import glob
import json
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import numpy as np

try:
    import fcntl
except ImportError:  # not POSIX: no cross-process locking
    fcntl = None  # type: ignore[assignment]


def home() -> Path:
    """`$EARBENCH_HOME`, default `~/.cache/earbench`: built data and embedding caches."""
    return Path(os.environ.get("EARBENCH_HOME", Path.home() / ".cache" / "earbench")).expanduser()


def _process_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


#: temporary files and folders are created private; what is published gets the usual permissions
_UMASK = _process_umask()


def _fsync(path: str | Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary sibling of `path` to write; it replaces `path` only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~_UMASK)
        _fsync(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync(path.parent)


def write_text(path: Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_bytes(path: Path, data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_json(path: Path, data: Any) -> None:
    write_text(path, json.dumps(data, indent=2, sort_keys=False, default=str) + "\n")


def save_npy(path: Path, array: np.ndarray) -> None:
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            np.save(f, array)


def staging_dir(path: Path) -> Path:
    """A new, empty, hidden sibling of `path` to fill and then hand to `publish_dir`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent))


def publish_dir(staged: Path, path: Path) -> None:
    """Flush the finished directory `staged` to disk and put it in place of `path` (a directory,
    file or link, replaced whole). Links inside `staged` are kept as links, never followed."""
    staged, path = Path(staged), Path(path)
    os.chmod(staged, 0o777 & ~_UMASK)
    for folder, _, files in os.walk(staged, topdown=False):
        for name in files:
            if not os.path.islink(os.path.join(folder, name)):
                _fsync(os.path.join(folder, name))
        _fsync(folder)
    if not os.path.lexists(path):
        os.replace(staged, path)
        _fsync(path.parent)
        return
    # rename(2) cannot replace a non-empty directory: move the old one aside first, then drop it
    aside = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".old", dir=path.parent))
    os.replace(path, aside / path.name)
    try:
        os.replace(staged, path)
    except BaseException:
        os.replace(aside / path.name, path)
        aside.rmdir()
        raise
    _fsync(path.parent)
    shutil.rmtree(aside)


@contextmanager
def atomic_dir(path: Path) -> Iterator[Path]:
    """Yield an empty temporary sibling of `path` to fill; it replaces `path` whole only if the
    block succeeds, and is removed otherwise."""
    staged = staging_dir(path)
    try:
        yield staged
        publish_dir(staged, path)
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)
        raise


@contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on `path` (created if need be) until the block ends; wait for it
    if another process holds it.

    A POSIX record lock (`lockf`, which NFS also honours) is released by the kernel when its
    holder dies, so a killed process never leaves a stale lock: the next one takes it over.
    Locks are per process, so this excludes other processes, not threads. The lock file is
    left in place (removing it would let a waiter and a newcomer lock different files).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+b") as handle:
        if fcntl is not None:
            fcntl.lockf(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            if fcntl is not None:
                fcntl.lockf(handle, fcntl.LOCK_UN)


def writable_dir(path: Path) -> str | None:
    """None if files can be created in the folder `path` (made if missing), else why not."""
    path = Path(path)
    if os.path.lexists(path) and not path.is_dir():
        return "it is a file, not a folder"
    try:
        path.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".write-test.", suffix=".tmp", dir=path)
        os.close(fd)
        os.unlink(probe)
    except OSError as err:
        return err.strerror or type(err).__name__
    return None


def set_aside(path: Path) -> Path:
    """Rename `path` (a file or folder that cannot be read) to the first free `NAME.bad-N` beside
    it, in one step, and return the new name: kept for a look, out of the way of what replaces it."""
    path = Path(path)
    for n in range(1, 10_000):
        aside = path.with_name(f"{path.name}.bad-{n}")
        if os.path.lexists(aside):
            continue
        try:
            if path.is_dir() and not path.is_symlink():
                os.rename(path, aside)  # a folder is never renamed over an existing one with content
            else:
                os.link(path, aside, follow_symlinks=False)  # fails if `aside` appeared meanwhile
                os.unlink(path)
        except FileExistsError:
            continue
        except PermissionError:  # a file system without hard links
            os.rename(path, aside)
        _fsync(path.parent)
        return aside
    raise OSError(f"{path}: no free name to set it aside")


#: the hidden siblings that writing `path` makes: a temporary file, a staging folder, an old
#: version moved aside, a bad one being removed (each `.NAME.<random><suffix>`)
STAGING_SUFFIXES = (".tmp", ".partial", ".old", ".bad")


def remove_staging(path: Path) -> list[Path]:
    """Remove what a writer of `path` killed mid-write left beside it; only for the holder of
    `path`'s lock, for whom no other writer is alive. Returns what was removed."""
    path = Path(path)
    if not path.parent.is_dir():
        return []
    removed = []
    for left in path.parent.glob(f"{glob.escape('.' + path.name)}.*"):
        if left.name.endswith(STAGING_SUFFIXES):
            shutil.rmtree(left, ignore_errors=True) if left.is_dir() and not left.is_symlink() else \
                left.unlink(missing_ok=True)
            removed.append(left)
    return removed
