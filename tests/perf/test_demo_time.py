"""`make demo`'s wall time, measured in one run (`make perf`): the README's first command, from
an empty earbench home (the mini suite built, nothing cached), as a newcomer runs it after
`make setup`. Target: at most ten minutes on two cores, ending with the leaderboard written."""
from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.perf
REPO = Path(__file__).resolve().parents[2]
REPORT_TITLE = "Demo wall time"
REPORT_INTRO = """`make demo` (the small mini suite's build, the three baselines on the `mini-quick`
benchmark, the leaderboard), from an empty `EARBENCH_HOME` and results folder, the set-up
already done. Target: at most 600 s on two cores."""
TARGET_S = 600.0


def test_make_demo_finishes_in_ten_minutes(tmp_path, perf_report, perf_ratio):
    env = {**os.environ, "EARBENCH_HOME": str(tmp_path / "home")}
    start = time.perf_counter()
    done = subprocess.run(["make", "-s", "demo", f"DEMO_RESULTS={tmp_path / 'results'}"], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=3 * TARGET_S)
    seconds = time.perf_counter() - start
    assert done.returncode == 0, done.stderr[-2000:]
    assert (tmp_path / "results" / "index.html").is_file() and "| logmel |" in done.stdout
    print(f"\n[demo] make demo: {seconds:.0f} s on {os.cpu_count()} CPUs")
    perf_report.row(["command", "CPUs", "wall s", "target s"], ["`make demo`", os.cpu_count(), f"{seconds:.0f}",
                                                                f"{TARGET_S:.0f}"])
    perf_ratio(f"`make demo` wall time from an empty cache ({os.cpu_count()} CPUs)", f"{seconds:.0f} s",
               f"<= {TARGET_S:.0f} s", seconds <= TARGET_S)
