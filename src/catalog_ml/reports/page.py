"""A self-contained HTML page: inline CSS, inline SVG, no scripts, no network."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import Any

STYLE = """
body{font-family:system-ui,sans-serif;margin:24px auto;max-width:1100px;color:#222;padding:0 16px}
h1{font-size:22px}h2{font-size:17px;margin-top:32px;border-bottom:1px solid #ddd}
table{border-collapse:collapse;font-size:13px;margin:8px 0}
td,th{border:1px solid #ddd;padding:3px 8px;text-align:right}
th,td:first-child,td.t{text-align:left}
.kpis{display:flex;flex-wrap:wrap;gap:12px}
.kpi{border:1px solid #ddd;border-radius:6px;padding:8px 14px;min-width:120px}
.kpi b{display:block;font-size:20px}.note{color:#666;font-size:13px}
.bad{color:#c44e52}.good{color:#2f7d4f}
"""


def page(title: str, sections: Sequence[str], subtitle: str = "") -> str:
    return ("<!doctype html><html lang='en'><head><meta charset='utf-8'>"
            f"<title>{escape(title)}</title><style>{STYLE}</style></head><body>"
            f"<h1>{escape(title)}</h1>"
            + (f"<p class='note'>{escape(subtitle)}</p>" if subtitle else "")
            + "".join(sections) + "</body></html>")


def section(heading: str, *parts: str, note: str = "") -> str:
    return (f"<h2>{escape(heading)}</h2>"
            + (f"<p class='note'>{escape(note)}</p>" if note else "") + "".join(parts))


def kpis(figures: dict[str, Any]) -> str:
    return "<div class='kpis'>" + "".join(
        f"<div class='kpi'>{escape(str(k))}<b>{escape(_cell(v))}</b></div>"
        for k, v in figures.items()) + "</div>"


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.2f}" if abs(value) >= 1000 else f"{value:.4g}"
    return "" if value is None else str(value)


def _td(value: Any) -> str:
    numeric = isinstance(value, int | float) and not isinstance(value, bool)
    return f"<td>{escape(_cell(value))}</td>" if numeric else \
        f"<td class='t'>{escape(_cell(value))}</td>"


def table(header: Sequence[str], rows: Sequence[Sequence[Any]], limit: int = 200) -> str:
    body = "".join("<tr>" + "".join(_td(v) for v in row) + "</tr>" for row in rows[:limit])
    more = (f"<p class='note'>{len(rows) - limit} more rows not shown</p>"
            if len(rows) > limit else "")
    return ("<table><tr>" + "".join(f"<th>{escape(h)}</th>" for h in header) + "</tr>"
            + body + "</table>" + more)
