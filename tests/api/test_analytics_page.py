"""The analytics dashboard (/analytics) in Chromium: every number on the page equals the figure
agent.analytics counts from the store (itself reconciled by raw SQL in tests/test_analytics.py),
each chart is an image that loads, and nothing breaks the CSP."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

from agent.analytics import DEFINITIONS, report
from agent.store.api_keys import create_key
from api.main import create_app
from api.web.dashboard import CHARTED, number
from tests.test_analytics import SINCE, seed, seed_mail_feedback
from tests.utils.agent_world import World
from tests.utils.browser import artifact, chromium, needs_chromium
from tests.utils.charts import drawn_bars, svg_of
from tests.utils.serve import serve

NEW_FIGURES = (
    "mail_by_rule",
    "mail_by_asset",
    "edit_distance_by_stage",
    "hours_to_decision_by_stage",
)


@dataclass(frozen=True)
class Site:
    url: str
    rep: str


@pytest.fixture
def site(world: World) -> Iterator[Site]:
    ctx = world.agent.ctx
    seed(ctx.db, ctx.playbook)
    seed_mail_feedback(ctx.db, ctx.playbook)
    rep = create_key(ctx.db, name="rory", role="rep", at=datetime.now(UTC))
    with serve(create_app(world.settings)) as url:
        yield Site(url, rep)


def expected_numbers(world: World, since: datetime) -> dict[str, dict[str, str]]:
    """Each figure's numbers as the page must print them, keyed like its data-key cells."""
    got = report(world.agent.ctx.db, since=since, now=datetime.now(UTC))
    numbers: dict[str, dict[str, str]] = {}
    for figure in got.each_figure():
        value: Any = figure.value
        if not isinstance(value, dict):
            numbers[figure.name] = {"": number(value)}
        elif any(isinstance(row, dict) for row in value.values()):
            columns = {column for row in value.values() for column in row}
            numbers[figure.name] = {  # a column a row lacks (no lead in that stage) shows 0
                f"{group}/{column}": number(row.get(column, 0))
                for group, row in value.items()
                for column in columns
            }
        else:
            numbers[figure.name] = {key: number(count) for key, count in value.items()}
    return numbers


def shown_numbers(page: Any) -> dict[str, dict[str, str]]:
    shown: dict[str, dict[str, str]] = {}
    for section in page.locator("section[data-figure]").all():
        cells = section.locator("[data-key]").all()
        shown[section.get_attribute("data-figure")] = {
            cell.get_attribute("data-key"): cell.inner_text().strip() for cell in cells
        }
    return shown


@needs_chromium
def test_the_dashboard_shows_the_numbers_of_the_store_with_charts(site: Site, world: World) -> None:
    with chromium() as browser:
        page = browser.new_context().new_page()
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto(f"{site.url}/analytics")
        page.fill("#key", site.rep)
        page.click("button[type=submit]")
        page.wait_for_url(f"{site.url}/analytics")
        page.click("nav.topnav a[href='/analytics']")
        page.fill("#since", SINCE.date().isoformat())
        page.click("#count")
        page.wait_for_load_state()
        since = datetime.combine(SINCE.date(), datetime.min.time(), tzinfo=UTC)
        shown = shown_numbers(page)
        expected = expected_numbers(world, since)
        page.screenshot(path=str(artifact("analytics-dashboard.png")), full_page=True)

        assert shown == expected
        assert int(shown["handoffs_accepted"][""]) >= 0 and int(shown["mqls"][""]) > 0
        assert sum(int(v) for k, v in shown["mail_by_stage"].items() if k.endswith("/replies"))
        got = report(world.agent.ctx.db, since=since, now=datetime.now(UTC))
        # the figures by rule, by asset and the drafts' edit distance, named cell by cell
        for name in NEW_FIGURES:
            table = getattr(got, name)
            assert table, name
            assert shown[name] == {
                f"{group}/{column}": number(value)
                for group, row in table.items()
                for column, value in row.items()
            }, name
            # its chart draws the table's numbers (the counts, or the distances and hours)
            src = page.locator(f"section[data-figure={name}] img.chart").get_attribute("src")
            drawn = {(b.label, b.series): b.value for b in drawn_bars(svg_of(src or ""))}
            charted = CHARTED.get(name)
            assert drawn == {
                (group, column): number(value)
                for group, row in table.items()
                for column, value in row.items()
                if charted is None or column in charted
            }, name
        assert shown["mail_by_asset"]["(no asset)/sends"] == number(
            got.mail_by_asset["(no asset)"]["sends"]
        )
        definitions = page.locator("section[data-figure] .definition").all_inner_texts()
        assert len(definitions) == len(expected) and all(definitions)
        charts = page.locator("img.chart")
        assert charts.count() >= 6
        for n in range(charts.count()):
            loaded = charts.nth(n).evaluate("img => img.complete && img.naturalWidth > 0")
            assert loaded, charts.nth(n).get_attribute("alt")
        assert not errors, errors

        bad = page.goto(f"{site.url}/analytics?since=yesterday")
        assert bad is not None and bad.status == 422
        assert "since" in page.inner_text("main")


def test_the_dashboard_is_for_reps_marketers_and_admins_only(world: World) -> None:
    """An ingest key (a tracking pipeline's) cannot sign in, so it never sees the figures."""
    from fastapi.testclient import TestClient

    ctx = world.agent.ctx
    keys = {
        role: create_key(ctx.db, name=role, role=role, at=datetime.now(UTC))
        for role in ("rep", "marketer", "admin", "ingest")
    }
    for role, key in keys.items():
        with TestClient(create_app(world.settings)) as client:
            signed_in = client.post(
                "/login", data={"key": key, "next": "/analytics"}, follow_redirects=False
            )
            page = client.get("/analytics", follow_redirects=False)
            if role == "ingest":
                assert signed_in.status_code == 401, role
                assert page.status_code == 303 and "/login" in page.headers["location"], role
            else:
                assert page.status_code == 200 and 'href="/analytics"' in page.text, role
                assert page.text.count('class="definition') == len(DEFINITIONS), role
