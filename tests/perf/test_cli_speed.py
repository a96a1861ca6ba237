"""The CLI's start-up, measured in one run (`make perf`): `earbench --help`, `earbench list
models` and `earbench list tasks` as the `earbench` script starts them, beside a bare
`python -c pass` (the floor: the interpreter alone) and `python -c 'import torch'` (what a
start-up that imported torch would cost at least). Warm: one untimed run of each first,
then the best of REPEATS interleaved runs; also the process's CPU seconds (user + system).
Target: every command under 1 s (docs/design.md, "The CLI's start-up"), asserted on the CPU
seconds, which a shared machine's other work does not inflate as it does the wall time.
"""
from __future__ import annotations

import resource
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.perf
REPEATS = 5
TARGET_S = 1.0
REPORT_TITLE = "CLI start-up"
REPORT_INTRO = """Wall time of a fresh `earbench` process, warm (one untimed run first, then the best of 5
interleaved runs; CPU: user + system seconds of that process), beside a bare `python -c pass` and
`python -c 'import torch'`; ratio: wall time to the bare interpreter's. Target: each `earbench`
command under 1 s (asserted on CPU seconds: the wall time also counts other processes on a
busy machine, as the load average in the header says)."""

PYTHON = sys.executable
SCRIPT = Path(PYTHON).with_name("earbench")  # the installed console script, as a user starts it
EARBENCH = [str(SCRIPT)] if SCRIPT.is_file() else [PYTHON, "-c", "from benchmark.cli import main; main()"]
COMMANDS = {
    "python -c pass": [PYTHON, "-c", "pass"],
    "python -c 'import torch'": [PYTHON, "-c", "import torch"],
    "earbench --help": [*EARBENCH, "--help"],
    "earbench list models": [*EARBENCH, "list", "models"],
    "earbench list tasks": [*EARBENCH, "list", "tasks"],
}


def child_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(command: list[str]) -> tuple[float, float]:
    """(wall, CPU) seconds of one run of `command`."""
    cpu, start = child_cpu_s(), time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)
    return time.perf_counter() - start, child_cpu_s() - cpu


def test_the_cli_starts_in_under_a_second(perf_report, perf_ratio):
    for command in COMMANDS.values():  # warm the file cache and the bytecode
        timed(command)
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in COMMANDS}
    for _ in range(REPEATS):
        for name, command in COMMANDS.items():
            times[name].append(timed(command))
    best = {name: min(runs)[0] for name, runs in times.items()}
    cpu = {name: min(c for _, c in runs) for name, runs in times.items()}
    bare = best["python -c pass"]
    print()
    for name, seconds in best.items():
        print(f"{name}: {seconds:.3f} s ({cpu[name]:.3f} s CPU), {seconds / bare:.1f}x a bare interpreter")
        perf_report.row(["command", "wall s (best of 5, warm)", "CPU s", "ratio to `python -c pass`"],
                        [f"`{name}`", f"{seconds:.3f}", f"{cpu[name]:.3f}", f"{seconds / bare:.1f}"])
    for name in (n for n in best if n.startswith("earbench")):
        perf_ratio(f"`{name}` start-up, warm (wall; CPU {cpu[name]:.2f} s)", f"{best[name]:.2f} s", f"< {TARGET_S:g} s",
                   best[name] < TARGET_S)
    slow = {name: round(s, 3) for name, s in cpu.items() if name.startswith("earbench") and s >= TARGET_S}
    assert not slow, f"over {TARGET_S} s of CPU: {slow}"
