"""Numbers with what they count: "2.4 quintillion", "24 weeks", "18%", "$50k". A draft's number
is only grounded by the same number with the same unit and scale; a bare 2.4 in the source does
not ground "2.4 million", and "24 weeks" does not ground "24 months"."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

_UNITS = {
    "%": "%",
    "percent": "%",
    "per cent": "%",
    "pct": "%",
    "k": "thousand",
    "thousand": "thousand",
    "m": "million",
    "mn": "million",
    "million": "million",
    "bn": "billion",
    "billion": "billion",
    "trillion": "trillion",
    "quadrillion": "quadrillion",
    "quintillion": "quintillion",
    "x": "times",
    "times": "times",
}
_TIME = ("minute", "hour", "day", "week", "month", "year")
_WORD_UNITS = "|".join(
    sorted((u for u in _UNITS if u != "%"), key=len, reverse=True) + [f"{t}s?" for t in _TIME]
)
_QUANTITY = re.compile(
    rf"(?P<currency>[$€£])?(?P<number>\d+(?:[.,]\d+)*)"
    rf"(?:\s?(?P<percent>%)|[\s-]?(?P<unit>{_WORD_UNITS})\b)?",
    re.IGNORECASE,
)
_SPELLED = re.compile(
    r"\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|"
    r"thirty|forty|fifty|sixty|seventy|eighty|ninety|a hundred|hundred)"
    r"[\s-](?:percent|per cent|thousand|million|billion|times)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class Quantity:
    text: str
    currency: str
    number: str
    unit: str
    """'' for a bare number."""

    def grounded_by(self, other: Quantity) -> bool:
        return (
            self.number == other.number
            and (not self.unit or self.unit == other.unit)
            and (not self.currency or self.currency == other.currency)
        )


def quantities(text: str) -> list[Quantity]:
    found = []
    for match in _QUANTITY.finditer(text):
        unit = match.group("percent") or match.group("unit") or ""
        unit = unit.lower()
        found.append(
            Quantity(
                text=" ".join(match.group(0).split()),
                currency=match.group("currency") or "",
                number=match.group("number").replace(",", ""),
                unit=_UNITS.get(unit, unit.rstrip("s")),
            )
        )
    return found


def ungrounded(text: str, sources: Iterable[str]) -> list[str]:
    """The quantities in `text` (numerals, and spelled-out amounts such as "twenty percent")
    that no source states with the same number, unit and currency."""
    sources = list(sources)
    known = [q for source in sources for q in quantities(source)]
    stray = {q.text for q in quantities(text) if not any(q.grounded_by(k) for k in known)}
    joined = " ".join(sources).casefold()
    stray |= {m.group(0) for m in _SPELLED.finditer(text) if m.group(0).casefold() not in joined}
    return sorted(stray)
