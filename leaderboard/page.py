"""index.html: one self-contained page (inline CSS, JS and SVG; a CSP forbids any fetch).

The table is the Markdown one, with a numeric sort key per cell (`data-value`; empty for
a missing value, which always sorts last); clicking a header sorts by that column and
clicking it again reverses the order.
"""
from __future__ import annotations

import math
from html import escape

import numpy as np
import pandas as pd

from leaderboard import markdown, plots
from leaderboard.board import Board
from leaderboard.domains import DOMAINS

CSS = """
body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse;font-size:13px}
th,td{border:1px solid #ccc;padding:3px 6px;white-space:nowrap}
th{background:#f0f0f0;cursor:pointer;user-select:none}
th[aria-sort=ascending]::after{content:" \\25B2"} th[aria-sort=descending]::after{content:" \\25BC"}
tr.unranked td{color:#777}
figure{display:inline-block;vertical-align:top;margin:1em}
figure svg{max-width:100%;height:auto}
.method{max-width:60em}
.scroll{overflow-x:auto}
"""

JS = """
document.querySelectorAll('#leaderboard th').forEach(function (th, col) {
  th.addEventListener('click', function () {
    var body = document.querySelector('#leaderboard tbody');
    var asc = th.getAttribute('aria-sort') !== 'ascending';
    document.querySelectorAll('#leaderboard th').forEach(function (h) { h.removeAttribute('aria-sort'); });
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
"""

CSP = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:"


def key(value: object) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return ""
    return repr(float(value)) if isinstance(value, (int, float, np.integer, np.floating)) else str(value)


def sort_keys(board: Board) -> tuple[list[bool], list[list[str]]]:
    """Whether each column sorts numerically, and each row's sort keys (parallel to markdown.rows)."""
    numeric = [True, False, True, *(True for _ in DOMAINS), *(True for _ in board.tasks), True, True, False, False,
               False]
    out = []
    for entry, r in board.entries.iterrows():
        cells = [board.cells["mean"].get((entry, t)) for t in board.tasks]
        out.append([key(r["rank"]), entry, key(r["overall"]), *(key(r[d]) for d in DOMAINS), *map(key, cells),
                    key(r["params"]), key(r["clips_per_s"]), key(r["compute"]), key(r["date"]),
                    key(", ".join(r["not_separable_from"]))])
    return numeric, out


def table_html(board: Board) -> str:
    numeric, keys = sort_keys(board)
    head = "".join(f'<th data-type="{"num" if n else "text"}">{escape(c)}</th>'
                   for c, n in zip(markdown.columns(board), numeric))
    body = []
    for (entry, r), texts, ks in zip(board.entries.iterrows(), markdown.rows(board), keys):
        cls = "" if pd.notna(r["rank"]) else ' class="unranked"'
        tds = "".join(f'<td data-value="{escape(k)}">{escape(t)}</td>' for t, k in zip(texts, ks))
        body.append(f'<tr data-entry="{escape(entry)}"{cls}>{tds}</tr>')
    return (f'<div class="scroll"><table id="leaderboard"><thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(body)}</tbody></table></div>')


def figure(fid: str, svg: str | None, caption: str, absent: str) -> str:
    inner = svg if svg else f'<p class="absent">{escape(absent)}</p>'
    return f'<figure id="{fid}">{inner}<figcaption>{escape(caption)}</figcaption></figure>'


def render(board: Board) -> str:
    title = "earbench leaderboard" + (f": suite {board.suite}" if board.suite else "")
    if board.entries.empty:
        content = "<p>No result records.</p>"
    else:
        content = table_html(board) + '<section id="plots">' + "".join([
            figure("plot-domains", plots.domain_bars(board), "Normalised score: overall and per domain",
                   "no normalised score to plot (no floor results)"),
            figure("plot-throughput", plots.throughput_scatter(board), "Overall score against throughput",
                   "no ranked entry records a throughput"),
            figure("plot-layers", plots.layer_weights(board), "Learned layer weights (weighted-sum runs)",
                   "no record carries protocol.chosen.layer_weights"),
        ]) + "</section>"
    notes = "".join(f"<li>{escape(n)}</li>" for n in board.notes)
    problems = "".join(f"<li><code>{escape(p.file)}</code>: {escape(p.reason)}</li>" for p in board.problems)
    return ("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
            f"<title>{escape(title)}</title><style>{CSS}</style></head><body>"
            f"<h1>{escape(title)}</h1><p class=\"method\">{escape(markdown.method_text(board))}</p>{content}"
            + (f'<section id="notes"><h2>Notes</h2><ul>{notes}</ul></section>' if notes else "")
            + (f'<section id="problems"><h2>Records left out or partly ignored</h2><ul>{problems}</ul></section>'
               if problems else "")
            + f"<script>{JS}</script></body></html>\n")
