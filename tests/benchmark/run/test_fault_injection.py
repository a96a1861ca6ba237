"""Fault injection: a small suite is `kill -9`ed at random points, during extraction (as shards
are written), between and during probes and as records are written, and resumed each time;
the records it ends with must be an uninterrupted run's (metrics, chosen settings, per-item
outputs), with no temporary, partial or duplicate file left."""
from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.tone_task import write_tone_task

KILLS = 10
VOLATILE = ("timing", "env", "date")  # what differs between two runs of the same thing


def command(tasks: list[Path]) -> list[str]:
    """Two tasks x two seeds, in small batches: several shards per split, four records."""
    args = [str(Path(sys.executable).with_name("earbench")), "run", "-m", "logmel", "--seeds", "2",
            "--batch-seconds", "3",
            "--results", "results"]
    for task in tasks:
        args += ["-t", str(task)]
    return args


def start(folder: Path, tasks: list[Path]) -> subprocess.Popen:
    env = dict(os.environ, EARBENCH_HOME=str(folder / "home"), OMP_NUM_THREADS="1")
    return subprocess.Popen(command(tasks), cwd=folder, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def shards(folder: Path) -> int:
    return len(list((folder / "home").glob("cache/embeddings/*/*.partial/shard-*.npz")))


def records(folder: Path) -> int:
    return len(list((folder / "results").rglob("*.json")))


def kill_when(process: subprocess.Popen, ready, deadline_s: float) -> bool:
    """SIGKILL `process` as soon as `ready()` (or at the deadline); False if it ended first."""
    end = time.monotonic() + deadline_s
    while process.poll() is None:
        if ready() or time.monotonic() > end:
            process.send_signal(signal.SIGKILL)
            process.wait()
            return True
        time.sleep(0.005)
    return False


def outcome(folder: Path) -> dict[str, object]:
    """Every file a run leaves in its results folder: records without their volatile fields,
    sidecars byte for byte (their names are their content's digest)."""
    found: dict[str, object] = {}
    for path in sorted((folder / "results").rglob("*")):
        if path.is_dir() or path.name.endswith(".lock"):
            continue
        name = str(path.relative_to(folder / "results"))
        if path.suffix == ".json":
            found[name] = {k: v for k, v in json.loads(path.read_text()).items() if k not in VOLATILE}
        else:
            found[name] = path.read_bytes()
    return found


def leftovers(folder: Path) -> list[str]:
    """Temporaries, staging folders and set-aside files anywhere in what the run wrote."""
    return [str(p) for p in folder.rglob("*")
            if p.name.endswith((".tmp", ".partial")) or ".bad-" in p.name or ".staging" in p.name]


@pytest.mark.slow
def test_a_suite_killed_at_random_points_resumes_to_the_uninterrupted_records(tmp_path):
    tasks = [write_tone_task(tmp_path / name, per_class=8, seed=seed)
             for name, seed in (("tones-a", 0), ("tones-b", 1))]
    clean, faulty = tmp_path / "clean", tmp_path / "faulty"
    clean.mkdir(), faulty.mkdir()
    began = time.monotonic()
    reference = start(clean, tasks)
    assert reference.wait() == 0, reference.stderr.read().decode()
    duration = time.monotonic() - began
    expected = outcome(clean)
    assert sum(name.endswith(".json") for name in expected) == 4
    assert sum(".items-" in name for name in expected) == 4  # one sidecar per record

    rng = random.Random(20)
    kills, points = 0, []
    while kills < KILLS:
        process = start(faulty, tasks)
        point = rng.choice(["time", "shard", "record"])
        if point == "time":
            ready = (lambda at: lambda: time.monotonic() > at)(time.monotonic() + rng.uniform(0.2, duration))
        elif point == "shard":
            ready = (lambda n: lambda: shards(faulty) >= n)(shards(faulty) + rng.randint(1, 4))
        else:
            ready = (lambda n: lambda: records(faulty) >= n)(records(faulty) + 1)
        if kill_when(process, ready, deadline_s=2 * duration):
            kills += 1
            points.append(point)
        else:  # it finished first: check it, and start the suite afresh
            assert process.returncode == 0, process.stderr.read().decode()
            assert outcome(faulty) == expected and leftovers(faulty) == []
            for path in sorted(faulty.rglob("*"), reverse=True):
                path.unlink() if not path.is_dir() else path.rmdir()
    assert {"shard", "record"} <= set(points), points
    final = start(faulty, tasks)
    assert final.wait() == 0, final.stderr.read().decode()
    assert outcome(faulty) == expected
    assert leftovers(faulty) == []
