"""Building the mini suite: plan every task, render clips in parallel, publish folders atomically.

Each task renders into a hidden temporary folder next to its destination and is published
whole (`benchmark.storage.publish_dir`) only once complete (checksums written), so an
interrupted build leaves no half-written task; a task whose provenance already matches
(size, seed, generator version) is not rebuilt at all, which makes a second build instant.
"""

from __future__ import annotations

import os
import shutil
import zlib
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from multiprocessing import get_context
from pathlib import Path

import numpy as np
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

from benchmark.storage import atomic_path, publish_dir, staging_dir

from .audio import to_seconds, write_wav
from .folder import CHECKSUMS, read_provenance, write_checksums, write_csv, write_folder
from .generators import GENERATORS, METADATA_TABLES, MINI_CORPUS, MINI_TASKS
from .blueprint import SIZES, Blueprint
from .scene import Event, Scene, render_batch
from .sources import locate

GENERATOR_VERSION = "2"
_BATCH = 32  # clips per job: one fluidsynth start is shared by a batch's notes


def _render_job(root: str, items: list[tuple[str, Scene]]) -> list[tuple[str, list[Event], float]]:
    """Render and write a batch of clips under `root`; their events and durations (worker side)."""
    out = []
    for (path, _), (audio, events) in zip(items, render_batch([scene for _, scene in items])):
        write_wav(Path(root) / path, audio)
        out.append((path, events, to_seconds(len(audio))))
    return out


def _is_built(folder: Path, size: str, seed: int) -> bool:
    provenance = read_provenance(folder)
    if provenance is None:
        return False
    key = provenance["size"], provenance["seed"], provenance["generator_version"]
    return key == (size, seed, GENERATOR_VERSION)


def plan_task(name: str, size: str, seed: int) -> Blueprint:
    """The plan of task `name`, from a random stream of its own (tasks don't share draws)."""
    return GENERATORS[name](size, np.random.default_rng([seed, zlib.crc32(name.encode())]))


def build_mini(out: Path, size: str = "small", seed: int = 0, workers: int | None = None,
               progress: bool = True, names: Sequence[str] | None = None) -> list[Path]:
    """Build the mini suite under `out` and return the folders of `names`, in order.

    `names` defaults to MINI_TASKS then MINI_CORPUS (the unlabeled pre-training corpus).
    `workers` processes render the clips (default: one per usable core).
    """
    if size not in SIZES:
        raise ValueError(f"size must be one of {SIZES}, not {size!r}")
    out = Path(out)
    names = tuple(names or MINI_TASKS + (MINI_CORPUS,))
    unknown = set(names) - set(GENERATORS)
    if unknown:
        raise ValueError(f"unknown mini tasks {sorted(unknown)}; known: {list(GENERATORS)}")
    todo = [n for n in names if not _is_built(out / n, size, seed)]
    for name in set(names) - set(todo):
        _add_metadata(out / name, name, size, seed)
    if todo:
        plans = [plan_task(n, size, seed) for n in todo]
        for source in sorted({s for p in plans for s in p.sources}):
            locate(source)
        out.mkdir(parents=True, exist_ok=True)
        _render(out, plans, size, seed, workers, progress)
    return [out / n for n in names]


def _add_metadata(folder: Path, name: str, size: str, seed: int) -> None:
    """Write the metadata tables a built folder lacks (METADATA_TABLES), then its checksums."""
    missing = [t for t in METADATA_TABLES.get(name, ()) if not (folder / t).is_file()]
    if not missing:
        return
    tables = plan_task(name, size, seed).tables
    for table in missing:
        with atomic_path(folder / table) as staged:
            write_csv(staged, tables[table])
    with atomic_path(folder / CHECKSUMS) as staged:
        write_checksums(folder, staged)


def _cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _render(out: Path, plans: list[Blueprint], size: str, seed: int, workers: int | None,
            progress: bool) -> None:
    tmps = {p.name: staging_dir(out / p.name) for p in plans}
    left = {p.name: len(p.clips) for p in plans}
    events: dict[str, dict[str, list[Event]]] = {p.name: {} for p in plans}
    duration = dict.fromkeys(left, 0.0)
    pool = ProcessPoolExecutor(max(1, workers or _cores()), mp_context=get_context("spawn"))
    try:
        with Progress("{task.description}", BarColumn(), MofNCompleteColumn(),
                      TimeElapsedColumn(), disable=not progress) as bar:
            bars = {p.name: bar.add_task(f"{p.name} ({size})", total=len(p.clips)) for p in plans}
            jobs: dict[Future, Blueprint] = {
                pool.submit(_render_job, str(tmps[plan.name]),
                            [(c.path, c.scene) for c in plan.clips[i:i + _BATCH]]): plan
                for plan in plans for i in range(0, len(plan.clips), _BATCH)
            }
            for job in as_completed(jobs):
                plan, done = jobs[job], job.result()
                for path, clip_events, length in done:
                    events[plan.name][path] = clip_events
                    duration[plan.name] += length
                bar.advance(bars[plan.name], len(done))
                left[plan.name] -= len(done)
                if left[plan.name] == 0:
                    write_folder(tmps[plan.name], plan, events[plan.name], size=size, seed=seed,
                                 generator_version=GENERATOR_VERSION, duration_s=duration[plan.name])
                    publish_dir(tmps.pop(plan.name), out / plan.name)
    finally:
        pool.shutdown(cancel_futures=True)
        for tmp in tmps.values():
            shutil.rmtree(tmp, ignore_errors=True)
