"""Charts as plain SVG, drawn on the server: data in, markup out, no queries.

Each chart is an `<svg role="img">` named by its `<title>` and described by a `<desc>` that
says in words what it shows (the page puts the same numbers in a table below it). The
drawings scale to the width of the page (viewBox, no fixed size), so they read at 375 px.
Colours pass 4.5:1 against white; the heat map's shades go with the numbers written in them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

INK = "#1c1c1c"
MUTED = "#4a4a4a"
BAR = "#005aa3"
EARLIER = "#6b4200"
GRID = "#d0d4d9"


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    text: str  # the value as written beside the bar (formatted for the page's language)


def _frame(chart_id: str, title: str, description: str, width: int, height: int,
           body: list[str]) -> Markup:
    # Every piece of text in `body` went through escape(); the rest are numbers.
    return Markup(  # noqa: S704
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc" '
        f'xmlns="http://www.w3.org/2000/svg" preserveAspectRatio="xMinYMin meet">'
        f'<title id="{chart_id}-title">{escape(title)}</title>'
        f'<desc id="{chart_id}-desc">{escape(description)}</desc>'
        + "".join(body) + "</svg>")


def bar_chart(chart_id: str, title: str, description: str, bars: Sequence[Bar]) -> Markup:
    """Horizontal bars, one a row, each with its label above it and its value beside it."""
    width, row, top = 600, 46, 8
    largest = max((b.value for b in bars), default=0) or 1
    body = []
    for n, bar in enumerate(bars):
        y = top + n * row
        length = max(bar.value / largest * 440, 0)
        body.append(
            f'<text x="0" y="{y + 14}" font-size="15" fill="{INK}">{escape(bar.label)}</text>'
            f'<rect x="0" y="{y + 20}" width="{length:.1f}" height="18" fill="{BAR}"/>'
            f'<text x="{length + 8:.1f}" y="{y + 34}" font-size="15" fill="{INK}">'
            f'{escape(bar.text)}</text>')
    return _frame(chart_id, title, description, width, top + max(len(bars), 1) * row, body)


def line_chart(chart_id: str, title: str, description: str, labels: Sequence[str],
               series: Sequence[tuple[str, Sequence[float]]]) -> Markup:
    """One line per series over the same points (months); the first is solid, the next
    dashed, with a legend above."""
    width, height, left, right, top, bottom = 600, 300, 48, 12, 40, 48
    largest = max((v for _n, values in series for v in values), default=0) or 1
    plot_w, plot_h = width - left - right, height - top - bottom
    step = plot_w / max(len(labels) - 1, 1)
    body = []
    for tick in range(5):
        value = largest * tick / 4
        y = top + plot_h - plot_h * tick / 4
        body.append(f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" '
                    f'stroke="{GRID}"/><text x="{left - 6}" y="{y + 5:.1f}" font-size="13" '
                    f'text-anchor="end" fill="{MUTED}">{value:.0f}</text>')
    every = max(1, -(-len(labels) // 12))
    for n, label in enumerate(labels):
        if n % every == 0:
            body.append(f'<text x="{left + n * step:.1f}" y="{height - bottom + 20}" '
                        f'font-size="13" text-anchor="middle" fill="{MUTED}">'
                        f'{escape(label)}</text>')
    for index, (name, values) in enumerate(series):
        colour, dash = (BAR, "") if index == 0 else (EARLIER, ' stroke-dasharray="6 4"')
        points = " ".join(f"{left + n * step:.1f},{top + plot_h - v / largest * plot_h:.1f}"
                          for n, v in enumerate(values))
        body.append(f'<polyline points="{points}" fill="none" stroke="{colour}" '
                    f'stroke-width="3"{dash}/>')
        for n, v in enumerate(values):
            body.append(f'<circle cx="{left + n * step:.1f}" '
                        f'cy="{top + plot_h - v / largest * plot_h:.1f}" r="3.5" '
                        f'fill="{colour}"/>')
        x = left + index * 260
        body.append(f'<line x1="{x}" x2="{x + 28}" y1="16" y2="16" stroke="{colour}" '
                    f'stroke-width="3"{dash}/><text x="{x + 36}" y="21" font-size="14" '
                    f'fill="{INK}">{escape(name)}</text>')
    return _frame(chart_id, title, description, width, height, body)


def heat_map(chart_id: str, title: str, description: str, rows: Sequence[str],
             grid: Sequence[Sequence[int]], hours: Sequence[int]) -> Markup:
    """Rows (weekdays) × columns (hours of the day); darker is busier, and each cell that
    is not empty has its number written in it."""
    cell_w, cell_h, left, top = 34, 30, 44, 26
    largest = max((max(r[h] for h in hours) for r in grid), default=0) or 1
    width, height = left + cell_w * len(hours) + 4, top + cell_h * len(rows) + 4
    body = []
    for column, hour in enumerate(hours):
        body.append(f'<text x="{left + column * cell_w + cell_w / 2:.1f}" y="18" font-size="13"'
                    f' text-anchor="middle" fill="{MUTED}">{hour:02d}</text>')
    for r, name in enumerate(rows):
        y = top + r * cell_h
        body.append(f'<text x="0" y="{y + 20}" font-size="14" fill="{INK}">'
                    f'{escape(name)}</text>')
        for column, hour in enumerate(hours):
            value = grid[r][hour]
            share = value / largest
            # white to the page's blue; text turns white where the blue is dark
            shade = _mix(share)
            x = left + column * cell_w
            body.append(f'<rect x="{x}" y="{y}" width="{cell_w - 2}" height="{cell_h - 2}" '
                        f'fill="{shade}" stroke="{GRID}"/>')
            if value:
                colour = "#ffffff" if share > 0.45 else INK
                body.append(f'<text x="{x + (cell_w - 2) / 2:.1f}" y="{y + 19}" '
                            f'font-size="12" text-anchor="middle" fill="{colour}">'
                            f'{value}</text>')
    return _frame(chart_id, title, description, width, height, body)


def _mix(share: float) -> str:
    start, end = (255, 255, 255), (0, 63, 115)
    channels = (round(a + (b - a) * share) for a, b in zip(start, end, strict=True))
    return "#" + "".join(f"{c:02x}" for c in channels)
