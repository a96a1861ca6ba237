"""earbench's harness core: contracts, registry, cache, protocols, results.

    from benchmark import evaluate, register_upstream

The names below load on first use, so `import benchmark` (and the CLI) stays light.
"""
from __future__ import annotations

import importlib

_EXPORTS = {"EarbenchError": "benchmark.errors", "Encoded": "benchmark.upstream", "TaskSpec": "benchmark.task",
            "evaluate": "benchmark.run.evaluate", "load_task": "benchmark.sources.load",
            "load_upstream": "benchmark.upstream", "register_task": "benchmark.task",
            "register_upstream": "benchmark.upstream"}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'benchmark' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
