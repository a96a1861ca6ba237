"""The committed leaderboard (leaderboard/results/ -> leaderboard/LEADERBOARD.md) is up to date."""
from __future__ import annotations

from leaderboard import committed
from tests.support.records import write_record


def stale(results, markdown) -> str | None:
    """Why `markdown` does not match the records under `results`, or None when it does."""
    has_records = results.is_dir() and any(results.rglob("*.json"))
    if not has_records:
        return None if not markdown.exists() or markdown.read_text() == committed.expected(results) else \
            f"{markdown} exists but {results} holds no records: regenerate with `{committed.REGENERATE}`"
    board = committed.boards(results)[0]
    if board.problems:
        return "bad committed records:\n" + "\n".join(map(str, board.problems))
    if not markdown.exists():
        return f"{markdown} is missing: generate it with `{committed.REGENERATE}`"
    if markdown.read_text() != committed.expected(results):
        return f"{markdown} is out of date with {results}: regenerate with `{committed.REGENERATE}`"
    return None


def test_committed_leaderboard_is_up_to_date():
    problem = stale(committed.RESULTS, committed.MARKDOWN)
    assert problem is None, problem


def test_the_check_catches_stale_missing_and_bad(tmp_path, monkeypatch):
    results, md = tmp_path / "results", tmp_path / "LEADERBOARD.md"
    assert stale(results, md) is None  # absent folder, no file
    results.mkdir()
    assert stale(results, md) is None  # empty folder
    write_record(results, "logmel", "mini-kws", 0.5)
    assert "is missing" in stale(results, md)
    monkeypatch.setattr(committed, "MARKDOWN", md)
    monkeypatch.setattr(committed, "RESULTS", results)
    committed.main()
    assert stale(results, md) is None and "| logmel |" in md.read_text()
    write_record(results, "logmel", "mini-kws", 0.6, seed=1)
    assert "out of date" in stale(results, md)
    (results / "bad.json").write_text("{")
    assert "bad.json" in stale(results, md)
