"""The local executor: jobs in this process one after another (the default, and what
`evaluate()` runs), or one worker process per visible GPU when there are several."""
from __future__ import annotations

import multiprocessing
import os
import time
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any

import torch

from benchmark.run.executors.job import run_job
from benchmark.run.executors.report import JobResult, Report
from benchmark.run.executors.schedule import schedule
from benchmark.run.executors.worker import run_in_worker
from benchmark.run.plan import Job, Plan


class InProcess:
    """Runs each job at submit time on the planning process's own contexts (no pickling:
    an upstream given as a Python object works)."""

    slots = 1

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.done: dict[int, JobResult] = {}

    def submit(self, job: Job, extract_s: float) -> int:
        ctx = self.plan.contexts[job.group]
        self.done[len(self.done)] = run_job(job, lambda: ctx, extract_s)
        return len(self.done) - 1

    def wait(self, handles: list[int]) -> list[int]:
        return handles

    def result(self, handle: int) -> JobResult:
        return self.done.pop(handle)

    def cancel(self, handles: list[int]) -> None:
        """Nothing runs in the background in-process."""


def _pin(devices: Any, threads: int) -> None:
    """Pool initializer: give this worker one device of its own and its share of the cores."""
    device = devices.get()
    if device is not None:
        os.environ["CUDA_VISIBLE_DEVICES"] = str(device)
    torch.set_num_threads(threads)


class ProcessPool:
    """One spawned worker process per device; workers re-create upstreams from their specs."""

    def __init__(self, plan: Plan, processes: int, gpus: int) -> None:
        context = multiprocessing.get_context("spawn")
        devices = context.Queue()
        for k in range(processes):
            devices.put(k if k < gpus else None)
        threads = max(1, (os.cpu_count() or 1) // processes)
        self.pool = ProcessPoolExecutor(processes, mp_context=context, initializer=_pin, initargs=(devices, threads))
        self.slots = processes
        self.settings = plan.settings

    def submit(self, job: Job, extract_s: float) -> Future:
        return self.pool.submit(run_in_worker, job, self.settings, extract_s)

    def wait(self, handles: list[Future]) -> list[Future]:
        return list(wait(handles, return_when=FIRST_COMPLETED).done)

    def result(self, handle: Future) -> JobResult:
        return handle.result()

    def cancel(self, handles: list[Future]) -> None:
        for handle in handles:
            handle.cancel()  # queued ones; running ones end with the pool

    def close(self) -> None:
        self.pool.shutdown(cancel_futures=True)


class LocalExecutor:
    """`processes=None`: one worker per visible GPU if there are several, else in-process.
    `processes=N` forces N worker processes (each gets a GPU while there are any left).
    Jobs whose upstream or task exists only as a Python object always run in-process."""

    def __init__(self, processes: int | None = None, retries: int = 0, progress: bool = True) -> None:
        self.processes, self.retries, self.progress = processes, retries, progress

    def run(self, plan: Plan, on_result: Any = None) -> Report:
        started = time.perf_counter()
        gpus = torch.cuda.device_count() if torch.cuda.is_available() else 0
        processes = self.processes if self.processes is not None else (gpus if gpus > 1 else 0)
        shippable = all(job.source is not None and job.task_ref is not None for job in plan.jobs)
        if processes <= 1 or not shippable or not plan.jobs:
            return schedule(plan, InProcess(plan), retries=self.retries, progress=self.progress,
                            on_result=on_result, started=started)
        pool = ProcessPool(plan, processes, gpus)
        try:
            report = schedule(plan, pool, retries=self.retries, progress=self.progress, on_result=on_result,
                              started=started)
        finally:
            pool.close()
        return report
