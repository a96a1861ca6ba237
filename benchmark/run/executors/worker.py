"""The job entry point of worker processes (Ray tasks, one process per GPU).

A worker receives plain-data jobs and re-creates the upstream from its spec string
(`logmel`, `ckpt:PATH`, `hear:MODULE`) and the task from its name or folder, rather than
unpickling an `nn.Module`: modules need not pickle, and weights need not travel. A
worker runs many jobs, so what it loads is kept for the next job of the same pairing.
"""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import replace

import torch

from benchmark.errors import EarbenchError, UpstreamError
from benchmark.protocols import RunContext
from benchmark.run.executors.job import run_job
from benchmark.run.executors.report import JobResult
from benchmark.run.plan import Job
from benchmark.settings import RunSettings
from benchmark.sources.load import load_task
from benchmark.upstream import fingerprint, load_upstream


class WorkerState:
    """This process's loaded upstreams and run contexts (a few pairings, least recent dropped)."""

    def __init__(self, keep: int = 4) -> None:
        self.keep = keep
        self.upstreams: OrderedDict[tuple, torch.nn.Module] = OrderedDict()
        self.contexts: OrderedDict[tuple, RunContext] = OrderedDict()

    def upstream(self, job: Job) -> torch.nn.Module:
        key = (job.source, job.upstream, job.fingerprint)
        if key not in self.upstreams:
            if job.source is None:
                raise EarbenchError(f"upstream {job.upstream!r} was given as a Python object: a worker process "
                                    f"cannot re-create it; register it or use a spec (ckpt:PATH, hear:MODULE)")
            upstream = load_upstream(job.source, name=job.upstream)
            upstream.earbench_fingerprint = fingerprint(upstream)
            if upstream.earbench_fingerprint != job.fingerprint:
                raise UpstreamError(f"upstream {job.source!r} loads with other weights on this worker than when the "
                                    f"suite was planned (is its checkpoint on a path every worker shares?)")
            self.upstreams[key] = upstream
            while len(self.upstreams) > self.keep:
                self.upstreams.popitem(last=False)
        self.upstreams.move_to_end(key)
        return self.upstreams[key]

    def context(self, job: Job, settings: RunSettings) -> RunContext:
        key = (job.group, job.source, job.task_ref, repr(settings))
        if key not in self.contexts:
            if job.task_ref is None:
                raise EarbenchError(f"task {job.task!r} was given as a Python object: a worker process cannot "
                                    f"load it; register it or use a folder task path")
            task = load_task(job.task_ref)
            # no progress bars in workers: the scheduler shows one for the suite
            self.contexts[key] = RunContext(self.upstream(job), task, task.load(), replace(settings, progress=False))
            while len(self.contexts) > self.keep:
                self.contexts.popitem(last=False)
        self.contexts.move_to_end(key)
        return self.contexts[key]


STATE = WorkerState()  # one per worker process: what makes the second job of a pairing cheap


def run_in_worker(job: Job, settings: RunSettings, extract_s: float = 0.0) -> JobResult:
    result = run_job(job, lambda: STATE.context(job, settings), extract_s)
    result.exception = None  # travels back as text; the exception itself need not pickle
    return result
