"""A grouped bar chart as inline SVG, drawn here rather than in the browser: the report must open
from a file with no scripts or network, and a chart that is plain markup also survives being
mailed, archived or viewed with JavaScript off."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape

# Colour-blind-safe (Okabe–Ito), one per series.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00")

BAR = 11
GAP = 14
TOP = 40
PLOT_HEIGHT = 220
LEFT = 44
LABEL_SPACE = 110


def grouped_bars(
    groups: Sequence[str],
    series: Mapping[str, Mapping[str, float | None]],
    *,
    title: str,
) -> str:
    """One group of bars per entry of `groups`, one bar per series, values 0–1 drawn as 0–100 %.

    `series` maps a series name (a stage) to {group: value}; a None or missing value draws no
    bar, because 'not measured' is not 0 %."""
    names = list(series)
    group_width = len(names) * BAR + GAP
    # room on the right for the last label, which runs down and to the right at 45°
    width = LEFT + len(groups) * group_width + 100
    height = TOP + PLOT_HEIGHT + LABEL_SPACE
    base = TOP + PLOT_HEIGHT
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}">',
        f"<title>{escape(title)}</title>",
    ]
    for tick in (0, 25, 50, 75, 100):
        y = base - PLOT_HEIGHT * tick / 100
        parts.append(
            f'<line x1="{LEFT}" x2="{width - 90}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>'
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" class="tick">{tick}%</text>'
        )
    for n, name in enumerate(names):
        x: float = LEFT + n * 130  # the bars' x below is fractional
        parts.append(
            f'<rect x="{x}" y="10" width="12" height="12" fill="{PALETTE[n % len(PALETTE)]}" '
            f'class="swatch"/><text x="{x + 17}" y="20" class="legend">{escape(name)}</text>'
        )
    for g, group in enumerate(groups):
        x0 = LEFT + g * group_width + GAP / 2
        for n, name in enumerate(names):
            value = series[name].get(group)
            if value is None:
                continue
            h = PLOT_HEIGHT * max(0.0, min(1.0, value))
            x = x0 + n * BAR
            parts.append(
                f'<rect class="bar" x="{x:.1f}" y="{base - h:.1f}" width="{BAR - 1}" '
                f'height="{h:.1f}" fill="{PALETTE[n % len(PALETTE)]}" '
                f'data-group="{escape(group)}" data-series="{escape(name)}">'
                f"<title>{escape(group)} · {escape(name)}: {value:.0%}</title></rect>"
            )
        cx = x0 + len(names) * BAR / 2
        parts.append(
            f'<text transform="translate({cx:.1f},{base + 10}) rotate(45)" '
            f'class="label">{escape(group)}</text>'
        )
    parts.append(f'<line x1="{LEFT}" x2="{width - 90}" y1="{base}" y2="{base}" class="axis"/>')
    parts.append("</svg>")
    return "".join(parts)
