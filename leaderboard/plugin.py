"""What `leaderboard` adds to earbench: its one `earbench.plugins` entry point (see benchmark/registry.py)."""
from __future__ import annotations

from benchmark.registry import Plugin

PLUGIN = Plugin(entries={"earbench.commands": {"leaderboard": "leaderboard.cli:leaderboard",
                                               "compare": "leaderboard.compare_cli:compare"}})
