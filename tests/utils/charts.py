"""What a pygal chart drew, read back from its SVG: the tests check a chart's meaning (which
series, label and value each bar shows), not only that an <svg> exists."""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from xml.etree import ElementTree

SVG = "{http://www.w3.org/2000/svg}"
DATA_URI = "data:image/svg+xml;base64,"


@dataclass(frozen=True, slots=True)
class Bar:
    series: str
    label: str
    value: str
    """The value as the chart prints it (its tooltip text)."""
    height: float


def svg_of(data_uri: str) -> str:
    assert data_uri.startswith(DATA_URI), data_uri[:40]
    return base64.b64decode(data_uri.removeprefix(DATA_URI)).decode()


def first_svg(html: str) -> str:
    found = re.search(r"<svg\b.*?</svg>", html, re.DOTALL)
    assert found, "no inline SVG"
    return found.group(0)


def drawn_bars(svg: str) -> list[Bar]:
    """Every bar of the chart, in drawing order (series by series)."""
    root = ElementTree.fromstring(svg)
    names = {
        legend.get("id", "").removeprefix("activate-"): (legend.findtext(f"{SVG}text") or "")
        for legend in root.iter(f"{SVG}g")
        if legend.get("id", "").startswith("activate-serie-")
    }
    bars = []
    for series in root.iter(f"{SVG}g"):
        classes = (series.get("class") or "").split()
        if "series" not in classes:
            continue
        name = names.get(next(c for c in classes if c.startswith("serie-")), "")
        for bar in series.iter(f"{SVG}g"):
            if bar.get("class") != "bar":
                continue
            rect = bar.find(f"{SVG}rect")
            assert rect is not None
            descs = {d.get("class"): d.text or "" for d in bar.iter(f"{SVG}desc")}
            bars.append(Bar(name, descs["x_label"], descs["value"], float(rect.get("height", 0))))
    return bars
