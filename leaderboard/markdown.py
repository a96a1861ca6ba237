"""A Markdown table: one row per upstream, one column per task (mean ± 95% CI)."""
from __future__ import annotations

import pandas as pd

from benchmark.stats import summarise


def markdown_table(frame: pd.DataFrame) -> str:
    if frame.empty:
        return "_no result records_\n"
    cells = {}
    for (model, task), group in frame.groupby(["model", "task"]):
        cells[model, task] = str(summarise(list(group["score"])))
    tasks = sorted(frame["task"].unique())
    metric = frame.groupby("task")["metric"].first()
    lines = ["| model | " + " | ".join(f"{t} ({metric[t]})" for t in tasks) + " |",
             "|---" * (len(tasks) + 1) + "|"]
    for model in sorted(frame["model"].unique()):
        lines.append(f"| {model} | " + " | ".join(cells.get((model, t), "—") for t in tasks) + " |")
    return "\n".join(lines) + "\n"
