"""What an executor hands back: one result per job, the suite's records, and where the time went."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from benchmark.errors import EarbenchError
from benchmark.record import Record
from benchmark.run.plan import Job, Plan


@dataclass
class JobResult:
    """The outcome of a job's last attempt. `seconds` is the time inside the job (loading
    the model and task included); `turnaround_s` adds queueing and shipping, as the
    scheduler saw it. `exception` is kept only in-process (it need not pickle)."""

    job: Job
    ok: bool
    seconds: float = 0.0
    record: Record | None = None
    error: str | None = None
    trace: str | None = None
    harness_error: bool = False  # an EarbenchError: deterministic, so never retried
    attempts: int = 1
    worker: str = ""
    turnaround_s: float = 0.0
    exception: BaseException | None = field(default=None, repr=False, compare=False)


@dataclass
class Report:
    plan: Plan
    results: list[JobResult] = field(default_factory=list)  # in completion order
    wall_s: float = 0.0  # from the executor's start to the last result
    startup_s: float = 0.0  # of that, starting workers (ray.init, worker processes)
    slots: int = 1  # how many jobs could run at once

    @property
    def failed(self) -> list[JobResult]:
        return [r for r in self.results if not r.ok]

    @property
    def ran(self) -> list[str]:
        """Ids of the jobs that were executed (succeeded or not), in completion order."""
        return [r.job.id for r in self.results if r.attempts > 0]

    @property
    def records(self) -> list[Record]:
        """Every record of the suite, reused or new, in the plan's order (task by task, folds x seeds)."""
        new = {r.job.id: r.record for r in self.results if r.ok and r.record is not None}
        return [rec for pid in self.plan.order for rec in [new.get(pid) or self.plan.reused.get(pid)] if rec]

    def raise_first(self) -> None:
        """Raise the first failure (its own exception in-process), for the Python API."""
        for r in self.failed:
            if r.exception is not None:
                raise r.exception
            raise EarbenchError(f"{r.job.id}: {r.error}")

    def breakdown(self) -> str:
        """Where the time went: work per job kind, start-up, and idle worker time, split into
        dispatch (a job's turnaround beyond its own work) and waiting (for a dependency, or
        for the last jobs while other slots have nothing left)."""
        work: dict[str, list[float]] = defaultdict(list)
        for r in self.results:
            work[r.job.kind].append(r.seconds)
        busy = sum(sum(v) for v in work.values())
        run_s = max(self.wall_s - self.startup_s, 0.0)
        lines = [f"wall {self.wall_s:.1f} s with {self.slots} slot(s); {len(self.results)} job(s) run, "
                 f"{len(self.plan.done)} already done"]
        if self.startup_s:
            lines.append(f"  start-up            {self.startup_s:7.1f} s")
        for kind in ("extract", "probe"):
            if work.get(kind):
                lines.append(f"  {kind:<8} {len(work[kind]):4d} jobs {sum(work[kind]):7.1f} s of work "
                             f"(mean {sum(work[kind]) / len(work[kind]):.2f} s, max {max(work[kind]):.2f} s)")
        idle = max(run_s * self.slots - busy, 0.0)
        dispatch = sum(max(r.turnaround_s - r.seconds, 0.0) for r in self.results)
        lines.append(f"  idle worker time    {idle:7.1f} s: dispatch {min(dispatch, idle):.1f} s (shipping jobs, "
                     f"starting and importing in workers), waiting {max(idle - dispatch, 0.0):.1f} s "
                     f"(dependencies, imbalance at the end)")
        return "\n".join(lines)
