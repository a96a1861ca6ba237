"""Resumable, checksummed downloads and archive extraction for the datasets.

A `Resource` names one published file: its official URL and, where the distributor (or a
reference loader that pins it: torchaudio, TFDS, soundata, hearpreprocess) publishes one,
its md5 or sha256. Downloads go to `NAME.part` with HTTP range requests, so an
interrupted download resumes where it stopped; the file gets its final name only once
its checksum matches. Where no checksum is published, the sha256 computed on download is
recorded in `checksums.json` next to the files, so the copy you prepared from is pinned.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tarfile
import time
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from benchmark.errors import EarbenchError
from benchmark.storage import atomic_path, write_text

CHUNK = 1 << 20
CHECKSUMS_FILE = "checksums.json"
USER_AGENT = "earbench-datasets/0.1 (+https://github.com/earbench)"


class DownloadError(EarbenchError):
    """A download failed (offline, HTTP error, checksum mismatch) or needs a manual step."""


@dataclass(frozen=True)
class Resource:
    """One published file of a corpus."""

    url: str
    filename: str = ""
    md5: str | None = None
    sha256: str | None = None
    size: int | None = None
    #: unpack into the target directory after download (zip, tar.*, 7z)
    extract: bool = True

    @property
    def name(self) -> str:
        return self.filename or Path(urllib.parse.urlparse(self.url).path).name

    @property
    def published(self) -> str | None:
        """`sha256:...` or `md5:...` when a checksum is published, else None."""
        if self.sha256:
            return f"sha256:{self.sha256}"
        return f"md5:{self.md5}" if self.md5 else None


def digests(path: Path) -> dict[str, str]:
    md5, sha = hashlib.md5(), hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(CHUNK):
            md5.update(block)
            sha.update(block)
    return {"md5": md5.hexdigest(), "sha256": sha.hexdigest()}


def _ledger(target_dir: Path) -> dict:
    path = target_dir / CHECKSUMS_FILE
    try:
        return json.loads(path.read_text()) if path.is_file() else {}
    except json.JSONDecodeError:
        return {}


def _record(target_dir: Path, resource: Resource, path: Path, sums: dict[str, str]) -> None:
    ledger = _ledger(target_dir)
    stat = path.stat()
    ledger[resource.name] = {"url": resource.url, **sums, "size": stat.st_size, "mtime": stat.st_mtime,
                             "published": resource.published}
    write_text(target_dir / CHECKSUMS_FILE, json.dumps(ledger, indent=2, sort_keys=True) + "\n")


def verify(resource: Resource, path: Path) -> dict[str, str]:
    """Digests of `path`; raises DownloadError if they contradict the published checksum."""
    sums = digests(path)
    for kind in ("sha256", "md5"):
        expected = getattr(resource, kind)
        if expected and sums[kind] != expected.lower():
            raise DownloadError(
                f"{resource.name}: {kind} mismatch (expected {expected}, got {sums[kind]}); the file is corrupt or "
                f"the publisher replaced it. It was moved aside to {resource.name}.corrupt; run the command again "
                f"to download it afresh.")
    return sums


def _already_verified(target_dir: Path, resource: Resource, path: Path) -> bool:
    entry = _ledger(target_dir).get(resource.name)
    if not entry:
        return False
    stat = path.stat()
    return entry.get("size") == stat.st_size and entry.get("mtime") == stat.st_mtime


def _offline_message(resource: Resource, part: Path, reason: object) -> str:
    host = urllib.parse.urlparse(resource.url).netloc
    kept = (f" The {part.stat().st_size} bytes already fetched are kept in {part}: run the same command "
            f"again to resume.") if part.exists() and part.stat().st_size else ""
    return (f"cannot download {resource.url}: {reason}. Is this machine offline, or is {host} unreachable?{kept} "
            f"Alternatively fetch the file by other means and put it at {part.with_suffix('')} "
            f"(it is checksummed before use).")


def fetch(resource: Resource, target_dir: str | Path, *, timeout: float = 30.0, retries: int = 2,
          progress: bool = True) -> Path:
    """Download `resource` into `target_dir` (resuming a `.part`), verify it, return its path."""
    target_dir = Path(target_dir)
    target_dir.mkdir(parents=True, exist_ok=True)
    dest = target_dir / resource.name
    if dest.is_file():
        if _already_verified(target_dir, resource, dest):
            return dest
        try:
            _record(target_dir, resource, dest, verify(resource, dest))
        except DownloadError:
            os.replace(dest, dest.with_name(dest.name + ".corrupt"))
            raise
        return dest
    part = dest.with_name(dest.name + ".part")
    for attempt in range(retries + 1):
        try:
            _transfer(resource, part, timeout, progress)
            break
        except DownloadError:
            raise
        except (urllib.error.URLError, socket.timeout, ConnectionError, OSError) as err:
            reason = getattr(err, "reason", err)
            if attempt == retries or isinstance(reason, socket.gaierror) or isinstance(err, ConnectionRefusedError) \
                    or isinstance(reason, ConnectionRefusedError):
                raise DownloadError(_offline_message(resource, part, reason)) from None
            time.sleep(min(2.0 ** attempt, 10.0))
    try:
        sums = verify(resource, part)
    except DownloadError:
        os.replace(part, dest.with_name(dest.name + ".corrupt"))
        raise
    os.replace(part, dest)
    _record(target_dir, resource, dest, sums)
    if not resource.published:
        print(f"note: no checksum is published for {resource.name}; recorded sha256 {sums['sha256']} "
              f"in {target_dir / CHECKSUMS_FILE}", file=sys.stderr)
    return dest


def _transfer(resource: Resource, part: Path, timeout: float, progress: bool) -> None:
    offset = part.stat().st_size if part.exists() else 0
    headers = {"User-Agent": USER_AGENT}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    request = urllib.request.Request(resource.url, headers=headers)
    try:
        response = urllib.request.urlopen(request, timeout=timeout)  # noqa: S310 - URLs are the datasets' own
    except urllib.error.HTTPError as err:
        if err.code == 416 and offset:  # range starts at the end: the .part is already complete
            return
        if err.code in (401, 403):
            raise DownloadError(f"{resource.url}: HTTP {err.code} {err.reason}: this corpus needs registration or "
                                f"credentials; download it by hand and point `prepare` at it") from None
        raise DownloadError(f"{resource.url}: HTTP {err.code} {err.reason}") from None
    with response:
        if offset and response.status != 206:  # the server ignored the range: start over
            offset = 0
        total = response.headers.get("Content-Length")
        total = int(total) + offset if total is not None else resource.size
        mode = "ab" if offset else "wb"
        done, last = offset, 0.0
        with part.open(mode) as f:
            while block := response.read(CHUNK):
                f.write(block)
                done += len(block)
                if progress and sys.stderr.isatty() and time.monotonic() - last > 0.5:
                    last = time.monotonic()
                    share = f" {100 * done / total:5.1f}%" if total else ""
                    print(f"\r{resource.name}: {done / 1e6:,.1f} MB{share}", end="", file=sys.stderr)
        if progress and sys.stderr.isatty():
            print(file=sys.stderr)
        if total is not None and done < total:
            raise ConnectionError(f"connection closed after {done} of {total} bytes")


def concatenate(parts: Iterable[Path], dest: Path) -> Path:
    """Join split archives (`x.zip.001`, `x.zip.002`, ...) into one file."""
    if dest.is_file():
        return dest
    with atomic_path(dest) as tmp, tmp.open("wb") as out:
        for part in parts:
            with part.open("rb") as f:
                shutil.copyfileobj(f, out, CHUNK)
    return dest


def extract(archive: Path, dest: str | Path) -> Path:
    """Unpack zip / tar(.gz|.bz2|.xz) / 7z into `dest` (once: a marker file remembers it)."""
    dest = Path(dest)
    marker = dest / f".extracted-{archive.name}"
    if marker.is_file():
        return dest
    dest.mkdir(parents=True, exist_ok=True)
    name = archive.name.lower()
    if name.endswith(".zip"):
        with zipfile.ZipFile(archive) as z:
            for member in z.namelist():
                if member.startswith("/") or ".." in Path(member).parts:
                    raise DownloadError(f"{archive}: unsafe member path {member!r}")
            z.extractall(dest)
    elif ".tar" in name or name.endswith((".tgz", ".tbz2")):
        with tarfile.open(archive) as t:
            t.extractall(dest, filter="data")
    elif name.endswith(".7z"):
        _extract_7z(archive, dest)
    else:
        raise DownloadError(f"{archive}: unknown archive type")
    marker.write_text("")
    return dest


def _extract_7z(archive: Path, dest: Path) -> None:
    try:
        import py7zr  # type: ignore[import-not-found]
    except ImportError:
        tool = shutil.which("7z") or shutil.which("7za") or shutil.which("7zr")
        if not tool:
            raise DownloadError(f"{archive}: a 7z archive; install `py7zr` (pip) or p7zip (`7z` on PATH), "
                                f"or unpack it yourself into {dest}") from None
        subprocess.run([tool, "x", "-y", f"-o{dest}", str(archive)], check=True, stdout=subprocess.DEVNULL)
        return
    with py7zr.SevenZipFile(archive) as z:
        z.extractall(dest)


def merge_split_zip(first: Path, dest: Path) -> Path:
    """A multi-volume zip (`x.zip` + `x.z01` ...) -> one zip, with Info-ZIP's `zip -s 0`."""
    if dest.is_file():
        return dest
    tool = shutil.which("zip")
    if not tool:
        raise DownloadError(f"{first}: a split zip archive; install Info-ZIP `zip` and run "
                            f"`zip -s 0 {first} --out {dest}`, then run this command again")
    subprocess.run([tool, "-q", "-s", "0", str(first), "--out", str(dest)], check=True)
    return dest


def download_all(resources: Iterable[Resource], target_dir: str | Path, *, extract_to: str | Path | None = None,
                 timeout: float = 30.0) -> list[Path]:
    """Fetch every resource, then unpack those marked `extract` into `extract_to` (default: target_dir)."""
    target_dir, resources = Path(target_dir), list(resources)
    paths = [fetch(r, target_dir, timeout=timeout) for r in resources]
    for resource, path in zip(resources, paths):
        if resource.extract:
            extract(path, extract_to or target_dir)
    return paths


def manual_download(corpus: str, instructions: str) -> DownloadError:
    """The error for corpora that cannot be fetched automatically (registration, YouTube)."""
    return DownloadError(f"{corpus} cannot be downloaded automatically: {instructions}")
