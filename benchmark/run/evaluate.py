"""`evaluate`: the Python equivalent of `earbench run`, returning the result records."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Iterable, Sequence

import torch

from benchmark.features.cache import EmbeddingCache
from benchmark.errors import ProtocolError
from benchmark.protocols import PROTOCOLS, RunContext
from benchmark.record import SCHEMA, environment, now
from benchmark.storage import write_json
from benchmark.task import TaskSpec, suite_tasks
from benchmark.upstream import count_parameters


def evaluate(model: str | torch.nn.Module, tasks: Iterable[str | Path | TaskSpec] = (), *, suite: str | None = None,
             protocol: str = "linear", seeds: int = 1, layer: str | int = "last", pooling: str = "mean",
             results: str | Path | None = None, cache: EmbeddingCache | None = None, workers: int = 0,
             batch_seconds: float = 160.0, progress: bool = True, rerun: bool = False,
             name: str | None = None, train_fraction: float = 1.0, prompts: Sequence[str] | None = None,
             options: dict[str, Any] | None = None, executor: Any = None) -> list[dict]:
    """Run `protocol` on every task (or the tasks of `suite`) for seeds 0..seeds-1.

    `layer` is "last", an index or "weighted" (a learned softmax weighting of all layers);
    `train_fraction` < 1 trains on that share of the training split (label efficiency,
    a fresh stratified draw per seed); `prompts` are zero-shot templates with `{label}`;
    `options` are protocol settings (e.g. {"encoder_lr": 1e-5} for finetune).
    Records are written under `results` when given; a record already there for the same
    upstream fingerprint, task version and protocol settings is reused instead of
    recomputed (pass `rerun=True` to recompute), so an interrupted suite finishes only
    what is missing. The work is planned (`benchmark.run.plan`) and run by `executor`
    (default: this process, `benchmark.run.executors.LocalExecutor`); the first failure raises.
    """
    from benchmark.run.executors import LocalExecutor
    from benchmark.run.plan import RunSettings, plan_suite
    task_list = [*tasks, *(suite_tasks(suite) if suite else [])]
    if not task_list:
        raise ValueError("evaluate needs at least one task or a suite")
    options = {**(options or {}), **({"prompts": list(prompts)} if prompts else {})}
    settings = RunSettings(protocol=protocol, layer=parse_layer(layer), pooling=pooling, train_fraction=train_fraction,
                           options=options, results=Path(results).resolve() if results else None,
                           cache_root=cache.root if cache else None, workers=workers, batch_seconds=batch_seconds,
                           progress=progress, rerun=rerun)
    plan = plan_suite([model], task_list, settings, seeds=seeds, strict=True, name=name)
    report = (executor or LocalExecutor(progress=progress)).run(plan)
    report.raise_first()
    return report.records


def parse_layer(layer: str | int) -> str | int:
    """"last", "weighted" or an integer index (given as int or as a string of digits)."""
    if isinstance(layer, str) and layer not in ("last", "weighted"):
        try:
            return int(layer)
        except ValueError:
            raise ProtocolError(f"--layer must be 'last', 'weighted' or an integer, got {layer!r}") from None
    return layer


def protocol_settings(ctx: RunContext, protocol: str) -> dict[str, Any]:
    """What, besides model and task, makes two records comparable (and is recorded;
    `RunSettings.identity` is the same for a planned run)."""
    return {"name": protocol, "layer": ctx.layer, "pooling": ctx.pooling, "train_fraction": ctx.train_fraction,
            "options": ctx.options}


def run_one(ctx: RunContext, protocol: str, plan: dict[str, list[str]], seed: int, fold: str | None,
            path: Path | None, extra_embed_s: float = 0.0) -> dict:
    """One protocol run -> its record (written atomically to `path` if given).

    `extra_embed_s` is embedding time spent before the run on its behalf (a planned
    extraction job), reported in the record as if the run had extracted itself."""
    torch.manual_seed(seed)
    ctx.sizes.clear()
    embed_before = ctx.stats.seconds
    start = time.perf_counter()
    proto = PROTOCOLS.get(protocol)
    metrics, chosen = proto.run(ctx, plan, seed)
    elapsed = time.perf_counter() - start
    embed_s = ctx.stats.seconds - embed_before
    elapsed += extra_embed_s
    embed_s += extra_embed_s
    up, task = ctx.upstream, ctx.task
    record = {
        "schema": SCHEMA,
        "upstream": {"name": up.earbench_name, "fingerprint": up.earbench_fingerprint,
                     "params": count_parameters(up), "sample_rate": int(up.sample_rate),
                     "hop_ms": float(up.hop_ms), "source": up.earbench_source,
                     **({"pretraining": up.pretraining} if isinstance(getattr(up, "pretraining", None), dict) else {})},
        "task": {"name": task.name, "version": task.version, "family": task.family, "split": "test",
                 "n": {part: ctx.sizes.get(part, int(sum(len(ctx.manifests[s]) for s in splits)))
                       for part, splits in plan.items()}},
        "protocol": {**protocol_settings(ctx, protocol), "chosen": chosen},
        "seed": seed, "fold": fold,
        "metrics": metrics, "main_metric": proto.metric_of(task),
        "timing": {"embed_s": round(embed_s, 3), "probe_s": round(elapsed - embed_s, 3),
                   "clips_per_s": ctx.clips_per_s()},
        "env": {**environment(), "device": str(next(iter(up.parameters()), torch.empty(0)).device)},
        "date": now(),
    }
    if path:
        write_json(path, record)
    return record
