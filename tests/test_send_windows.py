"""The send window: the lead's zone (attribute, country, default) and the next opening in it,
across weekends, windows running past midnight and DST changes, checked against examples worked
by hand and, as a property, against a plain wall-clock reading of the window."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from agent.country_zones import country_zone
from agent.playbook.models import WEEKDAYS, SendWindow
from agent.send_windows import describe, lead_zone, next_opening
from agent.timeline import Lead

BERLIN = ZoneInfo("Europe/Berlin")
OFFICE = SendWindow(days=["mon", "tue", "wed", "thu", "fri"], start="09:00", end="17:00")


def utc(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def lead(**attributes: Any) -> Lead:
    return Lead(id="L1", email="dana@northwind.example", attributes=attributes)


def test_inside_the_window_it_is_now() -> None:
    now = utc(2026, 12, 1, 10, 0)  # Tue 11:00 in Berlin
    assert next_opening(now, BERLIN, OFFICE) == now


def test_after_hours_it_is_the_next_morning() -> None:
    now = utc(2026, 12, 1, 16, 30)  # Tue 17:30 in Berlin
    assert next_opening(now, BERLIN, OFFICE) == utc(2026, 12, 2, 8, 0)  # Wed 09:00 CET


def test_the_close_is_not_in_the_window() -> None:
    now = utc(2026, 12, 1, 16, 0)  # Tue 17:00 sharp in Berlin
    assert next_opening(now, BERLIN, OFFICE) == utc(2026, 12, 2, 8, 0)


def test_friday_evening_waits_for_monday_across_the_spring_dst_change() -> None:
    # Berlin moves to CEST on Sun 2026-03-29: Monday 09:00 is 07:00 UTC, not 08:00
    now = utc(2026, 3, 27, 17, 0)  # Fri 18:00 CET
    assert next_opening(now, BERLIN, OFFICE) == utc(2026, 3, 30, 7, 0)


def test_friday_evening_waits_for_monday_across_the_autumn_dst_change() -> None:
    now = utc(2026, 10, 23, 16, 0)  # Fri 18:00 CEST; back to CET on Sun 2026-10-25
    assert next_opening(now, BERLIN, OFFICE) == utc(2026, 10, 26, 8, 0)


def test_new_york_changes_on_another_date_than_berlin() -> None:
    new_york = ZoneInfo("America/New_York")  # EDT from Sun 2026-03-08
    now = utc(2026, 3, 6, 23, 0)  # Fri 18:00 EST
    assert next_opening(now, new_york, OFFICE) == utc(2026, 3, 9, 13, 0)  # Mon 09:00 EDT


def test_an_opening_the_clock_skips_opens_when_the_clock_jumps() -> None:
    sunday_night = SendWindow(days=["sun"], start="02:30", end="04:00")
    now = utc(2026, 3, 28, 12, 0)  # Sat; on Sun 02:00 CET the clock jumps to 03:00 CEST
    assert next_opening(now, BERLIN, sunday_night) == utc(2026, 3, 29, 1, 0)  # 03:00 CEST


def test_a_window_past_midnight_is_open_in_the_small_hours_of_the_next_day() -> None:
    late = SendWindow(days=["fri"], start="22:00", end="02:00")
    saturday_one = utc(2026, 12, 5, 0, 0)  # Sat 01:00 CET: Friday's window is still open
    assert next_opening(saturday_one, BERLIN, late) == saturday_one
    saturday_three = utc(2026, 12, 5, 2, 0)  # Sat 03:00: closed until next Friday 22:00
    assert next_opening(saturday_three, BERLIN, late) == utc(2026, 12, 11, 21, 0)


def test_the_zone_comes_from_the_attribute_then_the_country_then_the_default() -> None:
    window = OFFICE.model_copy(update={"default_timezone": "America/Chicago"})
    assert (lead_zone(lead(timezone="Asia/Tokyo", country="DE"), window).name) == "Asia/Tokyo"
    by_country = lead_zone(lead(country="de"), window)
    assert (by_country.name, by_country.source) == ("Europe/Berlin", "country")
    unknown_zone = lead_zone(lead(timezone="Mars/Olympus", country="US"), window)
    assert (unknown_zone.name, unknown_zone.source) == ("America/New_York", "country")
    neither = lead_zone(lead(country="XX"), window)
    assert (neither.name, neither.source) == ("America/Chicago", "default")
    assert lead_zone(lead(), window).source == "default"


def test_the_country_table_picks_where_most_people_live() -> None:
    assert country_zone("US") == "America/New_York"
    assert country_zone("au") == "Australia/Sydney"
    assert country_zone("IN") == "Asia/Kolkata"
    assert country_zone("ZZ") is None


def test_people_read_the_moment_in_the_leads_zone() -> None:
    assert describe(utc(2026, 12, 8, 8, 0), BERLIN) == "Tue 09:00 Europe/Berlin"


@pytest.mark.parametrize(
    "fields, problem",
    [
        ({"start": "9:00"}, "24-hour time"),
        ({"end": "24:00"}, "24-hour time"),
        ({"end": "09:00"}, "never close"),
        ({"default_timezone": "Europe/Nowhere"}, "unknown time zone"),
        ({"days": ["monday"]}, "days"),
    ],
)
def test_a_bad_window_is_refused_naming_the_problem(fields: dict[str, Any], problem: str) -> None:
    given_fields = {"days": ["mon"], "start": "09:00", "end": "17:00", **fields}
    with pytest.raises(ValidationError, match=problem):
        SendWindow(**given_fields)


# --- property: the answer agrees with reading the window off a wall clock -------------------

ZONES = ["Europe/Berlin", "America/New_York", "Australia/Sydney", "Asia/Kolkata", "UTC"]
ZONES += ["Pacific/Auckland", "America/Sao_Paulo"]
# DST changes happen between 00:00 and 04:00 in these zones; the window's edges stay clear of
# them so that the wall-clock reading below has one answer (inside, edges are checked above).
clock_times = st.builds(
    lambda h, m: f"{h:02d}:{m:02d}", st.integers(5, 23), st.sampled_from([0, 15, 30, 45])
)
windows = st.builds(
    lambda days, times: SendWindow(days=sorted(days), start=times[0], end=times[1]),
    st.sets(st.sampled_from(WEEKDAYS), min_size=1),
    st.tuples(clock_times, clock_times).filter(lambda times: times[0] != times[1]),
)
moments = st.datetimes(
    min_value=datetime(2026, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(UTC)
)


def open_on_the_wall(at: datetime, zone: ZoneInfo, window: SendWindow) -> bool:
    local = at.astimezone(zone)
    start, end = time(*window.clock("start")), time(*window.clock("end"))
    today = WEEKDAYS[local.weekday()] in window.days
    yesterday = WEEKDAYS[(local.weekday() - 1) % 7] in window.days
    now = local.time()
    if start < end:
        return today and start <= now < end
    return (today and now >= start) or (yesterday and now < end)


@settings(max_examples=150, deadline=None)
@given(moments, st.sampled_from(ZONES), windows)
def test_the_next_opening_is_the_first_open_moment(
    now: datetime, zone_name: str, window: SendWindow
) -> None:
    zone = ZoneInfo(zone_name)
    opening = next_opening(now, zone, window)
    assert opening >= now
    assert open_on_the_wall(opening, zone, window)
    if opening > now:
        assert not open_on_the_wall(opening - timedelta(seconds=1), zone, window)
        step = now
        while step < opening:  # closed all the way from now to the opening
            assert not open_on_the_wall(step, zone, window), step
            step += timedelta(minutes=15)
