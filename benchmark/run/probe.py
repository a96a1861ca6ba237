"""One probe job: run the protocol once on a run context and make its record. Executors call
this wherever the job runs; `evaluate()` reaches it through them."""
from __future__ import annotations

import time
from pathlib import Path

import torch

from benchmark.protocols import PROTOCOLS, RunContext
from benchmark.record import Record


def run_probe(ctx: RunContext, roles: dict[str, list[str]], seed: int, fold: str | None, path: Path | None,
              extra_embed_s: float = 0.0) -> Record:
    """One protocol run of `ctx.settings.protocol` on the splits of `roles` -> its record
    (written atomically to `path` if given, with the head's per-item test outputs beside it:
    `Record.write`).

    `extra_embed_s` is embedding time spent before the run on its behalf (a planned
    extraction job), reported in the record as if the run had extracted itself."""
    torch.manual_seed(seed)
    ctx.sizes.clear()
    embed_before = ctx.stats.seconds
    start = time.perf_counter()
    proto = PROTOCOLS.get(ctx.settings.protocol)
    metrics, chosen, *outputs = proto.run(ctx, roles, seed)  # a plugin's head may return no outputs
    elapsed = time.perf_counter() - start + extra_embed_s
    embed_s = ctx.stats.seconds - embed_before + extra_embed_s
    sizes = {part: ctx.sizes.get(part, int(sum(len(ctx.manifests[s]) for s in splits))) for part, splits in roles.items()}
    record = Record.of_run(ctx.upstream, ctx.task, ctx.settings, sizes=sizes, seed=seed, fold=fold, metrics=metrics,
                           chosen=chosen, main_metric=proto.metric_of(ctx.task), embed_s=embed_s,
                           probe_s=elapsed - embed_s, clips_per_s=ctx.clips_per_s(), digest=ctx.digest)
    if path:
        record = record.write(path, outputs[0] if outputs else None)
    return record
