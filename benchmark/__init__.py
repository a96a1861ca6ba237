"""earbench's harness core: contracts, registry, cache, protocols, results.

    from benchmark import evaluate, register_upstream
"""
from benchmark.errors import EarbenchError
from benchmark.evaluate import evaluate
from benchmark.sources import load_task
from benchmark.task import TaskSpec, register_task
from benchmark.upstream import Encoded, load_upstream, register_upstream

__all__ = ["EarbenchError", "Encoded", "TaskSpec", "evaluate", "load_task", "load_upstream",
           "register_task", "register_upstream"]
