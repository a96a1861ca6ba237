"""Protocols turn an upstream and a task into scores; each lives in its own module.

Frozen features: `linear`, `mlp` (HEAR's grid), `knn` (cosine, no training), `qbe`
(query-by-example over labels), `bilstm` (SUPERB's ASR head); end to end: `finetune`;
shared audio-text space: `zeroshot`. Layer choice (`--layer last|N|weighted`) and
pooling (`--pooling mean|max|cls|scene|attention`) are options of the run context.

The registry is here and each protocol's module loads on first use, as do the names from
base.py below, so that listing the protocols (`earbench list protocols`) imports no torch.
"""
from __future__ import annotations

import importlib
from typing import Any

from benchmark.registry import Registry

#: name -> `Protocol` (benchmark/protocols/base.py)
PROTOCOLS: Registry[Any] = Registry("protocol", "earbench.protocols")
PROTOCOLS.register_lazy("linear", "benchmark.protocols.linear:LINEAR")
PROTOCOLS.register_lazy("mlp", "benchmark.protocols.mlp:MLP")
PROTOCOLS.register_lazy("knn", "benchmark.protocols.knn:KNN")
PROTOCOLS.register_lazy("qbe", "benchmark.protocols.qbe:QBE")
PROTOCOLS.register_lazy("bilstm", "benchmark.protocols.bilstm:BILSTM")
PROTOCOLS.register_lazy("finetune", "benchmark.protocols.finetune:FINETUNE")
PROTOCOLS.register_lazy("zeroshot", "benchmark.protocols.zeroshot:ZEROSHOT")

_BASE = ("Part", "Protocol", "RunContext")
__all__ = ["PROTOCOLS", *_BASE]


def __getattr__(name: str) -> Any:
    if name not in _BASE:
        raise AttributeError(f"module 'benchmark.protocols' has no attribute {name!r}")
    return getattr(importlib.import_module("benchmark.protocols.base"), name)
