"""The shared parts of every HTML page: one self-contained file, inline style and figures, text escaped."""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Iterable
from typing import Any

# A figure shrinks to the page, and a table wider than the page scrolls inside its own box (.wide), so the
# page itself never scrolls sideways.
STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:1240px;color:#222;padding:0 16px}
h1{font-size:22px}h2{font-size:18px;margin-top:28px}table{border-collapse:collapse;margin:8px 0}
th,td{border:1px solid #ccc;padding:3px 8px;text-align:right;vertical-align:top}th{background:#f2f2f2}
td.l,th.l{text-align:left}table.sortable td{white-space:nowrap}
pre{white-space:pre-wrap;word-break:break-word;background:#f7f7f7;padding:6px;margin:2px 0}
details{margin:4px 0}summary{cursor:pointer}.add{background:#dfd}.del{background:#fdd;text-decoration:line-through}
.ok{color:#060}.invalid{color:#a00}.duplicate{color:#777}.failed{color:#b50}.skipped{color:#777}.best{font-weight:bold}
.note{background:#fff6d6;border:1px solid #e6cf73;padding:6px 10px}.kind{color:#555}
table.sortable th{cursor:pointer}
img{max-width:100%;height:auto}.wide{overflow-x:auto}
"""

# Sorting by a header click: the only script of any page, and it reads nothing the model wrote.
SORT_SCRIPT = """
document.querySelectorAll('table.sortable').forEach(function(t){
 t.querySelectorAll('th').forEach(function(th,i){th.addEventListener('click',function(){
  var rows=Array.from(t.tBodies[0].rows),up=th.dataset.up!=='1';th.dataset.up=up?'1':'0';
  rows.sort(function(a,b){var x=a.cells[i].dataset.v||a.cells[i].textContent,
   y=b.cells[i].dataset.v||b.cells[i].textContent;
   var p=parseFloat(x),q=parseFloat(y);var c=(!isNaN(p)&&!isNaN(q))?p-q:x.localeCompare(y);return up?c:-c;});
  rows.forEach(function(r){t.tBodies[0].appendChild(r);});});});});
"""


def esc(value: Any) -> str:
    """Any value as HTML text: model output can never become markup or script."""
    return html.escape("" if value is None else str(value), quote=True)


def counted(count: int, noun: str) -> str:
    """A count and its noun, singular for one: "1 trial", "2 trials"."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


def page(title: str, body: Iterable[str], *, sortable: bool = False) -> str:
    """A whole HTML document with no external resource."""
    script = f"<script>{SORT_SCRIPT}</script>" if sortable else ""
    return (
        f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{esc(title)}</title>"
        f"<style>{STYLE}</style></head><body>{''.join(body)}{script}</body></html>"
    )


def table(header: list[str], rows: Iterable[list[Any]], *, sortable: bool = False, left: int = 1) -> str:
    """An HTML table; the first `left` columns are left-aligned; cells are escaped."""

    def cells(row: list[Any], tag: str) -> str:
        return "".join(f"<{tag}{' class=l' if i < left else ''}>{esc(v)}</{tag}>" for i, v in enumerate(row))

    body = "".join(f"<tr>{cells(row, 'td')}</tr>" for row in rows)
    kind = " class='sortable'" if sortable else ""
    return wide(f"<table{kind}><thead><tr>{cells(header, 'th')}</tr></thead><tbody>{body}</tbody></table>")


def wide(html_table: str) -> str:
    """A table in a box that scrolls sideways when the table is wider than the page."""
    return f"<div class='wide'>{html_table}</div>"


def figure(fig: Any, alt: str, dpi: int = 90) -> str:
    """A matplotlib figure as an inline PNG."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    data = base64.b64encode(buffer.getvalue()).decode()
    return f"<img alt='{esc(alt)}' src='data:image/png;base64,{data}'>"
