"""When an approved email may go out: the playbook's send window in the lead's own time zone.

The zone comes from the lead's zone attribute (an IANA name), else its country (agent/
country_zones.py), else the playbook's default. `next_opening` answers "now" inside the window,
else the first moment the window opens again, computed in local wall-clock time so that DST
changes move the opening with the clock on the wall (09:00 stays 09:00), never by an hour."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from agent.country_zones import country_zone
from agent.playbook.models import WEEKDAYS, SendWindow
from agent.timeline import Lead

ZoneSource = Literal["attribute", "country", "default"]


@dataclass(frozen=True, slots=True)
class LeadZone:
    zone: ZoneInfo
    source: ZoneSource
    """Where the zone came from: the lead's zone attribute, its country, or the default."""

    @property
    def name(self) -> str:
        return self.zone.key


def lead_zone(lead: Lead, window: SendWindow) -> LeadZone:
    """The lead's time zone by the window's rule: zone attribute, else country, else default."""
    named = _zone(lead.attributes.get(window.timezone_attribute))
    if named is not None:
        return LeadZone(named, "attribute")
    country = lead.attributes.get(window.country_attribute)
    from_country = _zone(country_zone(country)) if isinstance(country, str) else None
    if from_country is not None:
        return LeadZone(from_country, "country")
    return LeadZone(ZoneInfo(window.default_timezone), "default")


def _zone(value: object) -> ZoneInfo | None:
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        return ZoneInfo(value.strip())
    except (ZoneInfoNotFoundError, ValueError):  # unknown names, or paths like "../x"
        return None


def next_opening(now: datetime, zone: ZoneInfo, window: SendWindow) -> datetime:
    """`now` (UTC) when the window is open at `now` in `zone`, else the next moment it opens,
    in UTC. A window that opens on a day starting at a local time that does not exist that
    day (skipped by a DST change) opens at the first moment after the gap."""
    now = now.astimezone(UTC)
    today = now.astimezone(zone).date()
    # from yesterday: a window running past midnight may still be open this morning
    for offset in range(-1, 8):
        day = today + timedelta(days=offset)
        if WEEKDAYS[day.weekday()] not in window.days:
            continue
        opens, closes = _opening(day, zone, window)
        if opens <= now < closes:
            return now
        if opens > now:
            return opens
    raise AssertionError("a window open at least one day a week opens within 8 days")


def _opening(day: date, zone: ZoneInfo, window: SendWindow) -> tuple[datetime, datetime]:
    """The window of `day` as UTC instants [opens, closes)."""
    start, end = time(*window.clock("start")), time(*window.clock("end"))
    closing_day = day + timedelta(days=1) if end <= start else day
    return _instant(day, start, zone), _instant(closing_day, end, zone)


def _instant(day: date, at: time, zone: ZoneInfo) -> datetime:
    """The UTC instant of a local wall-clock time. A time the clock skipped (spring forward)
    becomes the moment the clock jumps to; a time it shows twice (fall back), the first."""
    local = datetime.combine(day, at, tzinfo=zone)  # fold=0: the earlier of two
    instant = local.astimezone(UTC)
    if instant.astimezone(zone).replace(tzinfo=None) != local.replace(tzinfo=None):
        # in a gap: fold=0 read it with the offset before the jump, so it lands after the gap;
        # the gap's end is the first valid moment at or after the wanted time
        instant = _gap_end(local, zone)
    return instant


def _gap_end(local: datetime, zone: ZoneInfo) -> datetime:
    """The first instant whose local time is at or after `local` (which falls in a gap)."""
    before = datetime.combine(local.date(), local.time(), tzinfo=zone).replace(fold=1)
    # fold=1 reads the time with the offset after the jump: that instant is before the gap
    # ends; step to the offset change by the difference of the two offsets
    early = before.astimezone(UTC)
    late = local.astimezone(UTC)
    lo, hi = min(early, late), max(early, late)
    while hi - lo > timedelta(seconds=1):
        mid = lo + (hi - lo) / 2
        if mid.astimezone(zone).replace(tzinfo=None) >= local.replace(tzinfo=None):
            hi = mid
        else:
            lo = mid
    return hi.replace(microsecond=0)


def describe(at: datetime, zone: ZoneInfo) -> str:
    """How people read a scheduled moment: "Tue 09:00 Europe/Berlin"."""
    return f"{at.astimezone(zone):%a %H:%M} {zone.key}"


def scheduled_detail(opening: datetime, zone: ZoneInfo) -> str:
    """What a send waiting for the window says: "scheduled for Tue 09:00 Europe/Berlin"."""
    return f"scheduled for {describe(opening, zone)}"
