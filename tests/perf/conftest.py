"""The benchmarks' reports: with EARBENCH_REPORT_DIR set (`make perf` sets it to docs/reports),
each benchmark module writes what it measured as one Markdown report, `<dir>/<name>.md`
(name: the module's without `test_`), through `scripts/reports.py`. A module names its
report's title in `REPORT_TITLE` and says what it compares in `REPORT_INTRO`."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from scripts.reports import Report, write_report


@pytest.fixture(scope="module")
def perf_report(request):
    report = Report()
    yield report
    directory = os.environ.get("EARBENCH_REPORT_DIR")
    if directory and report.blocks:
        module = request.module
        path = Path(module.__file__)
        alone = f"EARBENCH_REPORT_DIR=docs/reports .venv/bin/python -m pytest -m perf -s tests/perf/{path.name}"
        body = f"{module.REPORT_INTRO.strip()}\n\nThis module alone: `{alone}`.\n\n{report.markdown()}"
        write_report(path.stem.removeprefix("test_").replace("_", "-"), module.REPORT_TITLE, "make perf", body,
                     Path(directory))
