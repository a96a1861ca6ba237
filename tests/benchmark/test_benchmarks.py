"""Benchmarks as declared protocols: the declarations, `earbench run --benchmark`, and one row per model."""
from __future__ import annotations

import json

import numpy as np
import pytest

from benchmark.benchmarks import BENCHMARKS, Benchmark, BenchmarkError, TaskProtocol
from benchmark.protocols import PROTOCOLS
from benchmark.record import Record
from benchmark.settings import RunSettings
from benchmark.sources.folder import load_folder_task
from benchmark.task import TASKS, suite_tasks
from leaderboard.boards import boards_from
from tests.support.helpers import run_cli
from tests.support.records import write_runs
from tests.support.tone_task import write_tone_task


def test_built_in_benchmarks_declare_known_protocols_on_their_suites():
    assert {"mini", "superb-lite", "hear-lite"} <= set(BENCHMARKS.names())
    for name in BENCHMARKS.names():
        bench = BENCHMARKS.get(name)
        for t in bench.tasks:
            assert t.protocol in PROTOCOLS, (name, t)
    mini = BENCHMARKS.get("mini")
    assert mini.task_names == suite_tasks("mini")
    assert {t.task: t.protocol for t in mini.tasks}["mini-asr"] == "bilstm"
    assert {t.protocol for t in mini.tasks if t.task != "mini-asr"} == {"linear"}
    groups = mini.groups(RunSettings(results=None))
    assert [(s.protocol, len(tasks)) for s, tasks in groups] == [("linear", 10), ("bilstm", 1)]
    assert {t.layer for t in BENCHMARKS.get("superb-lite").tasks} == {"weighted"}


def test_the_demo_benchmark_has_a_task_of_every_family_but_asr():
    plan_task = pytest.importorskip("tasks.mini.build").plan_task
    quick = BENCHMARKS.get("mini-quick")
    assert set(quick.task_names) < set(suite_tasks("mini")) and {t.protocol for t in quick.tasks} == {"linear"}
    family = {name: plan_task(name, "tiny", 0).family for name in suite_tasks("mini")}
    assert {family[t] for t in quick.task_names} == set(family.values()) - {"asr"}


@pytest.mark.parametrize("make, message", [
    (lambda: Benchmark("b", ()), "declares no task"),
    (lambda: Benchmark("b", (TaskProtocol("x"), TaskProtocol("x", "knn"))), "more than once"),
    (lambda: TaskProtocol("x", pooling="median"), "--pooling must be one of"),
    (lambda: TaskProtocol("x", layer="deepest"), "--layer must be"),
    (lambda: TaskProtocol("x", floor=float("nan")), "floor must be a finite number"),
    (lambda: TaskProtocol("x", options={"k": object()}), "not a JSON value"),
])
def test_bad_declarations_are_refused_naming_the_task(make, message):
    with pytest.raises(BenchmarkError, match=message):
        make()


def test_a_declaration_matches_its_own_records_only():
    decl = TaskProtocol("t", "linear", options={"max_epochs": 5})
    assert decl.variant.startswith("linear-opt_")
    assert decl.matches(decl.variant, "last", "mean") and decl.matches(decl.variant, "last", "scene")
    assert not decl.matches("linear", "last", "mean")  # the same protocol without the options
    assert not decl.matches(decl.variant, "weighted", "mean")
    assert TaskProtocol("t", pooling="max").matches("linear", "last", "max")
    assert not TaskProtocol("t", pooling="max").matches("linear", "last", "mean")


@pytest.fixture
def tone_benchmark(tmp_path, monkeypatch):
    """Two registered tone tasks: one scored by the linear probe, one by kNN."""
    names = []
    for k in range(2):
        root = write_tone_task(tmp_path / f"tones-{k}", per_class=8, seed=k)
        monkeypatch.setitem(TASKS._objects, root.name, load_folder_task(root))
        names.append(root.name)
    bench = Benchmark("tones", (TaskProtocol(names[0], "linear"), TaskProtocol(names[1], "knn")))
    monkeypatch.setitem(BENCHMARKS._objects, "tones", bench)
    return bench


