"""The page's parts: interval bars, the Pareto front, label placement, domain bars, the
drill-down and the notes, checked on worked cases and on a benchmark-like pair of boards."""
from __future__ import annotations

import re

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.text import Annotation, Text

from leaderboard import page, plots
from leaderboard.board import build_from
from leaderboard.page_table import interval_bar, scale
from tests.support.page_boards import TASKS, boards
from tests.support.records import write_record


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    return boards(tmp_path_factory.mktemp("boards"), n_boot=50)


def test_interval_bar_positions():
    # bounds -10..10 over 3..107 px: 0 -> 55, -5 -> 29, 5 -> 81
    svg = interval_bar(0.0, -5.0, 5.0, (-10.0, 10.0), zero_tick=True)
    assert 'cx="55.0"' in svg and '<line class="whisker" x1="29.0"' in svg and 'x2="81.0"' in svg
    assert svg.count('x1="55.0"') == 1  # the tick at 0
    assert "whisker" not in interval_bar(0.0, float("nan"), float("nan"), (-10.0, 10.0))
    assert interval_bar(float("nan"), 0, 1, (0.0, 1.0)) == "" and interval_bar(1.0, 0, 2, None) == ""
    assert scale([1.0, 2.0, float("nan")]) == (0.0, 2.0) and scale([1.0, 2.0], zero=False) == (1.0, 2.0)
    assert scale([3.0], zero=False) == (2.0, 4.0) and scale([float("nan")]) is None


def test_pareto_front_worked_case():
    x, y = np.array([0.0, 100, 200, 50, 100]), np.array([0.0, 10, 5, -1, 10])
    # fewer parameters is better: (0, 0) and both (100, 10) (a tie dominates neither) are the front
    assert list(plots.pareto_front(x, y, lower_x_better=True)) == [True, True, False, False, True]
    # more clips/s is better: (200, 5) and (100, 10)
    assert list(plots.pareto_front(x, y, lower_x_better=False)) == [False, True, True, False, True]


def test_labels_do_not_overlap():
    fig = Figure(figsize=(6, 4))
    canvas = FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    rng = np.random.default_rng(1)
    xs, ys = rng.uniform(0, 1, 12), rng.uniform(0, 1, 12)  # a crowd: labels must move to fit
    ax.scatter(xs, ys)
    ax.set_xlim(-0.2, 1.6)
    ax.set_ylim(-0.2, 1.2)
    plots.place_labels(ax, xs, ys, [f"model-{k}-tiny@init" for k in range(12)])
    canvas.draw()
    renderer = canvas.get_renderer()
    boxes = [Text.get_window_extent(t, renderer) for t in ax.texts if isinstance(t, Annotation)]  # leaders aside
    assert len(boxes) == 12
    overlaps = [(i, j) for i in range(12) for j in range(i) if boxes[i].overlaps(boxes[j])]
    assert overlaps == []


def test_domain_bars_sorted_with_the_floor_labelled(pair):
    main = pair[0]
    svg = plots.domain_bars(main)
    names = list(main.entries.index)
    first_seen = sorted(names, key=lambda n: svg.index(f">{n}<"))
    # the first panel (speech) lists its bars bottom-up: ascending score
    assert first_seen == list(main.entries["speech"].sort_values(kind="stable").index)
    assert main.entries.at["logmel", "speech"] == 0  # the floor model's own score
    assert svg.count(">0.0<") >= 3  # its zero-length bar labelled in each domain


def test_page_of_several_boards(pair):
    main, other = pair
    html = page.render(pair)
    assert html == page.render(pair)  # deterministic
    assert "<title>earbench leaderboard: benchmark mini</title>" in html
    assert re.findall(r'<table class="board" id="([\w-]+)"', html) == ["leaderboard", "board-1"]
    assert re.findall(r'<details class="drill" id="task-([\w-]+)"', html) == main.tasks
    asr = re.search(r'id="task-mini-asr">(.*?)</details>', html, re.S).group(1)
    assert asr.count("<tr>") == 1 + len(main.entries) + len(other.entries)  # the header and every result
    assert "benchmark mini (bilstm, layer last, default pooling)" in asr and "linear, layer last, mean" in asr
    # a bar per ranked row of each table and per result in the drill-down
    assert html.count('class="ibar"') == len(main.ranked) + len(other.ranked) + len(main.cells) + len(other.cells)
    folded = re.findall(r'<td class="num task" data-value="[^"]*" data-group="(\w+)" hidden>', html)
    assert len(folded) == len(main.entries) * len(TASKS)  # 11 tasks: all folded
    assert not re.search(r'data-group="speech" hidden', page.render([other]))  # one task: shown


def test_long_notes_fold():
    item = page.note_item("not ranked (missing a task): a (missing x); b (missing y); c (missing z)")
    assert item.startswith("<li><details><summary>not ranked (missing a task) (3)</summary>")
    assert item.count("<li>") == 4
    assert page.note_item("mini-kws: no records") == "<li>mini-kws: no records</li>"


def test_notes_on_several_tasks_said_once():
    notes = ["mini-kws: no reference (floor) result", "mini-sed: no reference (floor) result", "mini-kws: other",
             "no task has a floor"]
    assert page.merged(notes, ["mini-kws", "mini-sed"]) == [
        "mini-kws, mini-sed: no reference (floor) result", "mini-kws: other", "no task has a floor"]


def test_a_board_without_a_floor_shows_its_tasks(tmp_path):
    for task in TASKS:
        write_record(tmp_path, "eat", task, 0.5)
    html = page.render(build_from(tmp_path, n_boot=10))
    heads = re.findall(r'<th data-col="\d+"[^>]*>([^<]*)', html)
    assert heads[:2] == ["rank", "model"] and sorted(heads[2:-5]) == TASKS  # no overall or domain columns
    assert heads[-5:] == ["params", "clips/s", "pre-training", "date", "not separable from"]
    assert not re.search(r'data-group="(speech|environment|music)"', html)  # nothing to fold them to
