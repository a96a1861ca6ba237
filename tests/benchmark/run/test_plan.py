"""The job planner and the local executor: the graph of jobs, skipping what is done,
resuming an interrupted suite, and reporting a failed job while the others finish."""
import json
import subprocess
import sys

import pytest

from benchmark.features.cache import EmbeddingCache
from benchmark.run.executors import LocalExecutor
from benchmark.run.plan import plan_suite
from benchmark.settings import RunSettings
from tests.support.tone_task import write_tone_task
from tests.support.helpers import run_cli


def settings(tmp_path, **kw):
    return RunSettings(results=tmp_path / "results", progress=False, **kw)


@pytest.fixture
def two_tasks(tmp_path):
    return [str(write_tone_task(tmp_path / "tones", per_class=6)),
            str(write_tone_task(tmp_path / "folds", per_class=6, seed=1, kfold=True))]


def metrics_by_path(results):
    return {p.relative_to(results): json.loads(p.read_text())["metrics"] for p in sorted(results.rglob("*.json"))}


def test_plan_is_one_extraction_per_pair_then_probes_per_seed_and_fold(tmp_path, two_tasks):
    plan = plan_suite(["logmel", "random-cnn"], two_tasks, settings(tmp_path), seeds=2)
    extracts = [j for j in plan.jobs if j.kind == "extract"]
    probes = [j for j in plan.jobs if j.kind == "probe"]
    assert sorted(j.id for j in extracts) == sorted(f"extract:{m}:{t}" for m in ("logmel", "random-cnn")
                                                    for t in ("tones", "folds"))
    assert len(probes) == 2 * (1 * 2 + 4 * 2)  # models x (fixed splits x seeds + 4 folds x seeds)
    position = {job.id: k for k, job in enumerate(plan.jobs)}
    for probe in probes:  # each probe waits for its own pair's extraction, which comes first
        assert probe.after == f"extract:{probe.upstream}:{probe.task}" and position[probe.after] < position[probe.id]
        assert not probe.device and probe.source == probe.upstream
    tones = next(j for j in extracts if j.task == "tones")
    assert tones.device and tones.needs == (("test", "mean"), ("train", "mean"), ("valid", "mean"))
    assert {s for s, _ in next(j for j in extracts if j.task == "folds").needs} == {f"fold{k}" for k in range(4)}
    assert sum(p.claims_extract_s for p in probes) == len(extracts)  # one record per pair carries the embed time


def test_rerun_after_an_interrupted_suite_does_only_the_missing_jobs(tmp_path, two_tasks):
    """Ctrl-C after a few jobs; the rerun plans, and runs, exactly the jobs that had not finished."""
    run = settings(tmp_path)
    first = plan_suite(["logmel", "random-cnn"], two_tasks, run, seeds=2)
    finished = []

    def interrupt_after_five(result):
        finished.append(result.job.id)
        if len(finished) == 5:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        LocalExecutor(progress=False).run(first, on_result=interrupt_after_five)
    assert len(finished) == 5 and finished[0] == "extract:logmel:tones"
    second = plan_suite(["logmel", "random-cnn"], two_tasks, run, seeds=2)
    assert set(second.ids()) == set(first.ids()) - set(finished)
    assert {j.id for j in second.done} >= set(finished)
    report = LocalExecutor(progress=False).run(second)
    assert sorted(report.ran) == sorted(second.ids()) and not report.failed
    assert len(report.records) == len(first.order)  # reused + new, every probe of the suite
    third = plan_suite(["logmel", "random-cnn"], two_tasks, run, seeds=2)
    assert third.jobs == []  # all done: nothing to extract, nothing to probe
    # the same scores as an uninterrupted suite
    LocalExecutor(progress=False).run(plan_suite(["logmel", "random-cnn"], two_tasks,
                                                 RunSettings(results=tmp_path / "ref", progress=False), seeds=2))
    assert metrics_by_path(tmp_path / "results") == metrics_by_path(tmp_path / "ref")


def test_warm_cache_means_no_extraction_job_and_a_lost_entry_means_one(tmp_path, two_tasks):
    run = settings(tmp_path)
    LocalExecutor(progress=False).run(plan_suite(["logmel"], two_tasks, run))
    for record in (tmp_path / "results").rglob("*.json"):
        record.unlink()
    plan = plan_suite(["logmel"], two_tasks, run)
    assert plan.jobs and all(j.kind == "probe" and j.after is None for j in plan.jobs)
    entries = [p for p in EmbeddingCache().root.glob("*/*") if p.is_dir()]
    assert len(entries) == 3 + 4  # tones: train/valid/test; folds: 4 folds
    meta = [json.loads((p / "meta.json").read_text()) for p in entries]
    import shutil
    shutil.rmtree(next(p for p, m in zip(entries, meta) if m["task"] == "folds"))
    plan = plan_suite(["logmel"], two_tasks, run)
    assert [j.id for j in plan.jobs if j.kind == "extract"] == ["extract:logmel:folds"]


def test_a_failing_job_is_reported_and_the_others_finish(tmp_path, two_tasks, capsys):
    bad = write_tone_task(tmp_path / "bad", per_class=4)
    sorted((bad / "audio").iterdir())[2].write_bytes(b"RIFF....WAVEnot really")
    plan = plan_suite(["logmel"], [two_tasks[0], str(bad), two_tasks[1]], settings(tmp_path), seeds=2)
    report = LocalExecutor(progress=False, retries=3).run(plan)
    failed = {r.job.id: r for r in report.failed}
    assert set(failed) == {"extract:logmel:bad", "probe:logmel:bad:seed0", "probe:logmel:bad:seed1"}
    assert "cannot read audio" in failed["extract:logmel:bad"].error
    assert failed["extract:logmel:bad"].attempts == 1  # a harness error is deterministic: no retry
    assert failed["probe:logmel:bad:seed0"].attempts == 0 and "not run" in failed["probe:logmel:bad:seed0"].error
    assert len(report.records) == 2 + 8  # tones x 2 seeds, 4 folds x 2 seeds
    # the command line: errors named, the rest kept, exit 2, and the time breakdown
    code, out, err = run_cli(capsys, "run", "-m", "logmel", "-t", two_tasks[0], "-t", str(bad),
                             "--results", str(tmp_path / "cli"), "--timings")
    assert code == 2 and "extract:logmel:bad" in err and "cannot read audio" in " ".join(err.split())
    assert "1 record(s)" in out and "extract" in err and "idle worker time" in err


def test_unknown_executor_is_one_clear_error(tmp_path, two_tasks, capsys):
    code, _, err = run_cli(capsys, "run", "-m", "logmel", "-t", two_tasks[0], "--executor", "slurm",
                           "--results", str(tmp_path / "r"))
    assert code == 2 and "unknown executor 'slurm'" in err


def test_importing_earbench_does_not_import_ray():
    code = ("import sys, benchmark, benchmark.cli, benchmark.run.plan, benchmark.run.executors, benchmark.run.executors.local; "
            "assert 'ray' not in sys.modules, 'ray imported'")
    subprocess.run([sys.executable, "-c", code], check=True)
