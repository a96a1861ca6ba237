"""`evaluate`: the Python equivalent of `earbench run`, returning the result records.

A thin facade: the settings are checked by `RunSettings`, the work is planned by
`plan_suite` and run by an executor, exactly as the command line does it."""
from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any, Iterable, Sequence

import torch

from benchmark.features.cache import EmbeddingCache
from benchmark.features.frame_budget import parse_size
from benchmark.run.executors import LocalExecutor
from benchmark.run.plan import plan_benchmark, plan_suite
from benchmark.settings import RunSettings
from benchmark.task import TaskSpec


def evaluate(model: str | torch.nn.Module, tasks: Iterable[str | Path | TaskSpec] = (), *, suite: str | None = None,
             benchmark: str | None = None, protocol: str = "linear", seeds: int = 1, layer: str | int = "last", pooling: str | None = None,
             results: str | Path | None = None, cache: EmbeddingCache | None = None, workers: int = 0,
             batch_seconds: float = 160.0, progress: bool = True, rerun: bool = False,
             name: str | None = None, train_fraction: float = 1.0, prompts: Sequence[str] | None = None,
             options: dict[str, Any] | None = None, executor: Any = None, device: str | None = None,
             cache_budget: int | str | None = None, frame_hop: float | None = None) -> list[dict]:
    """Run `protocol` on every task (or the tasks of `suite`) for seeds 0..seeds-1; or, with
    `benchmark`, every task of that benchmark under its declared protocol, layer and pooling
    (`benchmark.benchmarks`; then tasks, suite and the protocol settings stay unset).

    `layer` is "last", an index or "weighted" (a learned softmax weighting of all layers);
    `train_fraction` < 1 trains on that share of the training split (label efficiency,
    a fresh stratified draw per seed); `pooling` None is each pairing's default (a HEAR
    module's own scene embedding on clip tasks, else mean); `prompts` are zero-shot
    templates with `{label}`; `options` are protocol settings (e.g. {"encoder_lr": 1e-5}
    for finetune); `device` is where the heads train (default: the GPU when one is visible);
    `cache_budget` (bytes, or a size such as "40GB") caps a pairing's frame cache, above which
    CTC and attention-pooling heads stream their frames (default: the cache disk's free space);
    `frame_hop` (ms) stores frames averaged to that hop, a multiple of the upstream's.
    Records are written under `results` when given; a record already there for the same
    upstream fingerprint, task version, task data and protocol settings is reused instead of
    recomputed (pass `rerun=True` to recompute), so an interrupted suite finishes only
    what is missing. The work is planned (`benchmark.run.plan`) and run by `executor`
    (default: this process, `benchmark.run.executors.LocalExecutor`); the first failure raises.
    Each record is returned as its plain JSON object (`Record.to_json`).
    """
    tasks = list(tasks)
    if benchmark is not None:
        fixed = {"tasks": tasks, "suite": suite, "protocol": protocol != "linear", "layer": layer != "last",
                 "pooling": pooling, "train_fraction": train_fraction != 1.0, "prompts": prompts, "options": options}
        if any(fixed.values()):
            raise ValueError(f"benchmark {benchmark!r} declares each task's protocol; drop "
                             f"{', '.join(k for k, v in fixed.items() if v)}")
    elif not tasks and not suite:
        raise ValueError("evaluate needs at least one task, a suite or a benchmark")
    settings = RunSettings(protocol=protocol, layer=layer, pooling=pooling, train_fraction=train_fraction,
                           options={} if options is None else options, prompts=prompts, results=results,
                           cache_root=cache.root if cache else None, workers=workers, batch_seconds=batch_seconds,
                           progress=progress, rerun=rerun, device=device,
                           cache_budget=None if cache_budget is None else parse_size(cache_budget),
                           frame_hop=frame_hop,
                           command=call_text(model, tasks, suite=suite, benchmark=benchmark, protocol=protocol, seeds=seeds, layer=layer,
                                             pooling=pooling, results=results, rerun=rerun, name=name,
                                             train_fraction=train_fraction, prompts=prompts, options=options,
                                             frame_hop=frame_hop))
    plans = (plan_benchmark([model], benchmark, settings, seeds=seeds, strict=True, name=name) if benchmark else
             [plan_suite([model], tasks, settings, seeds=seeds, strict=True, name=name, suite=suite)])
    records = []
    for plan in plans:
        report = (executor or LocalExecutor(progress=progress)).run(plan)
        report.raise_first()
        records += [record.to_json() for record in report.records]
    return records


def call_text(model: str | torch.nn.Module, tasks: Sequence[str | Path | TaskSpec], **arguments: Any) -> str:
    """`python: evaluate('logmel', ['/data/tones'], protocol='mlp')`: the call, as its records keep
    it; arguments at their defaults are left out, objects are named by their type or name."""
    def text(value: Any) -> str:
        if isinstance(value, torch.nn.Module):
            return f"<{type(value).__name__}>"
        if isinstance(value, TaskSpec):
            return f"<TaskSpec {value.name}>"
        return repr(str(value) if isinstance(value, Path) else value)

    defaults, empty = inspect.signature(evaluate).parameters, (None, {}, [], ())
    given = [f"{key}={text(value)}" for key, value in arguments.items()
             if value != defaults[key].default and not (value in empty and defaults[key].default in empty)]
    return f"python: evaluate({', '.join([text(model), '[' + ', '.join(map(text, tasks)) + ']', *given])})"
