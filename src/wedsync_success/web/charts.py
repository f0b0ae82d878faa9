"""Charts drawn server-side as SVG geometry, for the dashboard and the printable reports.

A chart here is plain data (coordinates, path strings, tick labels) that a Jinja macro in
``templates/partials/charts.html`` turns into an ``<svg>``. Drawing on the server keeps one
picture for the Business page and the monthly HTML report, which must be self-contained and
print the same on paper as on screen (no script, no canvas). Every chart also keeps its
numbers so the macro can show them as a table beside the picture.

Gaps (``None``) break a line rather than drawing through zero: a month with no responses has
no NPS, which is not an NPS of 0.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

Format = Callable[[float], str]

PALETTE = 6
"""Series take CSS classes ``s0``…``s5`` in order (colours in app.css and the report)."""


def nice_ticks(low: float, high: float, *, count: int = 5) -> list[float]:
    """Round tick values covering ``[low, high]``: about ``count`` steps of 1, 2 or 5 times 10^k."""
    if not (math.isfinite(low) and math.isfinite(high)):
        raise ValueError("tick range must be finite")
    if high < low:
        low, high = high, low
    if high - low <= 1e-12 * max(1.0, abs(low), abs(high)):
        high = low + (abs(low) / 10 or 1.0)  # a flat line still gets an axis around it
    raw = (high - low) / max(count - 1, 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    fraction = raw / magnitude
    step = magnitude * next(
        m for limit, m in ((1.5, 1), (3, 2), (7, 5), (math.inf, 10)) if fraction < limit
    )
    first = math.floor(low / step) * step
    last = math.ceil(high / step) * step
    n = round((last - first) / step)
    digits = max(0, 1 - math.floor(math.log10(step)))
    return [round(first + i * step, digits) for i in range(n + 1)]


@dataclass(frozen=True)
class Series:
    """One named line (or bar stack) of values, one per x label; ``None`` is a gap."""

    name: str
    values: Sequence[float | None]
    low: Sequence[float | None] | None = None
    """Lower edge of a confidence band, drawn shaded behind the line (with ``high``)."""
    high: Sequence[float | None] | None = None
    step: bool = False
    """Draw as a step function (a survival curve holds its value until the next event)."""


@dataclass(frozen=True)
class Tick:
    position: float
    text: str


@dataclass(frozen=True)
class Legend:
    name: str
    css: str
    x: float
    """Where its swatch starts: entries sit side by side, spaced by their names' length."""


def _legend(series: Sequence[Series]) -> list[Legend]:
    entries, x = [], 10.0
    for k, s in enumerate(series):
        entries.append(Legend(s.name, f"s{k % PALETTE}", x))
        x += 30 + 6.2 * len(s.name)
    return entries


@dataclass(frozen=True)
class Frame:
    """The plot area inside the SVG's margins, and the ticks of both axes."""

    width: int
    height: int
    left: float
    top: float
    right: float
    bottom: float
    x_ticks: list[Tick]
    y_ticks: list[Tick]
    zero_y: float | None
    """Where y = 0 is, when zero lies inside the axis (a baseline worth drawing)."""


@dataclass(frozen=True)
class Line:
    css: str
    path: str
    band: str | None
    points: list[tuple[float, float, str]]
    """Each plotted point and its tooltip."""


@dataclass(frozen=True)
class LineChart:
    title: str
    frame: Frame
    lines: list[Line]
    legend: list[Legend]
    labels: list[str]
    series: list[Series]
    fmt: Format

    def table(self) -> list[list[str]]:
        """Rows of the data table: one per x label, a cell per series."""
        return [
            [label] + [_cell(s.values[i], self.fmt) for s in self.series]
            for i, label in enumerate(self.labels)
        ]


@dataclass(frozen=True)
class Bar:
    css: str
    x: float
    y: float
    width: float
    height: float
    tip: str


