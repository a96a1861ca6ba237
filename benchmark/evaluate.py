"""`evaluate`: the Python equivalent of `earbench run`, returning the result records."""
from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Any, Iterable, Sequence

import torch

from benchmark.cache import EmbeddingCache
from benchmark.errors import ProtocolError
from benchmark.progress import progress_bar
from benchmark.protocols import PROTOCOLS, RunContext
from benchmark.results import SCHEMA, environment, now, read_record, record_path
from benchmark.storage import write_json
from benchmark.task import TaskSpec, load_task, suite_tasks
from benchmark.upstream import count_parameters, fingerprint, load_upstream


def evaluate(model: str | torch.nn.Module, tasks: Iterable[str | Path | TaskSpec] = (), *, suite: str | None = None,
             protocol: str = "linear", seeds: int = 1, layer: str | int = "last", pooling: str = "mean",
             results: str | Path | None = None, cache: EmbeddingCache | None = None, workers: int = 0,
             batch_seconds: float = 160.0, progress: bool = True, rerun: bool = False,
             name: str | None = None, train_fraction: float = 1.0, prompts: Sequence[str] | None = None,
             options: dict[str, Any] | None = None) -> list[dict]:
    """Run `protocol` on every task (or the tasks of `suite`) for seeds 0..seeds-1.

    `layer` is "last", an index or "weighted" (a learned softmax weighting of all layers);
    `train_fraction` < 1 trains on that share of the training split (label efficiency,
    a fresh stratified draw per seed); `prompts` are zero-shot templates with `{label}`;
    `options` are protocol settings (e.g. {"encoder_lr": 1e-5} for finetune).
    Records are written under `results` when given; a record already there for the same
    upstream fingerprint, task version and protocol settings is reused instead of
    recomputed (pass `rerun=True` to recompute), so an interrupted suite finishes only
    what is missing.
    """
    task_list = [*tasks, *(suite_tasks(suite) if suite else [])]
    if not task_list:
        raise ValueError("evaluate needs at least one task or a suite")
    proto = PROTOCOLS.get(protocol)
    layer = parse_layer(layer)
    options = {**(options or {}), **({"prompts": list(prompts)} if prompts else {})}
    specs = [load_task(t) for t in task_list]
    for spec in specs:
        proto.check(spec, layer, pooling)
    upstream = load_upstream(model, name=name)
    if proto.check_upstream:
        proto.check_upstream(upstream)
    upstream.earbench_fingerprint = fingerprint(upstream)
    cache = cache or EmbeddingCache()
    records = []
    for spec in specs:
        ctx = RunContext(upstream, spec, spec.load(), layer=layer, pooling=pooling, cache=cache,
                         workers=workers, batch_seconds=batch_seconds, progress=progress,
                         train_fraction=train_fraction, options=options)
        settings = protocol_settings(ctx, proto.name)
        runs = [(fold, plan, seed) for fold, plan in spec.runs() for seed in range(seeds)]
        with progress_bar(f"{proto.name} {spec.name} ({upstream.earbench_name})", total=len(runs),
                          enabled=progress) as advance:
            for fold, plan, seed in runs:
                path = record_path(Path(results), upstream.earbench_name, spec.name, variant_name(settings), layer,
                                   pooling, seed, fold) if results else None
                if path and path.exists() and not rerun:
                    old = read_record(path)
                    if (old.get("upstream", {}).get("fingerprint") == upstream.earbench_fingerprint
                            and old.get("task", {}).get("version") == spec.version
                            and {k: old.get("protocol", {}).get(k) for k in settings} == settings):
                        records.append(old)
                        advance()
                        continue
                records.append(run_one(ctx, proto.name, plan, seed, fold, path))
                advance(score=f"{records[-1]['metrics'].get(spec.main_metric, float('nan')):.3f}")
    return records


def parse_layer(layer: str | int) -> str | int:
    """"last", "weighted" or an integer index (given as int or as a string of digits)."""
    if isinstance(layer, str) and layer not in ("last", "weighted"):
        try:
            return int(layer)
        except ValueError:
            raise ProtocolError(f"--layer must be 'last', 'weighted' or an integer, got {layer!r}") from None
    return layer


def protocol_settings(ctx: RunContext, protocol: str) -> dict[str, Any]:
    """What, besides model and task, makes two records comparable (and is recorded)."""
    return {"name": protocol, "layer": ctx.layer, "pooling": ctx.pooling, "train_fraction": ctx.train_fraction,
            "options": ctx.options}


def variant_name(settings: dict[str, Any]) -> str:
    """The protocol part of a record's path: the name, plus the train fraction and a hash of
    the options when they differ from the defaults, so that variants never overwrite each other."""
    name = settings["name"]
    if settings["train_fraction"] != 1.0:
        name += f"-frac_{settings['train_fraction']:g}"
    if settings["options"]:
        digest = hashlib.sha256(json.dumps(settings["options"], sort_keys=True, default=str).encode()).hexdigest()
        name += f"-opt_{digest[:8]}"
    return name


def run_one(ctx: RunContext, protocol: str, plan: dict[str, list[str]], seed: int, fold: str | None,
            path: Path | None) -> dict:
    """One protocol run -> its record (written atomically to `path` if given)."""
    torch.manual_seed(seed)
    ctx.sizes.clear()
    embed_before = ctx.stats.seconds
    start = time.perf_counter()
    proto = PROTOCOLS.get(protocol)
    metrics, chosen = proto.run(ctx, plan, seed)
    elapsed = time.perf_counter() - start
    embed_s = ctx.stats.seconds - embed_before
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
