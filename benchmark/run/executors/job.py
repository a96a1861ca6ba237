"""Run one planned job on a run context, wherever it is: the same code in-process, in a
worker process and in a Ray task, so every executor computes the same records."""
from __future__ import annotations

import os
import socket
import time
import traceback
from typing import Callable

import torch

from benchmark.errors import EarbenchError
from benchmark.features.extract import ForwardError
from benchmark.protocols import RunContext
from benchmark.run.executors.claim import claim, written_meanwhile
from benchmark.run.executors.report import JobResult
from benchmark.run.plan import Job
from benchmark.run.probe import run_probe


def accelerate(ctx: RunContext) -> None:
    """Extraction is the one step that needs the device: move the encoder there if there is one."""
    if torch.cuda.is_available():
        ctx.upstream.to("cuda")


def run_job(job: Job, context: Callable[[], RunContext], extract_s: float = 0.0) -> JobResult:
    """Execute `job` on the run context `context()` (which carries the run's settings);
    failures come back as a result (with the error and traceback), not as an exception, so
    one job never stops the others. Ctrl-C still interrupts."""
    start = time.perf_counter()
    worker = f"{socket.gethostname()}:{os.getpid()}"
    try:
        ctx = context()
        if job.kind == "extract":
            accelerate(ctx)
            for split, pooling in job.needs:
                ctx.embeddings(split, pooling)
            record = None
        else:
            if ctx.streams_frames:  # its frames are encoded per batch, so it wants the device too
                accelerate(ctx)
            with claim(job):  # a run sharing the results folder may be on this very probe
                record = written_meanwhile(job, ctx) or run_probe(
                    ctx, job.roles or {}, int(job.seed or 0), job.fold, job.record,
                    extra_embed_s=extract_s if job.claims_extract_s else 0.0)
    except Exception as err:  # noqa: BLE001 - reported by the scheduler, which may retry
        return JobResult(job, False, time.perf_counter() - start, error=str(err) or type(err).__name__,
                         trace=traceback.format_exc(),
                         harness_error=isinstance(err, EarbenchError) and not isinstance(err, ForwardError),
                         worker=worker, exception=err)
    return JobResult(job, True, time.perf_counter() - start, record=record, worker=worker)