@dataclass(frozen=True)
class BarChart:
    title: str
    frame: Frame
    bars: list[Bar]
    legend: list[Legend]
    labels: list[str]
    series: list[Series]
    fmt: Format

    def table(self) -> list[list[str]]:
        return [
            [label] + [_cell(s.values[i], self.fmt) for s in self.series]
            for i, label in enumerate(self.labels)
        ]


@dataclass(frozen=True)
class Interval:
    """One row of an interval chart: an estimate with its confidence interval."""

    label: str
    estimate: float | None
    low: float | None = None
    high: float | None = None
    note: str = ""
    """Said instead of a mark when there is no estimate (e.g. "no control group")."""


@dataclass(frozen=True)
class IntervalRow:
    label: str
    y: float
    x: float | None
    low_x: float | None
    high_x: float | None
    text: str


@dataclass(frozen=True)
class IntervalChart:
    title: str
    frame: Frame
    rows: list[IntervalRow]
    zero_x: float | None
    items: list[Interval]
    fmt: Format

    def table(self) -> list[list[str]]:
        return [
            [
                i.label,
                _cell(i.estimate, self.fmt) if i.estimate is not None else i.note or "—",
                _cell(i.low, self.fmt),
                _cell(i.high, self.fmt),
            ]
            for i in self.items
        ]


@dataclass(frozen=True)
class HeatCell:
    text: str
    shade: float | None
    """0 (lowest) … 1 (highest) of the table's range; ``None`` for an empty cell."""


@dataclass(frozen=True)
class HeatMap:
    title: str
    columns: list[str]
    rows: list[tuple[str, list[HeatCell]]]
    legend_low: str
    legend_high: str


@dataclass(frozen=True)
class _Space:
    """Maps data coordinates to pixels inside a frame."""

    frame: Frame
    y_low: float
    y_high: float
    n: int

    def x(self, i: int) -> float:
        f = self.frame
        if self.n == 1:
            return round((f.left + f.right) / 2, 1)
        return round(f.left + (f.right - f.left) * i / (self.n - 1), 1)

    def y(self, value: float) -> float:
        f = self.frame
        share = (value - self.y_low) / (self.y_high - self.y_low)
        return round(f.bottom - (f.bottom - f.top) * share, 1)


def _cell(value: float | None, fmt: Format) -> str:
    return "—" if value is None else fmt(value)


def _finite(values: Sequence[float | None]) -> list[float]:
    return [v for v in values if v is not None and math.isfinite(v)]


def _x_ticks(labels: Sequence[str], position: Callable[[int], float], most: int) -> list[Tick]:
    """At most ``most`` labels, evenly thinned, always the first and the last."""
    n = len(labels)
    if n == 0:
        return []
    stride = max(1, math.ceil(n / most))
    keep = sorted({*range(0, n, stride), n - 1})
    if len(keep) > 1 and keep[-1] - keep[-2] < stride / 2:
        keep.pop(-2)
    return [Tick(position(i), labels[i]) for i in keep]


def _frame(
    *, width: int, height: int, y_ticks: list[float], fmt: Format, legend: bool
) -> tuple[Frame, float, float]:
    longest = max((len(fmt(t)) for t in y_ticks), default=1)
    left = 8.0 + 6.5 * longest
    top = 26.0 if legend else 10.0
    frame = Frame(
        width=width,
        height=height,
        left=left,
        top=top,
        right=width - 12.0,
        bottom=height - 22.0,
        x_ticks=[],
        y_ticks=[],
        zero_y=None,
    )
    return frame, y_ticks[0], y_ticks[-1]


def _with_ticks(space: _Space, ticks: list[float], fmt: Format, x_ticks: list[Tick]) -> Frame:
    f = space.frame
    zero = space.y(0.0) if space.y_low < 0 < space.y_high else None
    return Frame(
        width=f.width,
        height=f.height,
        left=f.left,
        top=f.top,
        right=f.right,
        bottom=f.bottom,
        x_ticks=x_ticks,
        y_ticks=[Tick(space.y(t), fmt(t)) for t in ticks],
        zero_y=zero,
    )


