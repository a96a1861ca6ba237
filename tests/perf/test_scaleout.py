"""Scale-out evidence (workers, executors), measured in one run (`make perf`, or `pytest -m perf -s tests/perf/test_scaleout.py`):
a small suite on the local executor (in-process) against Ray with 2 workers on this
machine, from a cold embedding cache and an empty results folder each, with where the time
goes (extraction, probes, start-up, idle workers) from the per-job wall times.

The suite: mini-kws, mini-speaker, mini-instrument, mini-scenes (the mini suite's `small`
build, `EARBENCH_MINI_SIZE`), models logmel and random-cnn, linear probe, 3 seeds, run
in a symmetric order (`ORDER`: drift in the machine's load hits every variant alike); all
runs must give identical records. Before timing, one planning pass reads every audio
file (content digests), so that no run profits from another's warm page cache.
With `EARBENCH_REPORT_DIR` set (`make perf`) the table is written to docs/reports/scaleout.md.
"""
from __future__ import annotations

import json
import os
import time
from collections import defaultdict
from pathlib import Path

import pytest
import torch

from benchmark.run.executors import LocalExecutor
from benchmark.run.plan import plan_suite
from benchmark.settings import RunSettings

pytestmark = pytest.mark.perf
TASKS = ["mini-kws", "mini-speaker", "mini-instrument", "mini-scenes"]
MODELS = ["logmel", "random-cnn"]
SEEDS = 3
SLOTS = 2
#: local-1t: in-process with one torch thread, the control that separates Ray's parallelism
#: from the cost of intra-op threading on a busy machine
ORDER = ("local", "local-1t", "ray", "ray", "local-1t", "local")
LABELS = {"local": "local (in-process)", "local-1t": "local, 1 torch thread", "ray": f"ray ({SLOTS} workers)"}
REPORT_TITLE = "Scaling out on one machine: local executor against Ray"
REPORT_INTRO = f"""A small suite ({', '.join(TASKS)} x {', '.join(MODELS)}, linear, {SEEDS} seeds: 8 extractions,
24 probes) from cold caches on the local executor, on the local executor with one torch
thread, and on Ray with {SLOTS} workers; all runs must give identical records. Where the time
goes comes from the per-job wall times."""


def timed(executor, settings: RunSettings) -> tuple[float, float, object]:
    start = time.perf_counter()
    plan = plan_suite(MODELS, TASKS, settings, seeds=SEEDS)
    plan_s = time.perf_counter() - start
    report = executor.run(plan)
    return plan_s, time.perf_counter() - start, report


def per_kind(report) -> dict[str, tuple[int, float]]:
    sums: dict[str, list[float]] = defaultdict(list)
    for r in report.results:
        sums[r.job.kind].append(r.seconds)
    return {k: (len(v), sum(v)) for k, v in sums.items()}


def dispatch_s(report) -> float:
    """Turnaround beyond the job's own work: shipping it, and a fresh worker's imports."""
    return sum(max(r.turnaround_s - r.seconds, 0.0) for r in report.results)


