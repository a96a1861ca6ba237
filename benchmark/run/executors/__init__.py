"""Executors run a `Plan`'s jobs: in this process (`local`), in one worker process per GPU,
or on a Ray cluster (`ray`). All share one scheduling loop (`schedule.py`) and one job
runner (`job.py`), so every path computes the same records; they differ only in where a
job runs. Ray is imported only by the Ray executor: it is an optional extra.
"""
from __future__ import annotations

from benchmark.errors import EarbenchError
from benchmark.run.executors.local import LocalExecutor
from benchmark.run.executors.ray import RayExecutor
from benchmark.run.executors.report import JobResult, Report

EXECUTORS = ("local", "ray")


def make_executor(name: str, *, address: str | None = None, retries: int | None = None, processes: int | None = None,
                  progress: bool = True) -> "LocalExecutor":
    """`local` (in-process, or one process per visible GPU) or `ray` (`address` of a running
    cluster, or None to start one on this machine)."""
    if name == "local":
        return LocalExecutor(processes=processes, retries=0 if retries is None else retries, progress=progress)
    if name == "ray":
        return RayExecutor(address=address, num_cpus=processes, retries=2 if retries is None else retries,
                           progress=progress)  # type: ignore[return-value]
    raise EarbenchError(f"unknown executor {name!r}; choose one of {', '.join(EXECUTORS)}")


__all__ = ["EXECUTORS", "JobResult", "LocalExecutor", "Report", "make_executor"]
