"""The Ray executor: extraction jobs ask Ray for a GPU when the cluster has one, probes
take a CPU, and Ray places them; the scheduling loop (dependencies, retries, one progress
bar) is the same as the local executor's. `ray` is imported here only (optional extra).

Every worker must see the same embedding cache and results folder (a shared filesystem:
NFS, Lustre, ...), and the same installed earbench and plugins.
"""
from __future__ import annotations

import time
from typing import Any

from benchmark.errors import EarbenchError
from benchmark.run.executors.report import JobResult, Report
from benchmark.run.executors.schedule import schedule
from benchmark.run.executors.worker import run_in_worker
from benchmark.run.plan import Job, Plan


class RayBackend:
    def __init__(self, plan: Plan, address: str | None, num_cpus: int | None) -> None:
        try:
            import ray
        except ImportError:
            raise EarbenchError("--executor ray needs Ray: pip install 'earbench[ray]'") from None
        self.ray = ray
        self.started_here = not ray.is_initialized()
        if self.started_here:
            ray.init(address=address, num_cpus=num_cpus if address is None else None, include_dashboard=False,
                     configure_logging=False)
        resources = ray.cluster_resources()
        self.slots = max(1, int(resources.get("CPU", 1)) + int(resources.get("GPU", 0)))
        self.remote = ray.remote(run_in_worker)
        # retries are the scheduler's (counted, reported); Ray retrying too would hide them
        self.extract_options = {"num_cpus": 1, "num_gpus": 1 if resources.get("GPU", 0) else 0, "max_retries": 0}
        self.probe_options = {"num_cpus": 1, "max_retries": 0}
        self.settings = plan.settings

    def submit(self, job: Job, extract_s: float) -> Any:
        options = self.extract_options if job.device else self.probe_options
        return self.remote.options(**options).remote(job, self.settings, extract_s)

    def wait(self, handles: list[Any]) -> list[Any]:
        ready, _ = self.ray.wait(handles, num_returns=1)
        return ready

    def result(self, handle: Any) -> JobResult:
        return self.ray.get(handle)

    def cancel(self, handles: list[Any]) -> None:
        """Stop jobs still running on the cluster (an interrupted extraction keeps its
        finished shards, and the kernel drops its cache lock)."""
        for handle in handles:
            self.ray.cancel(handle, force=True)

    def close(self) -> None:
        if self.started_here:
            self.ray.shutdown()


class RayExecutor:
    """`address`: a running cluster (`ray start --head` on one node, `ray start
    --address=HEAD:6379` on the others), "auto" to find one, or None to start Ray on this
    machine with `num_cpus` workers."""

    def __init__(self, address: str | None = None, num_cpus: int | None = None, retries: int = 2,
                 progress: bool = True) -> None:
        self.address, self.num_cpus, self.retries, self.progress = address, num_cpus, retries, progress

    def run(self, plan: Plan, on_result: Any = None) -> Report:
        started = time.perf_counter()
        missing = sorted({j.upstream for j in plan.jobs if j.source is None} | {j.task for j in plan.jobs
                                                                                  if j.task_ref is None})
        if missing:
            raise EarbenchError(f"--executor ray re-creates upstreams and tasks from their names or specs in each "
                                f"worker; these exist only as Python objects here: {', '.join(missing)}")
        backend = RayBackend(plan, self.address, self.num_cpus)
        startup = time.perf_counter() - started
        try:
            report = schedule(plan, backend, retries=self.retries, progress=self.progress, on_result=on_result,
                              started=started)
        finally:
            backend.close()
        report.startup_s = startup
        return report
