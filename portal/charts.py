"""Charts drawn on the server as SVG: data in, markup out, no I/O.

Pages show them through `shared/chart.html`. Each chart is an image to assistive technology
(`role="img"`, a `<title>` and a `<desc>` saying what it shows) and carries its figures as a
table the page puts under it. Colours, dashes and sizes are SVG presentation attributes,
which the portal's Content-Security-Policy allows where it forbids `style=` attributes.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from markupsafe import Markup

INK = "#1b1b1f"
MUTED = "#4a4a55"
GRID = "#c9ccd6"
MARK = "#b3261e"
FONT = "system-ui, sans-serif"
WIDTH = 720
CHAR_WIDTH = 6.5  # average width of a 12 px character, to lay labels out
MAX_LABEL = 30  # longer category labels are cut in the drawing (the table keeps them whole)
PLOT_HEIGHT = 220.0  # of a column chart, legend and labels apart
BAR_ROW = 28.0  # height of one bar of a bar chart

Format = Callable[[float], str]


@dataclass(frozen=True)
class Series:
    """One quantity drawn per category, in one colour (stacked with the others)."""

    name: str
    colour: str
    values: tuple[float, ...]


@dataclass(frozen=True)
class Marker:
    """A vertical line across a column chart: `position` counts columns from the left
    edge (2.0 is the boundary between the second and the third)."""

    position: float
    label: str


@dataclass(frozen=True)
class Chart:
    """A drawn chart and the table of its figures."""

    id: str
    title: str
    description: str
    svg: Markup
    columns: tuple[str, ...]  # the table's headings: the categories' then each series'
    rows: tuple[tuple[str, ...], ...]


def plain(value: float) -> str:
    """A count as people write it in French tables: `1 234`."""
    return f"{value:,.0f}".replace(",", "\u202f")


def nice_step(largest: float, ticks: int = 4) -> float:
    """A round step (1, 2 or 5 times a power of ten, 1 at least) giving about `ticks`
    gridlines up to `largest`."""
    if largest <= 0:
        return 1.0
    raw = largest / ticks
    power = 10 ** math.floor(math.log10(raw))
    factor = next(f for f in (1, 2, 5, 10) if raw <= f * power)
    return max(1.0, factor * power)  # counts are whole, amounts in euros: no finer step


def _number(value: float) -> str:
    return f"{value:.1f}".removesuffix(".0")


def _cut(label: str) -> str:
    return label if len(label) <= MAX_LABEL else label[: MAX_LABEL - 1] + "…"


def _text(x: float, y: float, content: str, *, anchor: str = "start", size: int = 12) -> Markup:
    return Markup(
        '<text x="{}" y="{}" font-size="{}" text-anchor="{}" fill="{}" font-family="{}">{}</text>'
    ).format(_number(x), _number(y), size, anchor, INK, FONT, content)


def _rect(x: float, y: float, width: float, height: float, colour: str, tip: str) -> Markup:
    return Markup(
        '<rect x="{}" y="{}" width="{}" height="{}" fill="{}"><title>{}</title></rect>'
    ).format(_number(x), _number(y), _number(width), _number(max(height, 0)), colour, tip)


def _legend(series: Sequence[Series], y: float) -> tuple[list[Markup], float]:
    """Swatches and names in rows across the top; the height they take."""
    parts, x = [], 0.0
    for item in series:
        width = 18 + len(item.name) * CHAR_WIDTH + 16
        if x and x + width > WIDTH:
            x, y = 0.0, y + 20
        parts.append(
            Markup('<rect x="{}" y="{}" width="12" height="12" fill="{}"/>').format(
                _number(x), _number(y), item.colour
            )
        )
        parts.append(_text(x + 18, y + 11, item.name))
        x += width
    return parts, y + 30


def _svg(chart_id: str, title: str, description: str, height: float, body: list[Markup]) -> Markup:
    return Markup(
        '<svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 {w} {h}" '
        'width="{w}" height="{h}" aria-labelledby="{id}-title {id}-desc">'
        '<title id="{id}-title">{title}</title><desc id="{id}-desc">{desc}</desc>{body}</svg>'
    ).format(
        w=WIDTH,
        h=_number(height),
        id=chart_id,
        title=title,
        desc=description,
        body=Markup("").join(body),
    )


def _line(
    x1: float, y1: float, x2: float, y2: float, colour: str, *, dashed: bool = False
) -> Markup:
    line = (
        Markup(
            '<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="{}" stroke-width="2" '
            'stroke-dasharray="6 4"/>'
        )
        if dashed
        else Markup('<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="{}"/>')
    )
    return line.format(_number(x1), _number(y1), _number(x2), _number(y2), colour)


def _table(
    heading: str, categories: Sequence[str], series: Sequence[Series], fmt: Format, total: str
) -> tuple[tuple[str, ...], tuple[tuple[str, ...], ...]]:
    """One row per category, one column per series, and their sum when `total` names it."""
    columns = (heading, *(s.name for s in series), *([total] if total else []))
    rows = []
    for index, category in enumerate(categories):
        values = [s.values[index] for s in series]
        summed = [fmt(sum(values))] if total else []
        rows.append((category, *(fmt(v) for v in values), *summed))
    return columns, tuple(rows)


@dataclass(frozen=True)
class _Plot:
    """Where a column chart's plot area sits and how values map onto it."""

    top: float
    left: float
    slot: float  # the width given to each category
    scale: float  # pixels per unit of value
    step: float  # between gridlines
    ceiling: float  # the value at the top of the plot
    every: int  # one category in this many is labelled, so labels never overlap

    @property
    def base(self) -> float:
        return self.top + PLOT_HEIGHT

    def grid(self, fmt: Format) -> list[Markup]:
        """Gridlines and their values on the left."""
        parts = []
        for tick in range(round(self.ceiling / self.step) + 1):
            y = self.base - tick * self.step * self.scale
            parts.append(_line(self.left, y, WIDTH - 8, y, GRID))
            parts.append(_text(self.left - 6, y + 4, fmt(tick * self.step), anchor="end", size=11))
        return parts

    def column(
        self, index: int, category: str, series: Sequence[Series], fmt: Format
    ) -> list[Markup]:
        """One category's stacked rectangles, each with its figure as a tooltip, and its
        label under the axis."""
        parts, x, y = [], self.left + (index + 0.15) * self.slot, self.base
        for item in series:
            height = item.values[index] * self.scale
            if height > 0:
                tip = f"{category} — {item.name} : {fmt(item.values[index])}"
                parts.append(_rect(x, y - height, self.slot * 0.7, height, item.colour, tip))
                y -= height
        if index % self.every == 0:
            x = self.left + (index + 0.5) * self.slot
            parts.append(_text(x, self.base + 16, category, anchor="middle", size=11))
        return parts

    def marker(self, marker: Marker) -> list[Markup]:
        """A dashed line across the plot, labelled above it."""
        x = self.left + marker.position * self.slot
        return [
            _line(x, self.top - 4, x, self.base, MARK, dashed=True),
            _text(x + 4, self.top - 6, marker.label, size=11),
        ]


