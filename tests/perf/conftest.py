"""The benchmarks' reports: with EARBENCH_REPORT_DIR set (`make perf` sets it to docs/reports),
each benchmark module writes what it measured as one Markdown report, `<dir>/<name>.md`
(name: the module's without `test_`), through `scripts/reports.py`. A module names its
report's title in `REPORT_TITLE` and says what it compares in `REPORT_INTRO`.

Each module also states its headline ratios against their goals (`perf_ratio`); the session
ends with one table of them all, printed and written as `<dir>/perf.md`: what one `make
perf` run measured, side by side."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from scripts.reports import Report, write_report

#: (benchmark, what is compared, ratio as text, goal as text, whether it holds), in run order
RATIOS: list[tuple[str, str, str, str, bool]] = []


@pytest.fixture
def perf_ratio(request):
    """`perf_ratio(what, value, goal, holds)`: one line of the session's table of ratios."""
    module = Path(request.module.__file__).name

    def add(what: str, value: str, goal: str, holds: bool) -> None:
        RATIOS.append((module, what, value, goal, bool(holds)))
    return add


def ratio_table() -> str:
    lines = ["| benchmark | what is compared | measured | goal | holds |", "|---|---|---|---|---|"]
    lines += [f"| `{m}` | {what} | {value} | {goal} | {'yes' if holds else '**no**'} |"
              for m, what, value, goal, holds in RATIOS]
    return "\n".join(lines)


def pytest_terminal_summary(terminalreporter):
    if not RATIOS:
        return
    terminalreporter.write_sep("=", "ratios measured in this run")
    terminalreporter.write_line(ratio_table())
    directory = os.environ.get("EARBENCH_REPORT_DIR")
    ran = {Path(r.nodeid.split("::")[0]).name for reports in terminalreporter.stats.values() for r in reports
           if getattr(r, "when", None) == "call"}
    missing = sorted({p.name for p in Path(__file__).parent.glob("test_*.py")} - ran)
    if directory and missing:  # perf.md is one whole run's table, not a part of one
        terminalreporter.write_line(f"perf.md not rewritten: {', '.join(missing)} did not run in this session")
    elif directory:
        body = ("The headline ratios of one `make perf` run, every benchmark in one session, each against its "
                f"goal; the reports beside this one hold the details.\n\n{ratio_table()}")
        write_report("perf", "Performance ratios", "make perf", body, Path(directory))


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
