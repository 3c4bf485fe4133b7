"""A country's time zone, from IANA's own table (zone.tab, shipped in the `tzdata` package).

For most countries zone.tab lists the zone of the most populous region first (US: New_York,
DE: Berlin, ES: Madrid), the best single guess for "where is this lead" when only the country is
known; for the few it lists geographically, `_MOST_POPULOUS` names the zone instead.
A lead's own `timezone` attribute always wins over this guess."""

from __future__ import annotations

from functools import cache
from importlib.resources import files

# zone.tab orders some countries geographically rather than by population: the zone most of the
# country's people live in, for the countries where the first listed one is a small region.
_MOST_POPULOUS = {
    "AU": "Australia/Sydney",  # zone.tab: Lord_Howe first
    "BR": "America/Sao_Paulo",  # zone.tab: Noronha (Atlantic islands) first
    "CA": "America/Toronto",  # zone.tab: St_Johns (Newfoundland) first
    "RU": "Europe/Moscow",  # zone.tab: Kaliningrad first
}


@cache
def _zone_table() -> dict[str, str]:
    """Country code → the first zone zone.tab lists for it."""
    text = files("tzdata").joinpath("zoneinfo", "zone.tab").read_text(encoding="utf-8")
    first: dict[str, str] = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        code, _coordinates, zone, *_comment = line.split("\t")
        first.setdefault(code.upper(), zone)
    return first


def country_zone(country: str) -> str | None:
    """The IANA zone for an ISO 3166 alpha-2 country code (any case), or None if unknown."""
    code = country.strip().upper()
    return _MOST_POPULOUS.get(code) or _zone_table().get(code)