def _path(points: Sequence[tuple[float, float] | None], *, step: bool) -> str:
    """An SVG path through the points, lifting the pen at each gap."""
    parts: list[str] = []
    previous: tuple[float, float] | None = None
    for point in points:
        if point is None:
            previous = None
            continue
        x, y = point
        if previous is None:
            parts.append(f"M{x},{y}")
        elif step:
            parts.append(f"H{x}V{y}")
        else:
            parts.append(f"L{x},{y}")
        previous = point
    return "".join(parts)


def _band(
    xs: Sequence[float], low: Sequence[float | None], high: Sequence[float | None], *, step: bool
) -> str | None:
    """A closed polygon between the band's edges, over the longest run without gaps."""
    runs: list[list[int]] = [[]]
    for i, (lo, hi) in enumerate(zip(low, high, strict=True)):
        if lo is None or hi is None:
            runs.append([])
        else:
            runs[-1].append(i)
    polygons = []
    for run in (r for r in runs if len(r) >= 2):
        upper = _path([(xs[i], _required(high[i])) for i in run], step=step)
        lower_points = [(xs[i], _required(low[i])) for i in reversed(run)]
        lower = "".join((f"V{y}H{x}" if step else f"L{x},{y}") for x, y in lower_points)
        polygons.append(upper + lower + "Z")
    return " ".join(polygons) or None


def _check_lengths(labels: Sequence[str], series: Sequence[Series]) -> None:
    for s in series:
        if len(s.values) != len(labels):
            raise ValueError(f"series {s.name!r}: {len(s.values)} values, {len(labels)} labels")


def _required(value: float | None) -> float:
    assert value is not None
    return value


