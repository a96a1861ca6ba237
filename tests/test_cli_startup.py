"""The CLI's start-up: `earbench --help`, each plugin command's help and `earbench list ...`
run without importing torch, scipy, pandas or matplotlib (docs/design.md, "The CLI's
start-up"). Each command runs in a fresh interpreter, as the `earbench` script runs it,
which then reports the heavy packages it loaded."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

HEAVY = ("torch", "scipy", "pandas", "matplotlib", "sklearn")

# what the `earbench` script does (benchmark.cli:main), then the heavy packages in sys.modules, as the last line
SCRIPT = f"""
import json, sys
sys.argv = ["earbench", *json.loads(sys.argv[1])]
from benchmark.cli import main
try:
    main()
except SystemExit as exit:
    code = exit.code
print(json.dumps({{"exit": code, "heavy": [m for m in {HEAVY!r} if m in sys.modules]}}))
"""


def start(*args: str) -> tuple[dict, str]:
    """Run `earbench ARGS` in a fresh interpreter: (its exit code and heavy imports, its output)."""
    done = subprocess.run([sys.executable, "-c", SCRIPT, json.dumps(args)], capture_output=True, text=True,
                          cwd=REPO, timeout=120, env={**os.environ, "COLUMNS": "200"})
    *output, last = done.stdout.rstrip("\n").split("\n")
    return json.loads(last), "\n".join(output) + done.stderr


@pytest.mark.parametrize("args", [
    ("--help",), ("list", "tasks"), ("list", "models"), ("list", "suites"), ("list", "protocols"),
    ("list", "metrics"), ("run", "--help"), ("data", "--help"), ("pretrain", "--help"), ("convert", "--help"),
    ("leaderboard", "--help"), ("compare", "--help"),
], ids=" ".join)
def test_a_command_that_only_shows_names_imports_no_heavy_package(args):
    result, output = start(*args)
    assert result["exit"] in (0, None), output
    assert result["heavy"] == [], f"`earbench {' '.join(args)}` imported {result['heavy']}"


def test_help_still_lists_every_plugin_command():
    result, output = start("--help")
    for command in ("list", "check", "run", "data", "pretrain", "convert", "leaderboard", "compare"):
        assert f" {command} " in output, (command, output)


def test_listings_still_name_what_the_plugins_declare():
    tasks, output = start("list", "tasks")
    assert "mini-kws" in output.split() and "esc50" in output.split(), output  # a plugin entry and a table's
    models, output = start("list", "models")
    assert "logmel" in output and "wavlm-base-plus" in output, output  # a baseline and the zoo's table
    protocols, output = start("list", "protocols")
    assert {"linear", "mlp", "knn", "finetune"} <= set(output.split()), output
    metrics, output = start("list", "metrics")
    assert {"accuracy", "mAP", "eer"} <= set(output.split()), output
