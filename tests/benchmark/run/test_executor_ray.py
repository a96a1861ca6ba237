"""The Ray executor on a local 2-CPU cluster: the same records as the local executor, a
failing job retried then reported while the others finish, and a rerun doing only what is
missing. Workers re-create upstreams from their spec strings (here also a HEAR module)."""
import json
import os
import sys

import pytest

ray = pytest.importorskip("ray")

from benchmark.run.executors import LocalExecutor  # noqa: E402
from benchmark.run.executors.ray import RayExecutor  # noqa: E402
from benchmark.run.plan import plan_suite  # noqa: E402
from benchmark.settings import RunSettings  # noqa: E402
from tests.support.tone_task import write_tone_task  # noqa: E402

FLAKY = '''"""A HEAR module whose encoder fails on real audio (as a lost device would), counting attempts."""
import os
import torch

ATTEMPTS = {attempts!r}


class Model(torch.nn.Module):
    sample_rate = 16000


def load_model():
    return Model()


def get_timestamp_embeddings(audio, model):
    if audio.abs().sum() > 0:
        with open(ATTEMPTS, "a") as f:
            f.write(f"{{os.getpid()}}\\n")
        raise RuntimeError("flaky encoder: device lost")
    frames = audio.shape[1] // 160 + 1
    return torch.zeros(audio.shape[0], frames, 4), torch.arange(frames)[None].repeat(audio.shape[0], 1) * 10.0


def get_scene_embeddings(audio, model):  # what clip tasks read: it fails the same way
    return get_timestamp_embeddings(audio, model)[0].mean(1)
'''


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """One local Ray instance for the module (starting Ray takes seconds); its workers can
    import the HEAR module written here."""
    modules = tmp_path_factory.mktemp("modules")
    attempts = modules / "attempts.txt"
    (modules / "flaky_hear_encoder.py").write_text(FLAKY.format(attempts=str(attempts)))
    old_path = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(modules), old_path) if p)
    sys.path.insert(0, str(modules))
    ray.init(num_cpus=2, include_dashboard=False, configure_logging=False, log_to_driver=False)
    yield attempts
    ray.shutdown()
    sys.path.remove(str(modules))
    if old_path is None:
        os.environ.pop("PYTHONPATH", None)
    else:
        os.environ["PYTHONPATH"] = old_path


@pytest.fixture
def tasks(tmp_path):
    return [str(write_tone_task(tmp_path / "tones", per_class=6)),
            str(write_tone_task(tmp_path / "folds", per_class=6, seed=1, kfold=True))]


def records(results):
    return {str(p.relative_to(results)): json.loads(p.read_text()) for p in sorted(results.rglob("*.json"))}


def run_settings(tmp_path, name):
    return RunSettings(results=tmp_path / name, cache_root=tmp_path / f"cache-{name}", progress=False)


def test_ray_gives_the_same_records_as_the_local_executor(cluster, tmp_path, tasks):
    models = ["logmel", "random-cnn"]
    local = LocalExecutor(progress=False).run(plan_suite(models, tasks, run_settings(tmp_path, "local"), seeds=2))
    remote = RayExecutor(retries=0, progress=False).run(plan_suite(models, tasks, run_settings(tmp_path, "ray"),
                                                                   seeds=2))
    assert not local.failed and not remote.failed
    assert sorted(remote.ran) == sorted(local.ran) and len(remote.ran) == 4 + 20
    here = f":{os.getpid()}"
    assert all(not r.worker.endswith(here) for r in remote.results)  # every job ran in a Ray worker
    assert len({r.worker for r in remote.results}) >= 2  # ... spread over several
    a, b = records(tmp_path / "local"), records(tmp_path / "ray")
    assert sorted(a) == sorted(b) and len(a) == 20
    for path in a:
        assert a[path]["metrics"] == b[path]["metrics"], path
        assert a[path]["upstream"]["fingerprint"] == b[path]["upstream"]["fingerprint"]
        assert a[path]["protocol"]["chosen"] == b[path]["protocol"]["chosen"]
    assert sum(bool(r["timing"]["embed_s"]) for r in b.values()) >= 4  # extraction time reaches the records
    # a rerun with two records lost does exactly those two probes (the cache is warm)
    lost = sorted(b)[:2]
    for path in lost:
        (tmp_path / "ray" / path).unlink()
    plan = plan_suite(models, tasks, run_settings(tmp_path, "ray"), seeds=2)
    assert len(plan.jobs) == 2 and all(j.kind == "probe" for j in plan.jobs)
    rerun = RayExecutor(progress=False).run(plan)
    assert sorted(rerun.ran) == sorted(plan.ids())
    assert records(tmp_path / "ray").keys() == b.keys()


def test_a_job_that_raises_is_retried_then_reported_while_the_others_finish(cluster, tmp_path, tasks):
    plan = plan_suite(["hear:flaky_hear_encoder", "logmel"], tasks, run_settings(tmp_path, "r"), seeds=1)
    report = RayExecutor(retries=1, progress=False).run(plan)
    failed = {r.job.id: r for r in report.failed}
    extractions = {"extract:hear:flaky_hear_encoder:tones", "extract:hear:flaky_hear_encoder:folds"}
    assert extractions <= set(failed)
    for job_id in extractions:
        assert failed[job_id].attempts == 2 and "device lost" in failed[job_id].error
    assert len(cluster.read_text().split()) == 4  # 2 extractions x (1 try + 1 retry), in the workers
    assert all(r.attempts == 0 for r in failed.values() if r.job.kind == "probe")  # never started
    assert len(failed) == 2 + 1 + 4
    done = records(tmp_path / "r")
    assert len(done) == 1 + 4 and all(r["upstream"]["name"] == "logmel" for r in done.values())


def test_the_command_line_runs_a_suite_on_ray(cluster, tmp_path, tasks, capsys):
    from tests.support.helpers import run_cli
    args = ("run", "-m", "logmel", "-m", "random-cnn", "-t", tasks[0], "--seeds", "2", "--executor", "ray",
            "--results", str(tmp_path / "r"), "--timings")
    code, out, err = run_cli(capsys, *args)
    assert code == 0, err
    assert "4 record(s)" in out and "2 slot(s); 6 job(s) run" in err
    code, out, err = run_cli(capsys, *args)  # all done: nothing is planned, the records are reported
    assert code == 0 and "4 record(s)" in out and "0 job(s) run, 6 already done" in err


def test_a_rerun_after_an_interrupted_ray_suite_does_only_the_missing_jobs(cluster, tmp_path, tasks):
    run = run_settings(tmp_path, "r")
    first = plan_suite(["logmel", "random-cnn"], tasks, run, seeds=2)
    finished = []

    def interrupt_after_six(result):
        finished.append(result.job.id)
        if len(finished) == 6:
            raise KeyboardInterrupt  # as Ctrl-C in the driver: in-flight jobs are cancelled

    with pytest.raises(KeyboardInterrupt):
        RayExecutor(progress=False).run(first, on_result=interrupt_after_six)
    second = plan_suite(["logmel", "random-cnn"], tasks, run, seeds=2)
    missing = set(first.ids()) - set(finished)
    # at most the two jobs in flight at the interruption may have finished before their cancellation
    assert set(second.ids()) <= missing and len(second.ids()) >= len(missing) - 2
    report = RayExecutor(progress=False).run(second)
    assert sorted(report.ran) == sorted(second.ids()) and not report.failed
    assert len(report.records) == 20 and len(records(tmp_path / "r")) == 20