def line_chart(
    *,
    title: str,
    labels: Sequence[str],
    series: Sequence[Series],
    fmt: Format,
    y_min: float | None = None,
    y_max: float | None = None,
    width: int = 640,
    height: int = 240,
) -> LineChart:
    """Lines (with optional bands) over shared x labels; the y axis covers every value."""
    _check_lengths(labels, series)
    values = [v for s in series for v in _finite([*s.values, *(s.low or ()), *(s.high or ())])]
    low = y_min if y_min is not None else min(values, default=0.0)
    high = y_max if y_max is not None else max(values, default=1.0)
    ticks = nice_ticks(low, high)
    frame, y_low, y_high = _frame(
        width=width, height=height, y_ticks=ticks, fmt=fmt, legend=len(series) > 1
    )
    space = _Space(frame, y_low, y_high, len(labels))
    xs = [space.x(i) for i in range(len(labels))]
    lines = []
    for k, s in enumerate(series):
        css = f"s{k % PALETTE}"
        points = [
            None if v is None or not math.isfinite(v) else (xs[i], space.y(v))
            for i, v in enumerate(s.values)
        ]
        band = None
        if s.low is not None and s.high is not None:
            band = _band(
                xs,
                [None if v is None else space.y(v) for v in s.low],
                [None if v is None else space.y(v) for v in s.high],
                step=s.step,
            )
        tips = [
            (p[0], p[1], f"{s.name}, {labels[i]}: {fmt(_required(s.values[i]))}")
            for i, p in enumerate(points)
            if p is not None
        ]
        lines.append(Line(css=css, path=_path(points, step=s.step), band=band, points=tips))
    x_ticks = _x_ticks(labels, space.x, most=max(2, width // 70))
    return LineChart(
        title=title,
        frame=_with_ticks(space, ticks, fmt, x_ticks),
        lines=lines,
        legend=_legend(series),
        labels=list(labels),
        series=list(series),
        fmt=fmt,
    )


def bar_chart(
    *,
    title: str,
    labels: Sequence[str],
    series: Sequence[Series],
    fmt: Format,
    width: int = 640,
    height: int = 240,
) -> BarChart:
    """Stacked bars, one per label: positive values stack up from zero, negative ones down."""
    _check_lengths(labels, series)
    ups = [sum(max(s.values[i] or 0.0, 0.0) for s in series) for i in range(len(labels))]
    downs = [sum(min(s.values[i] or 0.0, 0.0) for s in series) for i in range(len(labels))]
    ticks = nice_ticks(min([0.0, *downs]), max([0.0, *ups]))
    frame, y_low, y_high = _frame(
        width=width, height=height, y_ticks=ticks, fmt=fmt, legend=len(series) > 1
    )
    slot = (frame.right - frame.left) / max(len(labels), 1)
    space = _Space(frame, y_low, y_high, len(labels))

    def centre(i: int) -> float:
        return round(frame.left + slot * (i + 0.5), 1)

    bars = []
    for i, label in enumerate(labels):
        up, down = 0.0, 0.0
        for k, s in enumerate(series):
            value = s.values[i]
            if not value:
                continue
            start = up if value > 0 else down
            end = start + value
            if value > 0:
                up = end
            else:
                down = end
            top, bottom = space.y(max(start, end)), space.y(min(start, end))
            bars.append(
                Bar(
                    css=f"s{k % PALETTE}",
                    x=round(centre(i) - slot * 0.35, 1),
                    y=top,
                    width=round(slot * 0.7, 1),
                    height=round(bottom - top, 1),
                    tip=f"{s.name}, {label}: {fmt(value)}",
                )
            )
    x_ticks = _x_ticks(labels, centre, most=max(2, width // 70))
    return BarChart(
        title=title,
        frame=_with_ticks(space, ticks, fmt, x_ticks),
        bars=bars,
        legend=_legend(series),
        labels=list(labels),
        series=list(series),
        fmt=fmt,
    )


def interval_chart(
    *, title: str, items: Sequence[Interval], fmt: Format, width: int = 640, row: int = 28
) -> IntervalChart:
    """A row per item: a dot at the estimate and a whisker across its interval."""
    values = _finite([v for i in items for v in (i.estimate, i.low, i.high)])
    ticks = nice_ticks(min([0.0, *values]), max([0.0, *values]))
    longest = max((len(i.label) for i in items), default=8)
    left = min(8.0 + 6.5 * longest, width * 0.45)
    height = int(row * max(len(items), 1) + 30)
    span = (width - 16.0 - left) / (ticks[-1] - ticks[0])

    def x(value: float) -> float:
        return round(left + (value - ticks[0]) * span, 1)

    rows = []
    for n, item in enumerate(items):
        rows.append(
            IntervalRow(
                label=item.label,
                y=round(10 + row * (n + 0.5), 1),
                x=None if item.estimate is None else x(item.estimate),
                low_x=None if item.low is None else x(item.low),
                high_x=None if item.high is None else x(item.high),
                text=item.note if item.estimate is None else fmt(item.estimate),
            )
        )
    frame = Frame(
        width=width,
        height=height,
        left=left,
        top=10.0,
        right=width - 16.0,
        bottom=height - 20.0,
        x_ticks=[Tick(x(t), fmt(t)) for t in ticks],
        y_ticks=[],
        zero_y=None,
    )
    return IntervalChart(
        title=title,
        frame=frame,
        rows=rows,
        zero_x=x(0.0) if ticks[0] < 0 < ticks[-1] else None,
        items=list(items),
        fmt=fmt,
    )


def heat_map(
    *,
    title: str,
    columns: Sequence[str],
    rows: Sequence[tuple[str, Sequence[float | None]]],
    fmt: Format,
    low: float | None = None,
    high: float | None = None,
) -> HeatMap:
    """A table whose cells are shaded by value (a cohort's retention by month of age)."""
    values = _finite([v for _, cells in rows for v in cells])
    bottom = low if low is not None else min(values, default=0.0)
    top = high if high is not None else max(values, default=1.0)
    spread = (top - bottom) or 1.0
    shaded = [
        (
            name,
            [
                HeatCell("", None)
                if v is None
                else HeatCell(fmt(v), round(min(max((v - bottom) / spread, 0.0), 1.0), 3))
                for v in cells
            ],
        )
        for name, cells in rows
    ]
    return HeatMap(
        title=title,
        columns=list(columns),
        rows=shaded,
        legend_low=fmt(bottom),
        legend_high=fmt(top),
    )
