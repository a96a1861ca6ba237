"""index.html: one self-contained page (inline CSS, JS and SVG; a CSP forbids any fetch).

From the top: the method in a few lines; the main board (under `--benchmark`, the
benchmark's: one row per model) ranked by its overall score; its figures (score against
cost, per-domain bars, layer weights); the other protocols' boards; a drill-down per task
over every board; notes and skipped records. Tables are `page_table.py`'s. The text
depends on the boards only, so a committed page can be compared.
"""
from __future__ import annotations

import re
from html import escape

import pandas as pd

from leaderboard import markdown, page_table, plots
from leaderboard.board import Board
from leaderboard.intervals import ITEMS, NONE, SEEDS

CSS = """
body{font-family:system-ui,sans-serif;margin:1.2em 1.5em;color:#222;max-width:1600px}
h1{font-size:1.5em;margin:.2em 0} h2{font-size:1.2em;margin:1.2em 0 .4em} h3{font-size:1.05em}
table{border-collapse:collapse;font-size:12px}
th,td{border:1px solid #d4d4d4;padding:2px 5px;white-space:nowrap;vertical-align:top}
thead th{background:#f2f2f2}
th[data-col]{cursor:pointer;user-select:none}
th[aria-sort=ascending]::after{content:" \\25B2"} th[aria-sort=descending]::after{content:" \\25BC"}
th.group{font-weight:normal;text-align:left}
button.fold{font:inherit;border:1px solid #bbb;border-radius:3px;background:#fff;cursor:pointer;padding:0 5px}
button.fold[aria-expanded=true]{background:#e6eefb}
td.num{text-align:right} td.task{text-align:right}
.ci{color:#666;font-size:11px}
svg.ibar{vertical-align:middle;margin-left:4px}
tr.unranked td{color:#777}
.scroll{overflow-x:auto}
figure{margin:1em 0} figure svg{max-width:100%;height:auto} figcaption{color:#444;font-size:13px}
ul.method{font-size:13px;color:#333;max-width:75em;padding-left:1.2em;margin:.3em 0}
details.drill{margin:.2em 0} details.drill summary{cursor:pointer}
details.drill table{margin:.3em 0 .6em 1.2em}
#notes li,#problems li,ul.notes li{font-size:13px}
"""

JS = """
document.querySelectorAll('table.board').forEach(function (table) {
  var heads = table.querySelectorAll('th[data-col]');
  heads.forEach(function (th) {
    th.addEventListener('click', function () {
      var col = parseInt(th.dataset.col, 10), body = table.tBodies[0];
      var asc = th.getAttribute('aria-sort') !== 'ascending';
      heads.forEach(function (h) { h.removeAttribute('aria-sort'); });
      th.setAttribute('aria-sort', asc ? 'ascending' : 'descending');
      var numeric = th.dataset.type === 'num';
      var rows = Array.prototype.slice.call(body.rows);
      rows.sort(function (a, b) {
        var x = a.cells[col].dataset.value, y = b.cells[col].dataset.value;
        if (x === '' || y === '') { return (x === '') - (y === ''); }
        var c = numeric ? parseFloat(x) - parseFloat(y) : x.localeCompare(y);
        return asc ? c : -c;
      });
      rows.forEach(function (r) { body.appendChild(r); });
    });
  });
  table.querySelectorAll('button.fold').forEach(function (button) {
    button.addEventListener('click', function () {
      var open = button.getAttribute('aria-expanded') !== 'true', th = button.parentNode;
      button.setAttribute('aria-expanded', open ? 'true' : 'false');
      th.colSpan = parseInt(open ? th.dataset.open : th.dataset.closed, 10);
      table.querySelectorAll('[data-group="' + button.dataset.group + '"]').forEach(function (cell) {
        cell.hidden = !open;
      });
    });
  });
});
"""

CSP = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:"

INTERVAL_KINDS = {ITEMS: "bootstrap over test items", SEEDS: "Student t over seeds" + markdown.SEED_MARK,
                  NONE: "none (one run" + markdown.SEED_MARK + ")"}


def page_title(board: Board) -> str:
    if board.benchmark:
        return f"earbench leaderboard: {board.title}"
    return "earbench leaderboard" + (f": suite {board.suite}" if board.suite else "")


def protocol_text(board: Board, task: str) -> str:
    """The board's title, with the task's declared protocol on a benchmark's board."""
    declared = board.declarations.get(task)
    return f"{board.title} ({declared})" if declared else board.title


def method_list(board: Board) -> str:
    """The legend (`markdown.method_text`), a sentence to a line."""
    sentences = re.split(r"(?<=\.) (?=[A-Z†\[])", markdown.method_text(board))
    return '<ul class="method">' + "".join(f"<li>{escape(s)}</li>" for s in sentences) + "</ul>"


def merged(notes: list[str], tasks: list[str]) -> list[str]:
    """The notes, those saying the same of several tasks (`task: text`) said once for all of them."""
    said: dict[str, list[str]] = {}
    for note in notes:
        task, _, text = note.partition(": ")
        said.setdefault(text if task in tasks and text else note, []).append(task if task in tasks else "")
    return [f"{', '.join(t)}: {text}" if all(t) else text for text, t in said.items()]


def note_item(note: str) -> str:
    """A note; one that lists several things (`head: a; b; c`) folds its list away."""
    head, _, rest = note.partition(": ")
    items = rest.split("; ") if rest else []
    if len(items) < 3:
        return f"<li>{escape(note)}</li>"
    listed = "".join(f"<li>{escape(i)}</li>" for i in items)
    return f"<li><details><summary>{escape(head)} ({len(items)})</summary><ul>{listed}</ul></details></li>"


