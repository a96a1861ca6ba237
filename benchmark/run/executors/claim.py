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
from pathlib import Path
from typing import ContextManager

from benchmark.protocols import RunContext
from benchmark.record import Record
from benchmark.run.plan import Job, finished
from benchmark.storage import file_lock


def lock_path(record: Path) -> Path:
    """Hidden, and not `*.json`: nothing that reads records sees it."""
    return record.with_name(f".{record.name}.lock")


def claim(job: Job) -> ContextManager[None]:
    return file_lock(lock_path(job.record)) if job.record is not None else contextlib.nullcontext()


def written_meanwhile(job: Job, ctx: RunContext) -> Record | None:
    """The record another run wrote for this very probe since this run was planned, if any."""
    if job.record is None or ctx.settings.rerun:
        return None
    record, _ = finished(job.record, ctx, ctx.settings.identity())
    return record