def test_local_against_ray_on_a_small_suite(tmp_path, monkeypatch, perf_report):
    ray = pytest.importorskip("ray")
    from benchmark.run.executors.ray import RayExecutor
    data_home = Path(os.environ.get("EARBENCH_DATA_HOME", Path.home() / ".cache" / "earbench")).expanduser()
    size = os.environ.get("EARBENCH_MINI_SIZE", "small")
    if not all((data_home / "data" / "mini" / size / t / "task.toml").exists() for t in TASKS):
        pytest.skip(f"build the mini suite first: earbench data build mini --size {size}")
    monkeypatch.setenv("EARBENCH_HOME", str(data_home))  # the built data; caches below are fresh
    monkeypatch.setenv("EARBENCH_MINI_SIZE", size)
    plan_suite(MODELS, TASKS, RunSettings(results=tmp_path / "warmup", cache_root=tmp_path / "warmup"), seeds=1)

    runs = []  # symmetric order: drift in the machine's load hits every variant alike
    threads = torch.get_num_threads()
    for k, name in enumerate(ORDER):
        settings = RunSettings(results=tmp_path / f"results-{k}", cache_root=tmp_path / f"cache-{k}", progress=False)
        executor = (RayExecutor(num_cpus=SLOTS, retries=0, progress=False) if name == "ray"
                    else LocalExecutor(progress=False))
        load = os.getloadavg()[0]
        torch.set_num_threads(1 if name == "local-1t" else threads)
        try:
            plan_s, wall, report = timed(executor, settings)
        finally:
            torch.set_num_threads(threads)
        assert not report.failed
        metrics = {str(p.relative_to(settings.results)): json.loads(p.read_text())["metrics"]
                   for p in settings.results.rglob("*.json")}
        runs.append((name, plan_s, wall, report, metrics, load))
    reference = runs[0][4]
    assert len(reference) == len(TASKS) * len(MODELS) * SEEDS
    assert all(metrics == reference for *_, metrics, _ in runs)  # every run: the same records
    assert all(sorted(r[3].ran) == sorted(runs[0][3].ran) for r in runs)

    rows = []
    for name, plan_s, wall, report, metrics, load in runs:
        kinds = per_kind(report)
        busy = sum(s for _, s in kinds.values())
        run_s = report.wall_s - report.startup_s
        label = LABELS[name]
        rows.append(f"| {label} | {wall:.1f} | {plan_s:.1f} | {report.startup_s:.1f} | "
                    f"{kinds['extract'][1]:.1f} ({kinds['extract'][0]}) | {kinds['probe'][1]:.1f} ({kinds['probe'][0]}) | "
                    f"{max(run_s * report.slots - busy, 0.0):.1f} | {dispatch_s(report):.1f} | {len(metrics)} | "
                    f"{load:.1f} |")
    mean = {name: sum(r[2] for r in runs if r[0] == name) / ORDER.count(name) for name in LABELS}
    by_pair = defaultdict(lambda: defaultdict(list))
    for name, _, _, report, _, _ in runs:
        for r in report.results:
            if r.job.kind == "extract":
                by_pair[r.job.task + " / " + r.job.upstream][name].append(r.seconds)
    table = "\n".join([
        f"suite: {', '.join(TASKS)} x {', '.join(MODELS)}, linear, {SEEDS} seeds (mini size {size}); "
        f"{os.cpu_count()} CPUs, torch threads in-process {threads} (local-1t: 1), "
        f"1 per Ray worker; order {', '.join(ORDER)}, each from a cold cache",
        "",
        "| executor | wall s | planning s | start-up s | extraction s of work (jobs) | probes s of work (jobs) "
        "| idle worker s | of which dispatch s | records | load avg at start |",
        "|---|---|---|---|---|---|---|---|---|---|",
        *rows,
        "",
        f"mean wall: local {mean['local']:.1f} s, local with 1 torch thread {mean['local-1t']:.1f} s, "
        f"ray {mean['ray']:.1f} s (ray's speed-up over local: {mean['local'] / mean['ray']:.2f}x)",
        "",
        "| extraction job | " + " | ".join(f"{LABELS[n]} s (2 runs)" for n in LABELS) + " |",
        "|---|---|---|---|",
        *[f"| {pair} | " + " | ".join(" / ".join(f"{x:.1f}" for x in t[n]) for n in LABELS) + " |"
          for pair, t in sorted(by_pair.items())],
    ])
    breakdowns = "\n".join(f"{r[0]} run {k + 1} breakdown:\n{r[3].breakdown()}" for k, r in enumerate(runs))
    print(f"\n{table}\n\n{breakdowns}")
    perf_report.text(table)
    perf_report.text(f"```text\n{breakdowns}\n```")
    del ray