def test_run_benchmark_runs_exactly_the_declared_protocols(tone_benchmark, tmp_path, capsys):
    results = tmp_path / "results"
    code, _, err = run_cli(capsys, "run", "--benchmark", "tones", "-m", "logmel", "--results", str(results))
    assert code == 0, err
    records = [Record.read(p) for p in sorted(results.rglob("*.json"))]
    assert sorted((r.task_name, r.variant) for r in records) == sorted(
        (t.task, t.protocol) for t in tone_benchmark.tasks)
    assert all("--benchmark tones" in r.command for r in records)
    # the same command again reuses every record
    written = {p: p.stat().st_mtime_ns for p in results.rglob("*.json")}
    code, out, _ = run_cli(capsys, "run", "--benchmark", "tones", "-m", "logmel", "--results", str(results))
    assert code == 0 and "2 record(s)" in out
    assert {p: p.stat().st_mtime_ns for p in results.rglob("*.json")} == written


@pytest.mark.parametrize("extra", [("--protocol", "knn"), ("--layer", "0"), ("-t", "mini-kws"), ("-o", "k=3")])
def test_run_benchmark_refuses_settings_it_declares(tone_benchmark, tmp_path, capsys, extra):
    code, _, err = run_cli(capsys, "run", "--benchmark", "tones", "-m", "logmel", *extra,
                           "--results", str(tmp_path / "r"))
    assert code == 2 and "declares each task's protocol" in err and extra[0] in err
    assert not (tmp_path / "r").exists() or not any((tmp_path / "r").rglob("*.json"))


def test_an_unknown_benchmark_is_named(tmp_path, capsys):
    code, _, err = run_cli(capsys, "run", "--benchmark", "minii", "-m", "logmel", "--results", str(tmp_path))
    assert code == 2 and "minii" in err and "mini" in err


def write_benchmark_records(root):
    """Three models on the two tone tasks: the declared protocols, plus records of other protocols."""
    for model, kws, sed in (("logmel", [0.50, 0.52], [0.30, 0.32]), ("eat", [0.80, 0.82], [0.60, 0.62]),
                            ("byol", [0.60, 0.62], [0.25, 0.27])):
        write_runs(root, model, "t-linear", kws)
        write_runs(root, model, "t-knn", sed, protocol="knn")
        write_runs(root, model, "t-knn", [s + 0.3 for s in sed])  # linear on the kNN task: another board
    write_runs(root, "eat", "t-linear", [0.9, 0.91], layer="weighted")  # another layer: another board


@pytest.fixture
def record_benchmark(monkeypatch):
    bench = Benchmark("pair", (TaskProtocol("t-linear", "linear"), TaskProtocol("t-knn", "knn")))
    monkeypatch.setitem(BENCHMARKS._objects, "pair", bench)
    return bench


def test_the_benchmark_board_has_one_row_per_model_and_the_floor_scores_zero(tmp_path, record_benchmark):
    write_benchmark_records(tmp_path)
    main, *others = boards_from(tmp_path, benchmark="pair")
    assert main.title == "benchmark pair" and main.benchmark == "pair"
    assert sorted(main.entries.index) == ["byol", "eat", "logmel"]
    assert main.entries["rank"].notna().all()
    assert main.entries.loc["logmel", "overall"] == 0.0
    # floor = logmel's own declared-protocol score; ceiling = 1.0 (accuracy)
    eat_linear, floor_linear = np.mean([0.80, 0.82]), np.mean([0.50, 0.52])
    eat_knn, floor_knn = np.mean([0.60, 0.62]), np.mean([0.30, 0.32])
    expected = np.mean([100 * (eat_linear - floor_linear) / (1 - floor_linear),
                        100 * (eat_knn - floor_knn) / (1 - floor_knn)])
    assert main.entries.loc["eat", "overall"] == pytest.approx(expected)
    lo, hi = main.entries.loc["eat", ["overall_lo", "overall_hi"]]
    assert lo <= main.entries.loc["eat", "overall"] <= hi
    # every other record is on its own protocol's board, one row per model, never in a benchmark row
    titles = {b.title: b for b in others}
    assert set(titles) == {"linear, layer last, mean", "linear, layer weighted, mean"}
    assert titles["linear, layer last, mean"].tasks == ["t-knn"]
    assert titles["linear, layer last, mean"].cells.loc[("eat", "t-knn"), "mean"] == pytest.approx(0.91)
    assert main.cells.loc[("eat", "t-knn"), "mean"] == pytest.approx(0.61)
    assert list(titles["linear, layer weighted, mean"].entries.index) == ["eat"]