def column_chart(
    chart_id: str,
    title: str,
    description: str,
    heading: str,
    categories: Sequence[str],
    series: Sequence[Series],
    *,
    total: str = "",
    markers: Sequence[Marker] = (),
    fmt: Format = plain,
    empty: str = "",
) -> Chart:
    """Vertical columns, one per category, the series stacked in each (a legend names them
    when there are several); `markers` draw labelled vertical lines, such as a deadline on a
    histogram. In the table, `heading` names the categories and `total` the sum column."""
    legend, top = _legend(series, 4) if len(series) > 1 else ([], 8.0)
    top += 14 if markers else 0  # room for the markers' labels
    totals = [sum(s.values[i] for s in series) for i in range(len(categories))]
    largest = max(totals, default=0)
    step = nice_step(largest)
    ceiling = step * max(1, math.ceil(largest / step))
    slot = (WIDTH - 64.0 - 8) / max(1, len(categories))
    longest = max((len(c) for c in categories), default=0) * CHAR_WIDTH + 6
    plot = _Plot(
        top=top,
        left=64.0,
        slot=slot,
        scale=PLOT_HEIGHT / ceiling,
        step=step,
        ceiling=ceiling,
        every=max(1, math.ceil(longest / slot)),
    )
    body = [*legend, *plot.grid(fmt)]
    for index, category in enumerate(categories):
        body += plot.column(index, category, series, fmt)
    for marker in markers:
        body += plot.marker(marker)
    if not largest and empty:
        body.append(_text(WIDTH / 2, top + PLOT_HEIGHT / 2, empty, anchor="middle", size=14))
    body.append(_line(plot.left, plot.base, WIDTH - 8, plot.base, MUTED))
    height = plot.base + 40
    columns, rows = _table(heading, categories, series, fmt, total if len(series) > 1 else "")
    svg = _svg(chart_id, title, description, height, body)
    return Chart(chart_id, title, description, svg, columns, rows)


