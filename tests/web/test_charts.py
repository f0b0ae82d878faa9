"""Server-drawn SVG charts: ticks, gaps, bands, stacked signed bars, intervals, heat maps."""

from __future__ import annotations

import math
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wedsync_success.web import charts
from wedsync_success.web.rendering import TEMPLATES


def pct(value: float) -> str:
    return f"{value * 100:.0f}%"


finite = st.floats(min_value=-1e9, max_value=1e9, allow_nan=False)


@given(finite, finite)
def test_ticks_cover_the_range_in_round_steps(a: float, b: float) -> None:
    ticks = charts.nice_ticks(a, b)
    low, high = min(a, b), max(a, b)
    assert ticks[0] <= low + 1e-9 * max(1.0, abs(low))
    assert ticks[-1] >= high - 1e-9 * max(1.0, abs(high))
    assert 2 <= len(ticks) <= 12
    step = ticks[1] - ticks[0]
    mantissa = step / 10 ** math.floor(math.log10(step))
    assert min(abs(mantissa - m) for m in (1, 2, 5, 10)) < 1e-6


def test_ticks_of_a_flat_range_still_make_an_axis() -> None:
    assert charts.nice_ticks(0.0, 0.0) == [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    with pytest.raises(ValueError, match="finite"):
        charts.nice_ticks(0.0, math.inf)


def test_a_gap_lifts_the_pen_instead_of_drawing_through_zero() -> None:
    chart = charts.line_chart(
        title="NPS",
        labels=["Jan", "Feb", "Mar", "Apr"],
        series=[charts.Series("NPS", [10.0, None, 30.0, 40.0])],
        fmt=str,
    )
    path = chart.lines[0].path
    assert path.count("M") == 2  # one stroke before the gap, one after
    assert len(chart.lines[0].points) == 3
    assert chart.table()[1] == ["Feb", "—"]


def test_lines_are_placed_by_value_and_a_band_surrounds_its_line() -> None:
    chart = charts.line_chart(
        title="Survival",
        labels=["0", "1", "2"],
        series=[
            charts.Series(
                "All", [1.0, 0.8, 0.5], low=[1.0, 0.7, 0.4], high=[1.0, 0.9, 0.6], step=True
            )
        ],
        fmt=pct,
        y_min=0.0,
        y_max=1.0,
    )
    frame = chart.frame
    ys = [y for _, y, _ in chart.lines[0].points]
    assert ys[0] == frame.top  # 100 % at the top of the axis
    assert ys[0] < ys[1] < ys[2] < frame.bottom
    assert "H" in chart.lines[0].path
    assert "V" in chart.lines[0].path
    band = chart.lines[0].band
    assert band is not None
    assert band.endswith("Z")
    assert [t.text for t in frame.y_ticks] == ["0%", "20%", "40%", "60%", "80%", "100%"]


def test_lengths_must_agree() -> None:
    with pytest.raises(ValueError, match="2 values, 3 labels"):
        charts.line_chart(
            title="x", labels=["a", "b", "c"], series=[charts.Series("s", [1, 2])], fmt=str
        )


def test_bars_stack_up_from_zero_and_losses_hang_below_it() -> None:
    chart = charts.bar_chart(
        title="MRR movements",
        labels=["Jan"],
        series=[
            charts.Series("New", [300.0]),
            charts.Series("Expansion", [100.0]),
            charts.Series("Churned", [-200.0]),
        ],
        fmt=lambda v: f"{v:.0f}",
    )
    zero = chart.frame.zero_y
    assert zero is not None
    new, expansion, churned = chart.bars
    assert math.isclose(new.y + new.height, zero, abs_tol=0.11)
    assert math.isclose(expansion.y + expansion.height, new.y, abs_tol=0.11)
    assert math.isclose(churned.y, zero, abs_tol=0.11)
    assert math.isclose(new.height, 1.5 * churned.height, rel_tol=0.01)


def test_an_interval_without_an_estimate_says_why() -> None:
    chart = charts.interval_chart(
        title="ROI by playbook",
        items=[
            charts.Interval("Win-back", 2.5, 1.0, 4.0),
            charts.Interval("Onboarding", None, note="no control group"),
        ],
        fmt=lambda v: f"{v:.1f}",
    )
    measured, unmeasured = chart.rows
    assert measured.low_x is not None
    assert measured.high_x is not None
    assert measured.low_x < measured.x < measured.high_x  # type: ignore[operator]
    assert unmeasured.x is None
    assert unmeasured.text == "no control group"
    assert chart.table()[1] == ["Onboarding", "no control group", "—", "—"]


def test_heat_map_shades_by_value_and_leaves_empty_cells_blank() -> None:
    heat = charts.heat_map(
        title="Cohorts",
        columns=["M0", "M1"],
        rows=[("2026-01", [1.0, 0.5]), ("2026-02", [1.0, None])],
        fmt=pct,
        low=0.0,
        high=1.0,
    )
    first, second = heat.rows
    assert [c.shade for c in first[1]] == [1.0, 0.5]
    assert second[1][1].shade is None
    assert second[1][1].text == ""


def test_the_macros_draw_every_chart_with_its_numbers() -> None:
    line = charts.line_chart(
        title="NRR <and> GRR",
        labels=["Jan", "Feb"],
        series=[charts.Series("NRR", [1.0, 1.1])],
        fmt=pct,
    )
    template = TEMPLATES.env.from_string(
        '{% import "partials/charts.html" as charts with context %}'
        '{{ charts.line_chart(c, "nrr", "Month") }}'
    )
    html = template.render(c=line, print_tables=True)
    assert "NRR &lt;and&gt; GRR" in html  # titles are escaped
    assert re.search(r'<path class="line s0" d="M[^"]+L[^"]+"', html)
    assert '<details class="chart-data" open>' in html
    assert "<td>110%</td>" in html