def figure(fid: str, svg: str | None, caption: str, absent: str) -> str:
    inner = svg if svg else f'<p class="absent">{escape(absent)}</p>'
    return f'<figure id="{fid}">{inner}<figcaption>{escape(caption)}</figcaption></figure>'


def figures(board: Board) -> str:
    return '<section id="plots"><h2>Figures</h2>' + "".join([
        figure("plot-pareto", plots.pareto(board),
               "Overall score (with its 95% interval) against cost: parameters, multiply-adds per second of audio "
               "(where measured by earbench analyse cost) and embedding throughput. Filled: "
               "the Pareto front (no other model is as good on both axes and better on one).",
               "no ranked entry has an overall score with its parameters or throughput"),
        figure("plot-domains", plots.domain_bars(board),
               "Normalised score per domain, best first, with 95% intervals (◆ marks the score)",
               "no normalised score to plot (no floor results)"),
        figure("plot-layers", plots.layer_weights(board), "Learned layer weights (weighted-sum runs)",
               "no record carries protocol.chosen.layer_weights"),
    ]) + "</section>"


def model_name(board: Board, entry: str) -> str:
    return str(board.entries.at[entry, "model"]) if "model" in board.entries else entry


def drill_rows(boards: list[Board], task: str) -> list[tuple[Board, str, pd.Series]]:
    """Every (board, entry) with a cell on `task`, best first (ties in board and row order)."""
    rows = [(board, entry, board.cells.loc[(entry, task)]) for board in boards for entry in board.entries.index
            if (entry, task) in board.cells.index]
    higher = next(b.directions[task].higher_is_better for b in boards if task in b.directions)
    def order(row) -> tuple[bool, float]:  # a cell without a score (NaN) last
        mean = row[2]["mean"]
        return (bool(pd.isna(mean)), -mean if higher else mean)
    return sorted(rows, key=order)  # stable: board order kept


def drill_down(boards: list[Board]) -> str:
    """Per task, a folded table of every model under every protocol (board) that ran it."""
    tasks = list(dict.fromkeys(t for b in boards for t in b.tasks if t in b.metrics))
    sections = []
    for task in tasks:
        rows = drill_rows(boards, task)
        board = next(b for b in boards if task in b.metrics)
        bar_scale = page_table.scale([v for _, _, c in rows for v in (c["mean"], c["lo"], c["hi"])], zero=False)
        body = []
        for b, entry, c in rows:
            body.append(f"<tr><td>{escape(model_name(b, entry))}</td><td>{escape(protocol_text(b, task))}</td>"
                        f'<td class="num">{escape(markdown.cell_text(b, entry, task))}</td>'
                        f"<td>{page_table.interval_bar(c['mean'], c['lo'], c['hi'], bar_scale)}</td>"
                        f"<td>{escape(INTERVAL_KINDS.get(c['interval'], str(c['interval'])))}</td>"
                        f'<td class="num">{int(c["n"])}</td></tr>')
        protocols = len({b.title for b, _, _ in rows})
        top, entry, cell = rows[0]
        summary = (f"<b>{escape(markdown.task_header(board, task))}</b> · {escape(board.domains.get(task, ''))} · "
                   f"{len(rows)} result(s) under {protocols} protocol(s) · best: "
                   f"{escape(model_name(top, entry))} ({escape(top.title)}) {cell['mean']:.4f}")
        sections.append(f'<details class="drill" id="task-{escape(task)}"><summary>{summary}</summary>'
                        f"<table><thead><tr><th>model</th><th>protocol</th><th>score [95% interval]</th><th></th>"
                        f"<th>interval over</th><th>runs</th></tr></thead>"
                        f"<tbody>{''.join(body)}</tbody></table></details>")
    return ('<section id="drill-down"><h2>Per task: every model, every protocol</h2>' + "".join(sections)
            + "</section>") if sections else ""


def other_boards(boards: list[Board]) -> str:
    """Each other protocol's board: its table and its notes."""
    sections = [f'<section class="protocol"><h3>{escape(b.title)}</h3>{page_table.table(b, f"board-{k}")}'
                f'<ul class="notes">{"".join(map(note_item, merged(b.notes, b.tasks)))}</ul></section>'
                for k, b in enumerate(boards, 1) if not b.entries.empty]
    return ('<section id="other-protocols"><h2>Other protocols</h2><p>Records that are not the benchmark\'s '
            "declared protocol for their task: a board per protocol variant, one row per model.</p>"
            + "".join(sections) + "</section>") if sections else ""


def render(boards: Board | list[Board]) -> str:
    """The page of the main board `boards[0]` and the other protocols' boards `boards[1:]`."""
    boards = [boards] if isinstance(boards, Board) else list(boards)
    main = boards[0]
    title = page_title(main)
    content = ("<p>No result records.</p>" if main.entries.empty else page_table.table(main, "leaderboard")
               + figures(main)) + other_boards(boards[1:]) + drill_down(boards)
    notes = "".join(map(note_item, merged(main.notes, main.tasks)))
    problems = "".join(f"<li><code>{escape(p.file)}</code>: {escape(p.reason)}</li>"
                       for p in dict.fromkeys(p for b in boards for p in b.problems))
    return ("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
            f"<title>{escape(title)}</title><style>{CSS}</style></head><body>"
            f"<h1>{escape(title)}</h1>{method_list(main)}{content}"
            + (f'<section id="notes"><h2>Notes</h2><ul>{notes}</ul></section>' if notes else "")
            + (f'<section id="problems"><h2>Records left out or partly ignored</h2><ul>{problems}</ul></section>'
               if problems else "")
            + f"<script>{JS}</script></body></html>\n")
