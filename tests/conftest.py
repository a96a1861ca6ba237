"""Shared fixtures: the tests write their own tiny audio and folder tasks."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.tone_task import write_tone_task


@pytest.fixture(autouse=True)
def earbench_home(tmp_path, monkeypatch) -> Path:
    """Every test gets its own cache directory."""
    home = tmp_path / "earbench-home"
    monkeypatch.setenv("EARBENCH_HOME", str(home))
    return home


@pytest.fixture
def tone_task(tmp_path) -> Path:
    return write_tone_task(tmp_path / "tones")