def bar_chart(
    chart_id: str,
    title: str,
    description: str,
    heading: str,
    categories: Sequence[str],
    series: Series,
    *,
    fmt: Format = plain,
    empty: str = "",
) -> Chart:
    """Horizontal bars, one per category, labelled on the left and valued at their end:
    for categories with long names (buyers) or few of them (age buckets)."""
    label_width = min(MAX_LABEL, max((len(c) for c in categories), default=0)) * CHAR_WIDTH + 12
    value_width = max((len(fmt(v)) for v in series.values), default=0) * CHAR_WIDTH + 12
    height = 16 + max(1, len(categories)) * BAR_ROW
    largest = max(series.values, default=0)
    span = WIDTH - label_width - value_width - 8
    body: list[Markup] = []
    for index, category in enumerate(categories):
        value, middle = series.values[index], 8 + (index + 0.5) * BAR_ROW
        length = span * value / largest if largest > 0 else 0
        body.append(_text(label_width - 8, middle + 4, _cut(category), anchor="end"))
        tip = f"{category} : {fmt(value)}"
        body.append(_rect(label_width, middle - 10, length, 20, series.colour, tip))
        body.append(_text(label_width + length + 6, middle + 4, fmt(value)))
    if not categories and empty:
        body.append(_text(WIDTH / 2, 8 + BAR_ROW / 2 + 4, empty, anchor="middle", size=14))
    body.append(_line(label_width, 8, label_width, height - 8, MUTED))
    columns, rows = _table(heading, categories, [series], fmt, "")
    svg = _svg(chart_id, title, description, height, body)
    return Chart(chart_id, title, description, svg, columns, rows)


def histogram_bins(
    counts: Sequence[tuple[int, Sequence[float]]], *, width: int, last: int, values: int
) -> tuple[list[tuple[int, int | None]], list[list[float]]]:
    """Day counts gathered in bins of `width` days: 0 to `width`, then `width` + 1 to
    2 × `width`..., up to `last` (a multiple of `width`), then one bin for anything longer.
    Each count carries `values` figures (e.g. on time, late), summed per bin."""
    bounds: list[tuple[int, int | None]] = [(0, width)]
    bounds += [(start + 1, start + width) for start in range(width, last, width)]
    bounds.append((last + 1, None))
    sums = [[0.0] * values for _ in bounds]
    for days, figures in counts:
        index = len(bounds) - 1 if days > last else max(0, math.ceil(days / width) - 1)
        for k, figure in enumerate(figures):
            sums[index][k] += figure
    return bounds, sums
