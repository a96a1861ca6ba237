"""The results folder: found unwritable before any work, and shared by concurrent runs
without a probe running twice (each record is claimed while its probe runs)."""
import fcntl
import json
import multiprocessing
import os
import signal
import time

import pytest

from benchmark.errors import EarbenchError
from benchmark.features.cache import EmbeddingCache
from benchmark.run import evaluate as evaluate_module
from benchmark.run.executors import job as job_module
from benchmark.run.executors.claim import lock_path
from benchmark.run.plan import plan_suite
from benchmark.settings import RunSettings
from benchmark.storage import file_lock
from tests.support.helpers import run_cli
from tests.support.tone_task import write_tone_task


def test_an_unwritable_results_folder_stops_the_run_before_any_extraction(tone_task, tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    results = blocker / "results"
    with pytest.raises(EarbenchError, match=f"results folder {results}: cannot write there"):
        plan_suite(["logmel"], [tone_task], RunSettings(results=results, progress=False))
    code, _, err = run_cli(capsys, "run", "--model", "logmel", "--task", str(tone_task), "--protocol", "knn",
                           "--results", str(results))
    assert code == 2 and f"results folder {results}: cannot write there" in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not EmbeddingCache().root.exists()  # nothing was extracted first


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_results_folder_is_refused(tone_task, tmp_path):
    results = tmp_path / "results"
    results.mkdir()
    results.chmod(0o500)
    try:
        with pytest.raises(EarbenchError, match="cannot write there"):
            plan_suite(["logmel"], [tone_task], RunSettings(results=results, progress=False))
    finally:
        results.chmod(0o700)


def run_suite_in_child(task, results, cache, barrier, outcomes) -> None:
    """One whole run; reports which probes it actually ran (slowly, so that the runs overlap)."""
    ran = []
    real = job_module.run_probe

    def slow_probe(ctx, roles, seed, *args, **kwargs):
        ran.append(seed)
        time.sleep(0.4)
        return real(ctx, roles, seed, *args, **kwargs)

    job_module.run_probe = slow_probe
    barrier.wait()
    records = evaluate_module.evaluate("logmel", [task], protocol="knn", seeds=3, results=results,
                                       cache=EmbeddingCache(cache), progress=False)
    outcomes.put((ran, [r["metrics"] for r in records]))


def test_two_runs_on_one_results_folder_run_each_probe_once(tmp_path):
    task = str(write_tone_task(tmp_path / "tones", per_class=5))
    context = multiprocessing.get_context("spawn")
    barrier, outcomes = context.Barrier(2), context.Queue()
    children = [context.Process(target=run_suite_in_child,
                                args=(task, tmp_path / "results", tmp_path / "cache", barrier, outcomes))
                for _ in range(2)]
    for child in children:
        child.start()
    (ran_a, metrics_a), (ran_b, metrics_b) = [outcomes.get(timeout=180) for _ in children]
    for child in children:
        child.join(timeout=30)
        assert child.exitcode == 0
    assert sorted(ran_a + ran_b) == [0, 1, 2]  # every probe ran once, in one run or the other
    assert metrics_a == metrics_b and len(metrics_a) == 3  # and both report all three records
    assert len(list((tmp_path / "results").rglob("*.json"))) == 3


def hold_lock_forever(path, ready) -> None:
    with file_lock(path):
        ready.set()
        time.sleep(600)


def test_a_claim_left_by_a_killed_run_is_taken_over(tone_task, tmp_path):
    results = tmp_path / "results"
    plan = plan_suite(["logmel"], [tone_task], RunSettings(protocol="knn", results=results, progress=False))
    (probe,) = [job for job in plan.jobs if job.kind == "probe"]
    context = multiprocessing.get_context("spawn")
    ready = context.Event()
    holder = context.Process(target=hold_lock_forever, args=(lock_path(probe.record), ready))
    holder.start()
    assert ready.wait(60)
    with open(lock_path(probe.record), "a+b") as handle:  # held: another process cannot take it
        with pytest.raises(OSError):
            fcntl.lockf(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    os.kill(holder.pid, signal.SIGKILL)  # killed with its claim held
    holder.join(30)
    assert lock_path(probe.record).exists()  # the lock file stays; the lock went with its holder
    records = evaluate_module.evaluate("logmel", [tone_task], protocol="knn", results=results, progress=False)
    assert len(records) == 1 and json.loads(probe.record.read_text())["metrics"] == records[0]["metrics"]
