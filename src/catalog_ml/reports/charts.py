"""Charts as inline SVG: no JavaScript, no CDN, no plotting library; a report renders offline.

Each function returns one ``<svg>`` element as text, sized by its data, with a ``<title>`` on
every mark so hovering shows the exact figure.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

PALETTE = ("#3b6ea8", "#e07b39", "#5a9e6f", "#c44e52", "#8172b3", "#937860", "#da8bc3",
           "#8c8c8c")
FONT = 'font-family="system-ui, sans-serif" font-size="12"'


def _svg(width: float, height: float, body: str, label: str) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
            f'viewBox="0 0 {width:.0f} {height:.0f}" role="img" aria-label="{escape(label)}" '
            f'{FONT}>{body}</svg>')


def _short(text: str, limit: int = 38) -> str:
    return text if len(text) <= limit else "…" + text[-(limit - 1):]


def _fmt(value: float) -> str:
    if value == 0:
        return "0"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.3g}"


def bar_chart(labels: Sequence[str], series: dict[str, Sequence[float]], label: str,
              width: int = 720, bar: int = 14, value_format: str = "{:.3g}") -> str:
    """Horizontal bars, one group per label, one bar per series (e.g. tonight / last night)."""
    names = list(series)
    left, right = 250, 70
    group = bar * len(names) + 6
    height = 30 + group * len(labels) + 20 * (len(names) > 1)
    top = max((v for values in series.values() for v in values), default=0) or 1.0
    scale = (width - left - right) / top
    parts = []
    for i, name in enumerate(labels):
        y = 20 + i * group
        parts.append(f'<text x="{left - 6}" y="{y + group / 2}" text-anchor="end" '
                     f'dominant-baseline="middle"><title>{escape(name)}</title>'
                     f'{escape(_short(name))}</text>')
        for j, series_name in enumerate(names):
            value = float(series[series_name][i])
            w = max(value * scale, 0.5 if value else 0)
            parts.append(
                f'<rect x="{left}" y="{y + j * bar}" width="{w:.1f}" height="{bar - 2}" '
                f'fill="{PALETTE[j % len(PALETTE)]}"><title>{escape(name)} · {escape(series_name)}'
                f': {value_format.format(value)}</title></rect>'
                f'<text x="{left + w + 4:.1f}" y="{y + j * bar + bar / 2}" '
                f'dominant-baseline="middle" fill="#444">{value_format.format(value)}</text>')
    if len(names) > 1:
        y = height - 12
        for j, series_name in enumerate(names):
            x = left + j * 140
            parts.append(f'<rect x="{x}" y="{y - 9}" width="10" height="10" '
                         f'fill="{PALETTE[j % len(PALETTE)]}"/><text x="{x + 14}" y="{y}">'
                         f'{escape(series_name)}</text>')
    return _svg(width, height, "".join(parts), label)


def histogram(values: Sequence[float], label: str, bins: int = 20, lower: float = 0.0,
              upper: float = 1.0, marker: float | None = None, marker_label: str = "",
              width: int = 720, height: int = 240) -> str:
    """Counts per equal-width bin between ``lower`` and ``upper``; an optional vertical line."""
    counts = [0] * bins
    span = (upper - lower) or 1.0
    for v in values:
        if math.isfinite(v):
            counts[min(bins - 1, max(0, int((v - lower) / span * bins)))] += 1
    left, bottom, top_pad = 50, 30, 15
    plot_w, plot_h = width - left - 15, height - bottom - top_pad
    peak = max(counts) or 1
    bw = plot_w / bins
    parts = [f'<line x1="{left}" y1="{top_pad + plot_h}" x2="{left + plot_w}" '
             f'y2="{top_pad + plot_h}" stroke="#888"/>']
    for i, c in enumerate(counts):
        h = c / peak * plot_h
        a, b = lower + i * span / bins, lower + (i + 1) * span / bins
        parts.append(f'<rect x="{left + i * bw + 1:.1f}" y="{top_pad + plot_h - h:.1f}" '
                     f'width="{bw - 2:.1f}" height="{h:.1f}" fill="{PALETTE[0]}">'
                     f'<title>{_fmt(a)}–{_fmt(b)}: {c}</title></rect>')
    for i in range(0, bins + 1, max(1, bins // 5)):
        x = left + i * bw
        parts.append(f'<text x="{x:.1f}" y="{height - 10}" text-anchor="middle">'
                     f'{_fmt(lower + i * span / bins)}</text>')
    parts.append(f'<text x="{left - 6}" y="{top_pad + 4}" text-anchor="end">{peak}</text>'
                 f'<text x="{left - 6}" y="{top_pad + plot_h}" text-anchor="end">0</text>')
    if marker is not None and lower <= marker <= upper:
        x = left + (marker - lower) / span * plot_w
        right = x > left + 0.7 * plot_w  # near the right edge: the label goes to the left
        parts.append(f'<line x1="{x:.1f}" y1="{top_pad}" x2="{x:.1f}" y2="{top_pad + plot_h}" '
                     f'stroke="{PALETTE[3]}" stroke-dasharray="4 3"/><text '
                     f'x="{x - 4 if right else x + 4:.1f}" y="{top_pad + 12}" '
                     f'text-anchor="{"end" if right else "start"}" fill="{PALETTE[3]}">'
                     f'{escape(marker_label)} {_fmt(marker)}</text>')
    return _svg(width, height, "".join(parts), label)


def box_plot(rows: Sequence[tuple[str, float, float, float, float, float, int]], label: str,
             log_scale: bool = True, width: int = 720, row: int = 22) -> str:
    """One horizontal box per row: (name, min, q1, median, q3, max, count)."""
    left, right = 250, 60
    height = 40 + row * len(rows)
    values = [v for r in rows for v in r[1:6] if v is not None and math.isfinite(v)]
    use_log = log_scale and values and min(values) > 0
    transform = (lambda v: math.log10(v)) if use_log else (lambda v: v)
    low = min(map(transform, values), default=0.0)
    high = max(map(transform, values), default=1.0)
    span = (high - low) or 1.0
    plot_w = width - left - right

    def x(v: float) -> float:
        return left + (transform(v) - low) / span * plot_w

    parts = []
    for i, (name, lo, q1, med, q3, hi, n) in enumerate(rows):
        y = 15 + i * row
        mid = y + row / 2 - 2
        tip = (f"{name}: n={n}, min {_fmt(lo)}, q1 {_fmt(q1)}, median {_fmt(med)}, "
               f"q3 {_fmt(q3)}, max {_fmt(hi)}")
        parts.append(
            f'<g><title>{escape(tip)}</title>'
            f'<text x="{left - 6}" y="{mid}" text-anchor="end" dominant-baseline="middle">'
            f'{escape(_short(name))}</text>'
            f'<line x1="{x(lo):.1f}" y1="{mid}" x2="{x(hi):.1f}" y2="{mid}" stroke="#666"/>'
            f'<rect x="{x(q1):.1f}" y="{y + 3}" width="{max(x(q3) - x(q1), 1):.1f}" '
            f'height="{row - 10}" fill="{PALETTE[0]}" fill-opacity="0.35" stroke="{PALETTE[0]}"/>'
            f'<line x1="{x(med):.1f}" y1="{y + 3}" x2="{x(med):.1f}" y2="{y + row - 7}" '
            f'stroke="{PALETTE[3]}" stroke-width="2"/>'
            f'<text x="{width - right + 6}" y="{mid}" dominant-baseline="middle" fill="#444">'
            f'n={n}</text></g>')
    for k in range(5):
        t = low + k * span / 4
        value = 10 ** t if use_log else t
        px = left + k * plot_w / 4
        parts.append(f'<text x="{px:.1f}" y="{height - 8}" text-anchor="middle">'
                     f'{_fmt(value)}</text>')
    return _svg(width, height, "".join(parts), label)


def heatmap(labels: Sequence[str], matrix: Sequence[Sequence[int]], label: str,
            cell: int | None = None) -> str:
    """A confusion matrix: rows are the truth, columns the prediction; shade per row share."""
    n = len(labels)
    cell = cell or max(4, min(22, 900 // max(n, 1)))
    margin = 260 if cell >= 10 else 20
    size = margin + n * cell + 10
    parts = []
    for i, row in enumerate(matrix):
        total = sum(row) or 1
        for j, count in enumerate(row):
            if not count:
                continue
            share = count / total
            colour = PALETTE[0] if i == j else PALETTE[3]
            parts.append(
                f'<rect x="{margin + j * cell}" y="{margin + i * cell}" width="{cell}" '
                f'height="{cell}" fill="{colour}" fill-opacity="{0.15 + 0.85 * share:.2f}">'
                f'<title>true {escape(labels[i])} → predicted {escape(labels[j])}: {count}'
                f'</title></rect>')
        if cell >= 10:
            parts.append(f'<text x="{margin - 4}" y="{margin + i * cell + cell / 2}" '
                         f'text-anchor="end" dominant-baseline="middle" font-size="10">'
                         f'{escape(_short(labels[i], 42))}</text>')
            x, y = margin + i * cell + cell / 2, margin - 4
            parts.append(f'<text x="{x}" y="{y}" transform="rotate(-60 {x} {y})" '
                         f'font-size="10">{escape(_short(labels[i], 42))}</text>')
    parts.append(f'<rect x="{margin}" y="{margin}" width="{n * cell}" height="{n * cell}" '
                 f'fill="none" stroke="#bbb"/>')
    return _svg(size, size, "".join(parts), label)
