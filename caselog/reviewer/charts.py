"""Server-side SVG charts: plain strings, no script, nothing fetched from anywhere.

Every piece of text goes through ``html.escape``, so agency names and labels
cannot break out of the markup.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from html import escape
from typing import Sequence

PALETTE = ("#1f4e79", "#2e86c1", "#85c1e9", "#f0b27a", "#e67e22", "#c0392b")
LEGEND_COLUMNS = 3
LEGEND_ROW = 18


@dataclass(frozen=True)
class Frame:
    """The drawing area: the plot sits inside the margins, x labels and legend below it."""

    top_value: float
    low_value: float = 0.0  # the value at the plot's bottom edge
    below: int = 28  # room under the plot for the x labels (and the legend)
    width: int = 600
    plot_height: int = 180
    left: int = 48
    right: int = 16
    top: int = 36

    @property
    def height(self) -> int:
        return self.top + self.plot_height + self.below

    @property
    def bottom(self) -> float:
        return self.top + self.plot_height

    def x(self, n: int) -> list[float]:
        span = self.width - self.left - self.right
        return [self.left + span * (i + 0.5) / n for i in range(n)]

    def y(self, value: float) -> float:
        span = self.top_value - self.low_value
        return self.top + self.plot_height * (1 - (value - self.low_value) / span) if span else self.bottom


def _svg(frame: Frame, title: str, body: list[str]) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {frame.width} {frame.height}" '
        f'width="{frame.width}" height="{frame.height}" role="img" class="caselog-chart" '
        f'font-family="sans-serif" font-size="12">'
        f"<title>{escape(title)}</title>"
        f'<text x="{frame.left}" y="20" font-size="14" font-weight="bold">{escape(title)}</text>'
        + "".join(body) + "</svg>"
    )


def _axes(frame: Frame, labels: Sequence[str], ticks: Sequence[tuple[float, str]], selected: str | None) -> list[str]:
    out = []
    xs = frame.x(len(labels))
    if selected in labels:  # a band behind the selected year, whose label is also bold
        step = (frame.width - frame.left - frame.right) / len(labels)
        x = xs[list(labels).index(selected)]
        out.append(f'<rect class="caselog-selected" x="{x - step / 2:.1f}" y="{frame.top}" width="{step:.1f}" '
                   f'height="{frame.plot_height}" fill="#fff3cd"/>')
    for value, text in ticks:
        y = frame.y(value)
        out.append(f'<line x1="{frame.left}" y1="{y:.1f}" x2="{frame.width - frame.right}" y2="{y:.1f}" stroke="#ddd"/>')
        out.append(f'<text x="{frame.left - 6}" y="{y + 4:.1f}" text-anchor="end" fill="#555">{escape(text)}</text>')
    for x, text in zip(xs, labels):
        weight = ' font-weight="bold"' if text == selected else ""
        out.append(f'<text x="{x:.1f}" y="{frame.bottom + 16}" text-anchor="middle" fill="#333"{weight}>{escape(text)}</text>')
    return out


def _legend(frame: Frame, names: Sequence[str], colours: Sequence[str]) -> list[str]:
    out = []
    column = (frame.width - frame.left - frame.right) / LEGEND_COLUMNS
    for i, (name, colour) in enumerate(zip(names, colours)):
        x = frame.left + column * (i % LEGEND_COLUMNS)
        y = frame.bottom + 40 + LEGEND_ROW * (i // LEGEND_COLUMNS)
        out.append(f'<rect x="{x:.1f}" y="{y - 10}" width="10" height="10" fill="{colour}"/>')
        out.append(f'<text x="{x + 14:.1f}" y="{y}">{escape(name)}</text>')
    return out


def rate_axis(values: Sequence[float | None]) -> list[float]:
    """Ticks (in percent) that fit the rates: the fewest round steps, at most five, that span them."""
    found = [v * 100 for v in values if v is not None] or [0.0, 100.0]
    low, high = min(found), max(found)
    for step in (0.5, 1, 2, 2.5, 5, 10, 20, 25):
        bottom, top = math.floor(low / step) * step, math.ceil(high / step) * step
        if top == bottom:
            top += step
        if (top - bottom) / step <= 5:
            break
    bottom, top = max(bottom, 0.0), min(top, 100.0)
    return [bottom + step * i for i in range(int(round((top - bottom) / step)) + 1)]


def rate_chart(title: str, labels: Sequence[str], values: Sequence[float | None], colour: str = PALETTE[0],
               selected: str | None = None) -> str:
    """A line of rates (fractions) over ``labels`` on an axis that fits them; a None leaves a gap in the line."""
    ticks = rate_axis(values)
    frame = Frame(top_value=ticks[-1] / 100, low_value=ticks[0] / 100)
    body = _axes(frame, labels, [(v / 100, f"{v:g}%") for v in ticks], selected)
    segments: list[list[str]] = [[]]
    for x, value in zip(frame.x(len(labels)), values):
        if value is None:
            segments.append([])
            continue
        y = frame.y(value)
        segments[-1].append(f"{x:.1f},{y:.1f}")
        body.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{colour}"><title>{value * 100:.1f}%</title></circle>'
            f'<text x="{x:.1f}" y="{y - 8:.1f}" text-anchor="middle" font-size="11">{value * 100:.1f}%</text>'
        )
    for points in segments:
        if len(points) > 1:
            body.append(f'<polyline points="{" ".join(points)}" fill="none" stroke="{colour}" stroke-width="2"/>')
    return _svg(frame, title, body)


def stacked_chart(title: str, labels: Sequence[str], series: Sequence[tuple[str, Sequence[int]]],
                  selected: str | None = None) -> str:
    """Bars of counts over ``labels``, one stacked segment per named series, with a legend."""
    totals = [sum(column) for column in zip(*(values for _, values in series))] or [0]
    legend_rows = -(-len(series) // LEGEND_COLUMNS)
    frame = Frame(top_value=_nice_ceiling(max(totals)), below=28 + 12 + LEGEND_ROW * legend_rows)
    body = _axes(frame, labels, [(frame.top_value * i / 4, f"{frame.top_value * i / 4:g}") for i in range(5)], selected)
    bar = (frame.width - frame.left - frame.right) / max(len(labels), 1) * 0.6
    colours = PALETTE[: len(series)]
    for i, x in enumerate(frame.x(len(labels))):
        base = 0
        for (name, values), colour in zip(series, colours):
            n = values[i]
            if not n:
                continue
            y_top, y_base = frame.y(base + n), frame.y(base)
            body.append(
                f'<rect x="{x - bar / 2:.1f}" y="{y_top:.1f}" width="{bar:.1f}" height="{y_base - y_top:.1f}" '
                f'fill="{colour}"><title>{escape(labels[i])} {escape(name)}: {n}</title></rect>'
            )
            base += n
        body.append(f'<text x="{x:.1f}" y="{frame.y(base) - 4:.1f}" text-anchor="middle" font-size="11">{base}</text>')
    body += _legend(frame, [name for name, _ in series], colours)
    return _svg(frame, title, body)


def _nice_ceiling(value: int) -> int:
    """The smallest of 4, 8, 20, 40, 80, 200, ... at or above ``value``: ticks at quarters stay whole."""
    step = 4
    while step < value:
        step = step * 5 // 2 if str(step)[0] == "8" else step * 2
    return step
