"""An analysis' runs: ordinary protocol runs, planned and executed as `earbench run` does
(`plan_suite`, the local executor), so their records are written, reused and resumed like
any run's; the analysis then reads them back grouped by task."""
from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Sequence

import torch

from benchmark.record import Record
from benchmark.run.executors import LocalExecutor
from benchmark.run.plan import plan_suite
from benchmark.settings import RunSettings
from benchmark.task import TaskSpec


def run_records(model: str | torch.nn.Module, tasks: Sequence[str | Path | TaskSpec], settings: RunSettings,
                seeds: int, name: str | None = None) -> dict[str, list[Record]]:
    """{task name: its records (seeds x folds)} of `model` on `tasks` under `settings`; the first
    failure raises (one clear error naming the job)."""
    plan = plan_suite([model], list(tasks), settings, seeds=seeds, strict=True, name=name)
    report = LocalExecutor(progress=settings.progress).run(plan)
    report.raise_first()
    grouped: dict[str, list[Record]] = defaultdict(list)
    for record in report.records:
        grouped[record.task_name].append(record)
    return dict(grouped)
