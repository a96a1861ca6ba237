"""Claims on records, so that two runs sharing a results folder never run the same probe.

A probe job holds a lock beside its record (`.<record>.lock`, the embedding cache's
`storage.file_lock`) while it runs. A second run that planned the same probe waits for the
lock, then finds the record written and reuses it instead of running the probe again. The
kernel releases a lock when its holder dies, so a killed run leaves no stale claim: the
next run takes it over and runs the probe. With `--rerun` each run recomputes its records
(one at a time), since a record there cannot tell which run wrote it.
"""
from __future__ import annotations

import contextlib
import glob
from pathlib import Path
from typing import Iterator

from benchmark.protocols import RunContext
from benchmark.record import Record
from benchmark.run.plan import Job, finished
from benchmark.storage import file_lock, remove_staging


def lock_path(record: Path) -> Path:
    """Hidden, and not `*.json`: nothing that reads records sees it."""
    return record.with_name(f".{record.name}.lock")


@contextlib.contextmanager
def claim(job: Job) -> Iterator[None]:
    """Hold the record's lock; what a run killed while writing it left (the temporaries of the
    record and of its per-item outputs) is removed first, since no writer of it is alive."""
    if job.record is None:
        yield
        return
    record = job.record
    with file_lock(lock_path(record)):
        remove_staging(record)
        for left in record.parent.glob(f"{glob.escape('.' + record.stem)}.items-*.tmp"):
            left.unlink(missing_ok=True)
        yield


def written_meanwhile(job: Job, ctx: RunContext) -> Record | None:
    """The record another run wrote for this very probe since this run was planned, if any."""
    if job.record is None or ctx.settings.rerun:
        return None
    record, _ = finished(job.record, ctx, ctx.settings.identity())
    return record
