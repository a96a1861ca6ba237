"""`evaluate`: the Python equivalent of `earbench run`, returning the result records."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Iterable

import torch

from benchmark.cache import EmbeddingCache
from benchmark.protocols import PROTOCOLS, RunContext
from benchmark.results import SCHEMA, environment, now, read_record, record_path
from benchmark.storage import write_json
from benchmark.task import TaskSpec, load_task, suite_tasks
from benchmark.upstream import count_parameters, fingerprint, load_upstream


def evaluate(model: str | torch.nn.Module, tasks: Iterable[str | Path | TaskSpec] = (), *, suite: str | None = None,
             protocol: str = "linear", seeds: int = 1, layer: str | int = "last", pooling: str = "mean",
             results: str | Path | None = None, cache: EmbeddingCache | None = None, workers: int = 0,
             batch_seconds: float = 160.0, progress: bool = True, rerun: bool = False,
             name: str | None = None) -> list[dict]:
    """Run `protocol` on every task (or the tasks of `suite`) for seeds 0..seeds-1.

    Records are written under `results` when given; a record already there for the same
    upstream fingerprint and task version is reused instead of recomputed (pass
    `rerun=True` to recompute), so an interrupted suite finishes only what is missing.
    """
    task_list = [*tasks, *(suite_tasks(suite) if suite else [])]
    if not task_list:
        raise ValueError("evaluate needs at least one task or a suite")
    proto = PROTOCOLS.get(protocol)
    specs = [load_task(t) for t in task_list]
    for spec in specs:
        proto.check(spec)
    upstream = load_upstream(model, name=name)
    upstream.earbench_fingerprint = fingerprint(upstream)
    cache = cache or EmbeddingCache()
    records = []
    for spec in specs:
        ctx = RunContext(upstream, spec, spec.load(), layer=layer, pooling=pooling, cache=cache,
                         workers=workers, batch_seconds=batch_seconds, progress=progress)
        for fold, plan in spec.runs():
            for seed in range(seeds):
                path = record_path(Path(results), upstream.earbench_name, spec.name, protocol, layer, pooling,
                                   seed, fold) if results else None
                if path and path.exists() and not rerun:
                    old = read_record(path)
                    if (old.get("upstream", {}).get("fingerprint") == upstream.earbench_fingerprint
                            and old.get("task", {}).get("version") == spec.version):
                        records.append(old)
                        continue
                records.append(run_one(ctx, proto.name, plan, seed, fold, path))
    return records


def run_one(ctx: RunContext, protocol: str, plan: dict[str, list[str]], seed: int, fold: str | None,
            path: Path | None) -> dict:
    """One protocol run -> its record (written atomically to `path` if given)."""
    torch.manual_seed(seed)
    embed_before = ctx.stats.seconds
    start = time.perf_counter()
    metrics, chosen = PROTOCOLS.get(protocol).run(ctx, plan, seed)
    elapsed = time.perf_counter() - start
    embed_s = ctx.stats.seconds - embed_before
    up, task = ctx.upstream, ctx.task
    record = {
        "schema": SCHEMA,
        "upstream": {"name": up.earbench_name, "fingerprint": up.earbench_fingerprint,
                     "params": count_parameters(up), "sample_rate": int(up.sample_rate),
                     "hop_ms": float(up.hop_ms), "source": up.earbench_source},
        "task": {"name": task.name, "version": task.version, "family": task.family, "split": "test",
                 "n": {part: int(sum(len(ctx.manifests[s]) for s in splits)) for part, splits in plan.items()}},
        "protocol": {"name": protocol, "layer": ctx.layer, "pooling": ctx.pooling, "chosen": chosen},
        "seed": seed, "fold": fold,
        "metrics": metrics, "main_metric": task.main_metric,
        "timing": {"embed_s": round(embed_s, 3), "probe_s": round(elapsed - embed_s, 3),
                   "clips_per_s": ctx.clips_per_s()},
        "env": {**environment(), "device": str(next(iter(up.parameters()), torch.empty(0)).device)},
        "date": now(),
    }
    if path:
        write_json(path, record)
    return record
