"""Analyses beyond one score per task (docs/analyses.md): each kind is one module whose
function runs ordinary protocol runs through the planner (records resumable and cached like
any run's) and writes a Markdown table and a plot; `earbench analyse KIND` runs it.

`ANALYSES` names each kind's function, imported when first asked for, so listing them
imports nothing heavy."""
from __future__ import annotations

from benchmark.registry import Registry

#: kind -> its function (`module:function`), in the order the manual describes them
KINDS = {
    "label-efficiency": "benchmark.analyses.label_efficiency:label_efficiency",
    "layers": "benchmark.analyses.layers:layers",
    "cost": "benchmark.analyses.cost:cost",
    "robustness": "benchmark.analyses.robustness:robustness",
    "leakage": "benchmark.analyses.leakage:leakage",
    "checkpoints": "benchmark.analyses.checkpoints:checkpoints",
}
ANALYSES: Registry = Registry("analysis")
for _kind, _target in KINDS.items():
    ANALYSES.register_lazy(_kind, _target)
