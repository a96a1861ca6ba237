"""The `earbench` command line: one entry point, subcommands, plugins via `earbench.commands`.

Start-up is part of the interface: `earbench --help` and `earbench list ...` import no
torch, scipy, pandas or matplotlib (tests/test_cli_startup.py). So this module, like every
plugin's command module, imports only typer, rich and light modules at the top, and each
command imports what it runs inside its body (docs/design.md, "The CLI's start-up").
"""
from __future__ import annotations

import functools
import shlex
import sys
import warnings
from collections import Counter, defaultdict
from pathlib import Path
from typing import TYPE_CHECKING, Callable, List, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from benchmark.errors import EarbenchError
from benchmark.registry import Registry, import_string

if TYPE_CHECKING:
    from benchmark.record import Record

app = typer.Typer(
    help="earbench: benchmark audio representations.\n\n"
         "Typical session: `earbench list tasks`, `earbench check logmel`, "
         "`earbench run --model logmel --task mini-kws --seeds 3`, `earbench leaderboard --results results`.",
    no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
console = Console(stderr=True)
out = Console()


def guarded(command: Callable[..., None]) -> Callable[..., None]:
    """Turn harness errors into one clear line (exit 2) and Ctrl-C into a resume hint (130)."""
    @functools.wraps(command)
    def wrapper(*args: object, **kwargs: object) -> None:
        try:
            command(*args, **kwargs)
        except EarbenchError as err:
            console.print(f"[red]error:[/red] {escape(str(err))}", highlight=False, soft_wrap=True)  # text as written
            raise typer.Exit(2) from None
        except KeyboardInterrupt:
            console.print("[yellow]interrupted; finished work is kept: run the same command again to resume[/yellow]")
            raise typer.Exit(130) from None
    return wrapper


#: what `earbench list KIND` reads: each kind's registry, imported only when that kind is listed; and `recipes`,
#: the pre-training recipes, a plugin kind without a registry in the core (models/plugin.py declares the built-ins;
#: `earbench pretrain --recipe NAME`): the one listing that imports torch (recipes hold their models' configs)
LISTINGS = {"tasks": "benchmark.task:TASKS", "models": "benchmark.upstream:UPSTREAMS", "suites": "benchmark.task:SUITES",
            "benchmarks": "benchmark.benchmarks:BENCHMARKS", "protocols": "benchmark.protocols:PROTOCOLS",
            "metrics": "benchmark.scoring.metrics:METRICS"}
KINDS = [*LISTINGS, "recipes"]


@app.command("list")
@guarded
def list_(what: str = typer.Argument(..., help=" | ".join(KINDS))) -> None:
    """List registered names (built-ins and plugins)."""
    if what not in KINDS:
        raise EarbenchError(f"cannot list {what!r}; choose one of {', '.join(KINDS)}")
    registry = import_string(LISTINGS[what]) if what in LISTINGS else Registry("recipe", "earbench.recipes")
    if what == "models":
        from benchmark.upstream import SCHEMES
        print_models(registry.names())
        out.print(f"[dim]and specs: {', '.join(s + ':...' for s in SCHEMES.names())}[/dim]")
        return
    for name in registry.names():
        if what == "benchmarks":  # with each task's declared protocol
            bench = registry.get(name)
            out.print(f"{name}  [dim]{escape(bench.description)}[/dim]", highlight=False, soft_wrap=True)
            for task in bench.tasks:
                out.print(f"  {task.task}: {task.label}", highlight=False, markup=False)
        elif what == "recipes":  # with what each trains
            description = getattr(registry.get(name), "description", "")
            out.print(f"{name}  [dim]{description}[/dim]" if description else name, highlight=False, soft_wrap=True)
        else:
            out.print(name)


def print_models(names: list[str]) -> None:
    """The zoo as a table of what is published about each checkpoint, then the other upstream names."""
    from benchmark.upstreams.zoo import MODELS, ZOO
    table = Table(title="model zoo (weights from the Hugging Face Hub; s3prl names load the same checkpoint)")
    for column in ("name", "repo @ revision", "architecture", "params", "license", "training data", "paper",
                   "Hz", "hop ms", "s3prl names"):
        table.add_column(column, overflow="fold")
    for m in MODELS:
        table.add_row(m.name, f"{m.repo} @ {m.short_revision}", m.architecture, f"{m.params_m:g}M", m.license,
                      m.training_data, m.paper, str(m.sample_rate), f"{m.hop_ms:g}", ", ".join(m.s3prl))
    out.print(table)
    others = [name for name in names if name not in ZOO]
    if others:
        out.print(f"other upstreams: {', '.join(others)}", highlight=False, soft_wrap=True)


@app.command()
@guarded
def check(model: str = typer.Argument(..., help="a registered name, hear:MODULE[:WEIGHTS], ckpt:PATH, ...")) -> None:
    """Validate an upstream against the contract: shapes, lengths, dtype, finiteness, hop,
    determinism and batch independence. Exits 1 if any check fails."""
    from benchmark.upstreams.check import check_upstream
    from benchmark.upstream import load_upstream
    upstream = load_upstream(model)
    table = Table(title=f"earbench check {model}")
    for column in ("check", "result", "detail"):
        table.add_column(column)
    results = check_upstream(upstream)
    for r in results:
        table.add_row(r.name, "[green]ok[/green]" if r.ok else "[red]FAIL[/red]", escape(r.detail))
    out.print(table)
    failed = [r.name for r in results if not r.ok]
    if failed:
        console.print(f"[red]{escape(model)}: {len(failed)} check(s) failed: {escape(', '.join(failed))}[/red]")
        raise typer.Exit(1)
    out.print(f"[green]{model} satisfies the upstream contract[/green]")


@app.command()
@guarded
def run(
    model: List[str] = typer.Option(..., "--model", "-m", help="Upstream(s): a registered name or a spec; repeatable."),
    task: List[str] = typer.Option([], "--task", "-t", help="Task name or folder task path; repeatable."),
    suite: Optional[str] = typer.Option(None, "--suite", "-s", help="A named suite of tasks (see `earbench list suites`)."),
    benchmark: Optional[str] = typer.Option(None, "--benchmark", "-b", help="A benchmark: its tasks, each with its "
                                            "declared protocol, layer and pooling (see `earbench list benchmarks`)."),
    protocol: Optional[str] = typer.Option(None, help="How to score (see `earbench list protocols`; default linear)."),
    layer: str = typer.Option("last", help="'last', a hidden-state index (0 = first), or 'weighted' "
                                           "(SUPERB's learned softmax-weighted sum of all layers)."),
    pooling: Optional[str] = typer.Option(
        None, help="Clip pooling: mean | max | cls (of the frames) | scene (the upstream's own clip embedding: a "
                   "HEAR module's get_scene_embeddings) | attention (learned over the frames). Default: scene on "
                   "clip tasks for upstreams that have one (as the HEAR kit), else mean; records say which."),
    train_fraction: float = typer.Option(1.0, help="Train on this share of the training split (label efficiency; "
                                                   "a stratified draw per seed)."),
    prompt: List[str] = typer.Option([], help="Zero-shot prompt template with {label}; repeatable "
                                              "(default: 'the sound of {label}', '{label} can be heard')."),
    option: List[str] = typer.Option([], "--option", "-o", help="Protocol setting KEY=VALUE, repeatable "
                                                                "(e.g. -o encoder_lr=1e-5 -o layer_decay=0.75)."),
    seeds: int = typer.Option(1, min=1, help="Seeds 0..N-1 of the head's training; intervals cover test items "
                                             "with one, and seeds too with more."),
    results: Path = typer.Option(Path("results"), help="Where result records are written."),
    workers: int = typer.Option(0, min=0, help="DataLoader processes reading and resampling audio."),
    batch_seconds: float = typer.Option(160.0, help="Audio seconds per batch (padded), bounding memory."),
    rerun: bool = typer.Option(False, help="Recompute runs whose record already exists."),
    executor: str = typer.Option("local", help="Where jobs run: 'local' (this process, or one worker per visible "
                                              "GPU) or 'ray' (a Ray cluster; pip install 'earbench[ray]')."),
    address: Optional[str] = typer.Option(None, help="Ray: address of a running cluster (HEAD:6379 or 'auto'); "
                                                     "default: start Ray on this machine."),
    processes: Optional[int] = typer.Option(None, min=1, help="Worker processes (local: default one per GPU when "
                                                              "there are several; ray without --address: CPUs)."),
    retries: Optional[int] = typer.Option(None, min=0, help="Retries of a failed job (default: 0 local, 2 ray); "
                                                            "harness errors (bad audio, contract) are not retried."),
    timings: bool = typer.Option(False, help="Print where the time went (extraction, probes, idle)."),
    device: Optional[str] = typer.Option(None, help="Where the heads train: cpu, cuda, cuda:N (default: the GPU "
                                                    "when one is visible)."),
    cache_budget: Optional[str] = typer.Option(None, help="Most disk a pairing's frame cache may take, e.g. 40GB "
                                                          "(default: the free space); above it, CTC and "
                                                          "attention-pooling heads stream their frames."),
    frame_hop: Optional[float] = typer.Option(None, help="Store frames averaged to this hop in ms, a multiple of "
                                                         "the upstream's (e.g. 40 for 20 ms frames): a smaller "
                                                         "frame cache, coarser frames."),
) -> None:
    """Evaluate upstream(s) on task(s): embeddings are cached, records written to RESULTS.

    The run is planned as jobs: one embedding extraction per (model, task), then one probe
    per seed and fold. Re-running the same command skips finished records and cached
    embeddings, so an interrupted run (Ctrl-C) resumes where it stopped.
    """
    from benchmark.run.executors import make_executor
    from benchmark.run.plan import plan_benchmark, plan_suite, task_list
    from benchmark.features.frame_budget import parse_size
    from benchmark.settings import RunSettings
    if benchmark is not None:
        fixed = [flag for flag, given in (("--task", task), ("--suite", suite), ("--protocol", protocol),
                                          ("--layer", layer != "last"), ("--pooling", pooling),
                                          ("--train-fraction", train_fraction != 1.0), ("--option", option),
                                          ("--prompt", prompt)) if given]
        if fixed:
            raise EarbenchError(f"--benchmark {benchmark} declares each task's protocol; drop {', '.join(fixed)} "
                                f"(or run the tasks without --benchmark)")
    elif not task and not suite:
        raise EarbenchError("give --task, --suite or --benchmark (see `earbench list tasks`, `earbench list suites` "
                            "and `earbench list benchmarks`)")
    # the same settings, planning and executors as `evaluate()`
    settings = RunSettings(protocol=protocol or "linear", layer=layer, pooling=pooling, train_fraction=train_fraction,
                           options=parse_options(option), prompts=prompt, results=results, workers=workers,
                           batch_seconds=batch_seconds, progress=True, rerun=rerun, command=command_line(),
                           device=device, cache_budget=parse_size(cache_budget) if cache_budget else None,
                           frame_hop=frame_hop)
    runner = make_executor(executor, address=address, retries=retries, processes=processes)
    if benchmark is not None:
        single = False
        plans = plan_benchmark(model, benchmark, settings, seeds=seeds, strict=False)
    else:
        tasks = task_list(task, suite)
        single = len(tasks) == 1 and len(model) == 1  # then an error is the answer, as one clear line
        plans = [plan_suite(model, tasks, settings, seeds=seeds, strict=single)]
    failures, records, reports = [], [], []
    for why, count in Counter(why for plan in plans for why in plan.stale.values()).items():
        console.print(f"[yellow]note:[/yellow] {count} record(s) in {escape(str(results))}/ recomputed, not reused: "
                      f"{escape(why)}",
                      highlight=False, soft_wrap=True)
    for task_name, why in dict.fromkeys(s for plan in plans for s in plan.skipped):
        console.print(f"[yellow]note:[/yellow] {escape(task_name)} left out of --suite under --protocol "
                      f"{escape(settings.protocol)}: {escape(why)} (name it with -t to run it anyway)",
                      highlight=False, soft_wrap=True)
    for note in dict.fromkeys(n for plan in plans for n in plan.notes):
        console.print(f"[dim]note:[/dim] {escape(note)}", highlight=False, soft_wrap=True)
    problems = dict.fromkeys((what, str(err)) for plan in plans for what, err in plan.problems)  # once, not per group
    for what, err in problems:  # one failing pairing is reported, the others run
        console.print(f"[red]error:[/red] {escape(what)}: {escape(str(err))}", highlight=False, soft_wrap=True)
        failures.append(what)
    for plan in plans:
        report = runner.run(plan)
        reports.append(report)
        records += report.records
        for failed in report.failed:
            if single and failed.exception is not None:
                raise failed.exception
            console.print(f"[red]error:[/red] {escape(failed.job.id)}: {escape(str(failed.error))}"
                          + (f" (after {failed.attempts} attempts)" if failed.attempts > 1 else ""),
                          highlight=False, soft_wrap=True)
            if not failed.harness_error and failed.trace:
                console.print(failed.trace, highlight=False, markup=False)
            failures.append(failed.job.id)
    print_summary(records, results)
    out.print(f"{len(records)} record(s) in {results}/", markup=False)
    if timings:
        for report in reports:
            console.print(report.breakdown(), highlight=False)
    if failures:
        raise EarbenchError(f"{len(failures)} run(s) failed (see above): {'; '.join(failures)}")


def command_line() -> str:
    """This invocation as one shell line (`earbench run -m logmel ...`), for the records to keep."""
    return shlex.join([Path(sys.argv[0]).name, *sys.argv[1:]])


def parse_options(items: List[str]) -> dict:
    """KEY=VALUE pairs; values read as JSON where they parse (numbers, booleans), else as text."""
    import json
    options = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise EarbenchError(f"--option expects KEY=VALUE, got {item!r}")
        try:
            options[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            options[key.strip()] = value
    return options


def print_summary(records: list["Record"], results: Path) -> None:
    """One row per (model, task, protocol): the mean over runs and its 95% interval, from a
    bootstrap over test items (and seeds) where the records hold per-item outputs, else the
    Student-t interval over seeds; `over` says which ("none": one run without them)."""
    groups: dict[tuple, list["Record"]] = defaultdict(list)
    for r in records:
        groups[r.model, r.task_name, r.label, r.main_metric].append(r)
    table = Table(title="results: mean over runs, 95% interval over test items (bootstrap) or seeds")
    for column in ("model", "task", "protocol", "metric", "score [95% interval]", "over"):
        table.add_column(column, no_wrap=column in ("model", "task", "protocol"))  # names stay whole
    for (model, task, protocol, metric), group in groups.items():
        mean = sum(r.metrics[metric] for r in group) / len(group)
        interval, over = summary_interval(group, results)
        runs = f"{len(group)} run" + ("s" if len(group) > 1 else "")
        table.add_row(escape(model), escape(task), escape(protocol), metric, f"{mean:.4f} {escape(interval)}",
                      f"{over}, {runs}")
    out.print(table)


def summary_interval(group: list["Record"], results: Path) -> tuple[str, str]:
    """The interval of one summary row and what it covers (as the leaderboard computes it)."""
    from benchmark.scoring.bootstrap import item_runs, result_interval
    from benchmark.scoring.stats import summarise
    first = group[0]
    runs = item_runs((r.seed, r.fold, r.main_metric, r.outputs(r.path(results))) for r in group)
    if runs is not None:
        lo, hi = result_interval(runs, first.main_metric, first.task_name, first.label)
        return f"[{lo:.4f}, {hi:.4f}]", "items+seeds" if len(group) > 1 else "items"
    summary = summarise([r.metrics[first.main_metric] for r in group])
    if summary.n < 2:
        return "", "none"
    return f"± {summary.ci95:.4f}", "seeds (t)"


def add_plugin_commands() -> None:
    """Commands contributed by packages (the leaderboard, data building, ...); a name `GROUP NAME`
    (`analyse checkpoints`) joins that command group."""
    commands: Registry[object] = Registry("command", "earbench.commands")
    try:
        names = commands.names()
    except EarbenchError as err:  # a broken plugin must not break the CLI
        console.print(f"[yellow]warning: no plugin commands: {escape(str(err))}[/yellow]")
        return
    for name in names:
        try:
            command = commands.get(name)
        except Exception as err:  # noqa: BLE001 - a broken plugin must not break the CLI
            console.print(f"[yellow]warning: plugin command {escape(repr(name))} failed to load: {escape(str(err))}[/yellow]")
            continue
        group, _, leaf = name.rpartition(" ")
        parent = GROUPS.get(group, app) if group else app
        if group and group not in GROUPS:
            console.print(f"[yellow]warning: plugin command {escape(repr(name))}: no command group "
                          f"{escape(repr(group))}[/yellow]")
            continue
        if isinstance(command, typer.Typer):
            parent.add_typer(command, name=leaf)
        else:
            parent.command(leaf)(guarded(command))


#: command groups that plugins may add commands to (`GROUP NAME` in `earbench.commands`)
GROUPS = {"analyse": import_string("benchmark.analyses.cli:commands")(guarded, parse_options, command_line)}
for _group, _commands in GROUPS.items():
    app.add_typer(_commands, name=_group)


def one_line_warning(message, category, filename, lineno, line=None) -> str:
    """Warnings about the user's input (a task's duplicate rows, ...) name their file in the
    message; the harness line that raised them would only be noise."""
    return f"warning: {message}\n"


def main() -> None:
    warnings.formatwarning = one_line_warning
    add_plugin_commands()
    app()
