"""Dashboard formatting: labels that read right, sparklines that show a change."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from wedsync_success.suppliers.models import VendorType
from wedsync_success.web import formatting


def test_vendor_labels_read_as_people_write_them() -> None:
    assert formatting.label(VendorType.HAIR_MAKEUP) == "Hair & makeup"
    assert formatting.label(VendorType.BAND_DJ) == "Band / DJ"
    assert formatting.label("at_risk") == "At risk"
    assert formatting.label(VendorType.PHOTOGRAPHER) == "Photographer"


def _heights(points: str) -> list[float]:
    return [float(p.split(",")[1]) for p in points.split()]


def test_a_change_of_a_few_points_fills_most_of_the_sparkline() -> None:
    heights = _heights(formatting.sparkline([62.0, 62.5, 63.0, 70.0], height=28))
    assert max(heights) - min(heights) > 28 * 0.5  # was 2 px on a 0-100 scale
    assert heights[-1] < heights[0]  # higher score, higher on the page (smaller y)


def test_a_flat_series_stays_flat_and_a_wobble_stays_small() -> None:
    assert len(set(_heights(formatting.sparkline([40.0] * 5)))) == 1
    wobble = _heights(formatting.sparkline([40.0, 40.2, 40.1], height=28))
    assert max(wobble) - min(wobble) < 1.0


@given(st.lists(st.floats(min_value=0, max_value=100), min_size=2, max_size=60))
def test_sparkline_points_stay_inside_the_box(scores: list[float]) -> None:
    points = formatting.sparkline(scores, width=120, height=28)
    for point in points.split():
        x, y = (float(v) for v in point.split(","))
        assert 0 <= x <= 120
        assert 0 <= y <= 28
    assert formatting.sparkline(scores[:1]) == ""
