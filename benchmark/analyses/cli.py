"""`earbench analyse KIND`: one subcommand per analysis (docs/analyses.md).

Imports only typer at the top (the CLI's start-up, docs/design.md); each command imports its
analysis in its body. The commands are built by `commands`, which `benchmark/cli.py` calls
with its own error guard, option parser and command line, so this module, a layer below
the CLI, imports nothing from it.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable, List, Optional

import typer

MODELS = typer.Option(..., "--model", "-m", help="Upstream(s): a registered name or a spec; repeatable.")
TASKS = typer.Option([], "--task", "-t", help="Task name or folder task path; repeatable.")
SUITE = typer.Option(None, "--suite", "-s", help="A named suite of tasks.")
PROTOCOL = typer.Option("linear", help="How to score (see `earbench list protocols`).")
LAYER = typer.Option("last", help="'last', a hidden-state index or 'weighted'.")
POOLING = typer.Option(None, help="Clip pooling (default: each pairing's, as `earbench run`).")
OPTION = typer.Option([], "--option", "-o", help="Protocol setting KEY=VALUE, repeatable.")
SEEDS = typer.Option(3, min=1, help="Seeds 0..N-1 per point (combined in its interval).")
RESULTS = typer.Option(Path("results"), help="Where the runs' result records are written (and reused).")
OUT = typer.Option(Path("analyses"), help="Where the analysis' Markdown table (KIND.md) and plot (KIND.svg) go.")
RERUN = typer.Option(False, help="Recompute runs whose record already exists.")


def tasks_of(task: List[str], suite: Optional[str]) -> list:
    """The tasks of --task / --suite (at least one of them given)."""
    from benchmark.errors import EarbenchError
    from benchmark.run.plan import task_list
    if not task and not suite:
        raise EarbenchError("give --task or --suite (see `earbench list tasks`, `earbench list suites`)")
    return task_list(task, suite)


def commands(guard: Callable, parse_options: Callable[[List[str]], dict], command_line: Callable[[], str]
             ) -> typer.Typer:
    """The `analyse` command group; `guard` turns harness errors into one line, `parse_options`
    reads -o KEY=VALUE, `command_line` is the invocation the records keep."""
    app = typer.Typer(help="Analyses beyond one score per task: label efficiency, layer-wise probes, cost, "
                           "robustness to corruptions, attribute leakage (docs/analyses.md).",
                      no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)

    def settings(protocol: str, layer: str, pooling: Optional[str], option: List[str], results: Path, rerun: bool):
        from benchmark.settings import RunSettings
        return RunSettings(protocol=protocol, layer=layer, pooling=pooling, options=parse_options(option),
                           results=results, rerun=rerun, command=command_line())

    def done(report: Path) -> None:
        typer.echo(f"wrote {report} and {report.with_suffix('.svg')}")

    @app.command("label-efficiency")
    @guard
    def label_efficiency(model: List[str] = MODELS, task: List[str] = TASKS, suite: Optional[str] = SUITE,
                         fraction: List[float] = typer.Option([], "--fraction", "-f", help=(
                             "A training fraction in (0, 1], repeatable (default: 0.01 0.05 0.1 0.25 1).")),
                         protocol: str = PROTOCOL, layer: str = LAYER, pooling: Optional[str] = POOLING,
                         option: List[str] = OPTION, seeds: int = SEEDS, results: Path = RESULTS, out: Path = OUT,
                         rerun: bool = RERUN) -> None:
        """Score vs training fraction (stratified draws, several seeds) with item-level 95%
        intervals, and the area under the curve over log fraction."""
        from benchmark.analyses.label_efficiency import FRACTIONS, label_efficiency as run
        analysis = run(model, tasks_of(task, suite), settings(protocol, layer, pooling, option, results, rerun),
                       fractions=fraction or FRACTIONS, seeds=seeds, out=out)
        done(analysis.report)

    @app.command("layers")
    @guard
    def layers(model: List[str] = MODELS, task: List[str] = TASKS, suite: Optional[str] = SUITE,
               weighted: bool = typer.Option(False, help="Also run the learned weighted sum of all layers "
                                                         "(its weights are shown either way when its records exist)."),
               protocol: str = PROTOCOL, pooling: Optional[str] = POOLING, option: List[str] = OPTION,
               seeds: int = SEEDS, results: Path = RESULTS, out: Path = OUT, rerun: bool = RERUN) -> None:
        """The probe on every hidden layer (one extraction: the cache holds all layers), score vs
        depth with item-level 95% intervals, beside learned weighted-sum weights."""
        from benchmark.analyses.layers import layers as run
        analysis = run(model, tasks_of(task, suite), settings(protocol, "last", pooling, option, results, rerun),
                       seeds=seeds, weighted=weighted, out=out)
        done(analysis.report)

    @app.command("cost")
    @guard
    def cost(model: List[str] = MODELS,
             length: List[float] = typer.Option([], "--length", "-l", help=(
                 "A clip length in seconds, repeatable (default: 1 10 60 600).")),
             repeats: int = typer.Option(3, min=1, help="Timed forwards per length (the median is kept)."),
             device: Optional[str] = typer.Option(None, help="cpu, cuda, cuda:1, ... (default: CUDA if present)."),
             out: Path = OUT, rerun: bool = typer.Option(False, help="Measure again what OUT/cost.json holds.")
             ) -> None:
        """Per upstream: parameters, multiply-adds per second of audio (torch's FLOP counter), real-time
        factor and peak memory on the device, against clip length."""
        from benchmark.analyses.cost import LENGTHS, cost as run
        done(run(model, lengths=length or LENGTHS, repeats=repeats, device=device, out=out, rerun=rerun).report)

    @app.command("robustness")
    @guard
    def robustness(model: List[str] = MODELS, task: List[str] = TASKS, suite: Optional[str] = SUITE,
                   corruption: List[str] = typer.Option([], "--corruption", "-c", help=(
                       "noise | reverb | lowpass | clipping | mp3 | opus, repeatable (default: all; the codecs need ffmpeg).")),
                   severity: List[float] = typer.Option([], "--severity", help=(
                       "A severity of the one --corruption given (SNR dB, RT60 s, cutoff Hz, gain dB, bitrate kbps), repeatable "
                       "(default: its graded defaults).")),
                   corruption_seed: int = typer.Option(0, help="The seed the corruptions are drawn from."),
                   protocol: str = PROTOCOL, layer: str = LAYER, pooling: Optional[str] = POOLING,
                   option: List[str] = OPTION, seeds: int = SEEDS, results: Path = RESULTS, out: Path = OUT,
                   rerun: bool = RERUN) -> None:
        """The head trained on clean data, tested on corrupted test audio at graded severities: metric
        vs severity with item-level 95% intervals and the area under the curve."""
        from benchmark.analyses.corruptions import CORRUPTIONS
        from benchmark.analyses.robustness import robustness as run
        analysis = run(model, tasks_of(task, suite), settings(protocol, layer, pooling, option, results, rerun),
                       corruptions=corruption or tuple(CORRUPTIONS), severities=severity or None, seeds=seeds,
                       corruption_seed=corruption_seed, out=out)
        done(analysis.report)

    @app.command("leakage")
    @guard
    def leakage(model: List[str] = MODELS, task: List[str] = TASKS, suite: Optional[str] = SUITE,
                attribute: List[str] = typer.Option([], "--attribute", "-a", help=(
                    "A metadata column to decode, repeatable (default: speaker gender age accent language, "
                    "those present).")),
                protocol: str = PROTOCOL, layer: str = LAYER, pooling: Optional[str] = POOLING,
                option: List[str] = OPTION, seeds: int = SEEDS, results: Path = RESULTS, out: Path = OUT,
                rerun: bool = RERUN) -> None:
        """How well speaker attributes in the task's metadata decode from the representation, beside
        the task score (the privacy / utility trade-off)."""
        from benchmark.analyses.leakage import ATTRIBUTES, leakage as run
        analysis = run(model, tasks_of(task, suite), settings(protocol, layer, pooling, option, results, rerun),
                       attributes=attribute or ATTRIBUTES, seeds=seeds, out=out)
        done(analysis.report)

    return app
