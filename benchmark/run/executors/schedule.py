"""The one scheduling loop: submit jobs whose dependency is done, collect results, retry
failures a bounded number of times, and report the rest without stopping the others.

Backends only say how to start a job and how to wait for one (in this process, a process
pool, Ray); dependencies, retries, progress and timing live here once.
"""
from __future__ import annotations

import time
from typing import Any, Callable, Hashable, Protocol

from benchmark.run.executors.report import JobResult, Report
from benchmark.run.plan import Job, Plan
from benchmark.progress import progress_bar


class Backend(Protocol):
    slots: int  # jobs that can run at once (how many to keep in flight)

    def submit(self, job: Job, extract_s: float) -> Hashable: ...

    def wait(self, handles: list[Any]) -> list[Any]: ...

    def result(self, handle: Any) -> JobResult: ...

    def cancel(self, handles: list[Any]) -> None: ...


def schedule(plan: Plan, backend: Backend, *, retries: int = 0, progress: bool = True,
             on_result: Callable[[JobResult], None] | None = None, started: float | None = None) -> Report:
    """Run `plan.jobs` on `backend`. Jobs start in plan order as slots free up, so with one
    slot each extraction is followed by its probes (the sequential order of old)."""
    started = time.perf_counter() if started is None else started
    report = Report(plan, slots=backend.slots)
    pending = list(plan.jobs)
    succeeded: set[str] = set()
    failed: set[str] = set()
    extract_s: dict[str, float] = {}
    in_flight: dict[Any, tuple[Job, int, float]] = {}
    label = f"{len(plan.jobs)} job(s), {len(plan.done)} already done"

    with progress_bar(label, total=len(plan.jobs), enabled=progress) as advance:
        def finish(result: JobResult) -> None:
            report.results.append(result)
            (succeeded if result.ok else failed).add(result.job.id)
            if result.ok and result.job.kind == "extract":
                extract_s[result.job.id] = result.seconds
            advance(last=result.job.id, failed=len(failed))
            if on_result:
                on_result(result)

        def start(job: Job, attempt: int) -> None:
            handle = backend.submit(job, extract_s.get(job.after or "", 0.0))
            in_flight[handle] = (job, attempt, time.perf_counter())

        try:
            while pending or in_flight:
                for job in list(pending):
                    if len(in_flight) >= backend.slots:
                        break
                    if job.after in failed:
                        pending.remove(job)
                        finish(JobResult(job, False, error=f"not run: {job.after} failed", harness_error=True,
                                         attempts=0))
                    elif job.after is None or job.after in succeeded:
                        pending.remove(job)
                        start(job, 1)
                if not in_flight:  # nothing can start: a dependency that is neither planned nor done
                    for job in pending:
                        finish(JobResult(job, False, error=f"not run: {job.after} is not planned", attempts=0))
                    pending.clear()
                    continue
                for handle in backend.wait(list(in_flight)):
                    job, attempt, submitted = in_flight.pop(handle)
                    try:
                        result = backend.result(handle)
                    except Exception as err:  # noqa: BLE001 - the worker itself died or was lost
                        result = JobResult(job, False, error=f"worker lost: {type(err).__name__}: {err}")
                    result.attempts = attempt
                    result.turnaround_s = time.perf_counter() - submitted
                    if not result.ok and not result.harness_error and attempt <= retries:
                        start(job, attempt + 1)
                        continue
                    finish(result)
        except BaseException:  # Ctrl-C (or a bug here): stop what still runs; finished work is kept
            backend.cancel(list(in_flight))
            raise
    report.wall_s = time.perf_counter() - started
    return report
