"""The rules every send passes before any adapter is called: quiet hours and the cap.

Preferences and the holdout arm are checked in the same place (:mod:`.steps`), so there is
one gate, and each of its decisions is recorded on the intervention.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from wedsync_success.interventions.playbooks import QuietHours

COUNTRY_ZONES = {
    "GB": "Europe/London",
    "IE": "Europe/Dublin",
    "US": "America/New_York",
    "CA": "America/Toronto",
    "AU": "Australia/Sydney",
    "NZ": "Pacific/Auckland",
    "FR": "Europe/Paris",
    "ES": "Europe/Madrid",
    "IT": "Europe/Rome",
    "DE": "Europe/Berlin",
    "NL": "Europe/Amsterdam",
    "PT": "Europe/Lisbon",
    "GR": "Europe/Athens",
    "ZA": "Africa/Johannesburg",
    "AE": "Asia/Dubai",
}
"""The main time zone of the countries WedSync sells in; a supplier's own ``time_zone``
wins, and a country not listed falls back to UTC."""


def supplier_zone(*, time_zone: str | None, country: str) -> ZoneInfo:
    """The zone quiet hours are measured in for one supplier."""
    for name in (time_zone, COUNTRY_ZONES.get(country.upper())):
        if name:
            try:
                return ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return ZoneInfo("UTC")


def quiet_until(now: datetime, zone: ZoneInfo, quiet: QuietHours) -> datetime | None:
    """When the quiet window that ``now`` falls in ends (UTC), or ``None`` outside it.

    The window may wrap midnight (21:00-08:00) or not (12:00-14:00); it is read in the
    supplier's local time, so a daylight-saving change moves it with the clocks.
    """
    local = now.astimezone(zone)
    t = local.time().replace(tzinfo=None)
    wraps = quiet.start > quiet.end
    inside = (t >= quiet.start or t < quiet.end) if wraps else (quiet.start <= t < quiet.end)
    if not inside:
        return None
    end_day = local.date() + timedelta(days=1) if wraps and t >= quiet.start else local.date()
    end = datetime.combine(end_day, quiet.end, tzinfo=zone)
    return end.astimezone(now.tzinfo)
