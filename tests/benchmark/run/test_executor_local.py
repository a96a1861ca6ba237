"""The local executor with worker processes (what it does with one per GPU): the same
records as in-process, and upstreams given as Python objects stay in-process."""
import json
import os

from benchmark.run.executors import LocalExecutor
from benchmark.run.plan import plan_suite
from benchmark.settings import RunSettings
from tests.support.tone_task import write_tone_task
from models.baselines import LogMel


def test_worker_processes_give_the_same_records_as_in_process(tmp_path):
    tasks = [str(write_tone_task(tmp_path / "a", per_class=5)), str(write_tone_task(tmp_path / "b", per_class=5, seed=3))]

    def run(name, processes):
        plan = plan_suite(["logmel"], tasks, RunSettings(results=tmp_path / name, progress=False,
                                                         cache_root=tmp_path / f"cache-{name}"))
        return LocalExecutor(processes=processes, progress=False).run(plan)

    single, pooled = run("single", None), run("pool", 2)
    assert not single.failed and not pooled.failed and pooled.slots == 2
    assert {r.worker for r in single.results} == {single.results[0].worker}
    assert single.results[0].worker.endswith(f":{os.getpid()}")
    assert len({r.worker for r in pooled.results}) == 2 and f":{os.getpid()}" not in pooled.results[0].worker
    read = lambda name: {str(p.relative_to(tmp_path / name)): json.loads(p.read_text())["metrics"]  # noqa: E731
                         for p in (tmp_path / name).rglob("*.json")}
    assert read("single") == read("pool") and len(read("pool")) == 2


def test_an_upstream_object_runs_in_process_even_when_processes_are_asked_for(tmp_path):
    task = str(write_tone_task(tmp_path / "a", per_class=4))
    plan = plan_suite([LogMel()], [task], RunSettings(results=tmp_path / "r", progress=False), name="mine")
    assert all(job.source is None and job.upstream == "mine" for job in plan.jobs)
    report = LocalExecutor(processes=2, progress=False).run(plan)
    assert not report.failed and report.slots == 1 and len(report.records) == 1