def test_declared_floors_and_ceilings_replace_the_floor_model_and_perfect_score(tmp_path, monkeypatch):
    write_benchmark_records(tmp_path)
    bench = Benchmark("pair", (TaskProtocol("t-linear", "linear", floor=0.25, ceiling=0.9),
                               TaskProtocol("t-knn", "knn")))
    monkeypatch.setitem(BENCHMARKS._objects, "pair", bench)
    main = boards_from(tmp_path, benchmark="pair")[0]
    assert main.scales["t-linear"].floor == 0.25 and main.scales["t-linear"].ceiling == 0.9
    assert main.scales["t-knn"].floor == pytest.approx(0.31) and main.scales["t-knn"].ceiling == 1.0
    assert main.cells.loc[("logmel", "t-linear"), "normalised"] == pytest.approx(100 * (0.51 - 0.25) / 0.65)


def test_leaderboard_benchmark_writes_every_board(tmp_path, capsys, record_benchmark):
    results, out = tmp_path / "results", tmp_path / "site"
    write_benchmark_records(results)
    code, text, err = run_cli(capsys, "leaderboard", "--results", str(results), "--benchmark", "pair",
                              "--out", str(out))
    assert code == 0, err
    assert text.startswith("# earbench leaderboard: benchmark `pair`")
    assert "### linear, layer last, mean" in text and "### linear, layer weighted, mean" in text
    csv = (out / "leaderboard.csv").read_text().splitlines()
    assert csv[0].startswith("board,rank,") and sum(line.startswith("benchmark pair,") for line in csv) == 3
    code, _, err = run_cli(capsys, "leaderboard", "--results", str(results), "--benchmark", "nope")
    assert code == 2 and "nope" in err


def test_scene_records_win_over_mean_where_the_pairing_chose_its_default(tmp_path, record_benchmark):
    write_runs(tmp_path, "logmel", "t-linear", [0.5])
    write_runs(tmp_path, "logmel", "t-knn", [0.3], protocol="knn")
    write_runs(tmp_path, "hearmod", "t-linear", [0.7], pooling="scene")
    write_runs(tmp_path, "hearmod", "t-linear", [0.6], pooling="mean")  # asked for explicitly: another board
    write_runs(tmp_path, "hearmod", "t-knn", [0.4], protocol="knn", pooling="scene")
    main, *others = boards_from(tmp_path, benchmark="pair")
    assert main.cells.loc[("hearmod", "t-linear"), "mean"] == pytest.approx(0.7)
    assert [b.title for b in others] == ["linear, layer last, mean"]


def test_the_committed_board_is_the_mini_benchmark():
    from leaderboard import committed
    main = committed.boards()[0]
    assert main.benchmark == "mini" and main.entries.loc["logmel", "overall"] == 0.0
    assert json.dumps(list(main.tasks)) == json.dumps(suite_tasks("mini"))


def test_compare_on_a_benchmark_takes_each_tasks_declared_records(tmp_path, capsys, record_benchmark):
    write_benchmark_records(tmp_path)
    code, _, err = run_cli(capsys, "compare", "eat", "logmel", "--results", str(tmp_path))
    assert code == 2 and "several entries" in err  # without the benchmark, eat is several entries
    code, out, err = run_cli(capsys, "compare", "eat", "logmel", "--results", str(tmp_path), "--benchmark", "pair")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith("t-linear") and "0.8100 vs 0.5100" in lines[0]
    assert lines[1].startswith("t-knn") and "0.6100 vs 0.3100" in lines[1]  # kNN's records, not linear's 0.91
