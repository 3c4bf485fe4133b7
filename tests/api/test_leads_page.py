"""The reps' leads page (/leads) in Chromium and its API twin (GET /v1/leads?q=&owner=): find a
lead by part of its name, email or company, filter by stage, action, hot and owner, highest
score first, page by page. Every answer is checked against the store read on its own."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from agent.demo.generator import generate
from agent.demo.history import replay_history
from agent.store.api_keys import create_key
from agent.store.ingest import ingest_events
from agent.store.leads import upsert_leads
from agent.store.schema import LeadDecisionRow, LeadRow
from api.main import create_app
from tests.utils.agent_world import World
from tests.utils.browser import artifact, chromium, needs_chromium
from tests.utils.serve import serve

OWNERS = ("ana@sales.example", "ben@sales.example", None)
LEADS = 130  # more than two pages of 50


@dataclass(frozen=True)
class StoredLead:
    id: str
    name: str
    email: str
    company: str
    owner: str | None
    stage: str
    action: str
    hot: bool
    total: float


@pytest.fixture
def stored(world: World) -> list[StoredLead]:
    """Demo leads, each with an owner (or none) and its decisions replayed; read back raw."""
    ctx = world.agent.ctx
    now = datetime.now(UTC)
    leads, events = generate(seed=11, now=now, count=LEADS)
    for n, lead in enumerate(leads):
        lead["owner"] = OWNERS[n % len(OWNERS)]
    upsert_leads(ctx.db, leads, ctx.playbook)
    ingest_events(ctx.db, events, ctx.playbook, now=now)
    replay_history(ctx.db, ctx.playbook, [lead["id"] for lead in leads], now)
    with ctx.db.session() as session:
        rows = session.execute(
            select(LeadRow, LeadDecisionRow).join(
                LeadDecisionRow, LeadDecisionRow.lead_id == LeadRow.id
            )
        ).all()
    return [
        StoredLead(
            lead.id,
            lead.name or "",
            lead.email,
            lead.company or "",
            lead.owner,
            decision.stage,
            decision.action,
            decision.hot,
            decision.total,
        )
        for lead, decision in rows
    ]


def matching(stored: list[StoredLead], text: str) -> set[str]:
    text = text.lower()
    return {
        s.id
        for s in stored
        if text in s.name.lower() or text in s.email.lower() or text in s.company.lower()
    }


def a_shared_company(stored: list[StoredLead]) -> str:
    """A company at least two leads work for, as a lower-case fragment a rep might type."""
    companies = [s.company for s in stored]
    shared = sorted({c for c in companies if companies.count(c) >= 2})
    assert shared, "the demo has companies with several leads"
    return shared[0].split()[0].lower()


@dataclass
class Site:
    url: str
    rep: str


@pytest.fixture
def site(world: World, stored: list[StoredLead]) -> Iterator[Site]:
    rep = create_key(world.agent.ctx.db, name="rory", role="rep", at=datetime.now(UTC))
    with serve(create_app(world.settings)) as url:
        yield Site(url, rep)


def listed(page: Any) -> list[tuple[str, float]]:
    """(lead id, score) of every row, following the Next links to the last page."""
    rows: list[tuple[str, float]] = []
    while True:
        for row in page.locator("tr[data-lead-id]").all():
            rows.append((row.get_attribute("data-lead-id"), float(row.get_attribute("data-score"))))
        following = page.locator("a[rel=next]")
        if following.count() == 0:
            return rows
        following.click()
        page.wait_for_load_state()


@needs_chromium
def test_a_search_by_company_and_a_filter_by_stage_list_exactly_the_matching_leads(
    site: Site, stored: list[StoredLead]
) -> None:
    fragment = a_shared_company(stored)
    with chromium() as browser:
        context = browser.new_context()
        page = context.new_page()
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto(f"{site.url}/leads")
        page.fill("#key", site.rep)
        page.click("button[type=submit]")
        page.wait_for_url(f"{site.url}/leads")

        everyone = listed(page)
        assert {lead_id for lead_id, _ in everyone} == {s.id for s in stored}
        assert len(everyone) == len(stored), "no lead twice across pages"
        scores = [score for _, score in everyone]
        assert scores == sorted(scores, reverse=True), "highest score first"

        page.goto(f"{site.url}/leads")
        page.fill("#q", fragment)
        page.click("#find")
        page.wait_for_load_state()
        found = {lead_id for lead_id, _ in listed(page)}
        assert found == matching(stored, fragment) and found

        page.goto(f"{site.url}/leads")
        page.select_option("#stage", "consideration")
        page.click("#find")
        page.wait_for_load_state()
        found = {lead_id for lead_id, _ in listed(page)}
        assert found == {s.id for s in stored if s.stage == "consideration"} and found

        page.goto(f"{site.url}/leads")
        page.select_option("#owner", OWNERS[0])
        page.select_option("#hot", "false")
        page.click("#find")
        page.wait_for_load_state()
        found = {lead_id for lead_id, _ in listed(page)}
        expected = {s.id for s in stored if s.owner == OWNERS[0] and not s.hot}
        assert found == expected and found

        page.screenshot(path=str(artifact("leads-1280.png")), full_page=True)
        first = page.locator("tr[data-lead-id] a").first
        lead_id = page.locator("tr[data-lead-id]").first.get_attribute("data-lead-id")
        first.click()
        page.wait_for_load_state()
        assert page.url.endswith(f"/leads/{lead_id}")
        assert "Decision history" in page.inner_text("main")
        owner = next(s.owner for s in stored if s.id == lead_id)
        assert f"Owner\n{owner}" in page.inner_text(".profile")
        page.screenshot(path=str(artifact("lead-history-1280.png")), full_page=True)
        context.close()
    assert errors == []


def test_the_api_finds_leads_by_text_and_owner(world: World, stored: list[StoredLead]) -> None:
    rep = create_key(world.agent.ctx.db, name="rory", role="rep", at=datetime.now(UTC))
    fragment = a_shared_company(stored).upper()  # any letter case
    with TestClient(create_app(world.settings)) as client:
        headers = {"Authorization": f"Bearer {rep}"}
        found = client.get("/v1/leads", params={"q": fragment, "limit": 1000}, headers=headers)
        assert found.status_code == 200, found.text
        assert {lead["id"] for lead in found.json()["leads"]} == matching(stored, fragment)

        owned = client.get(
            "/v1/leads",
            params={"owner": OWNERS[1], "stage": "interest", "limit": 1000},
            headers=headers,
        ).json()["leads"]
        expected = {s.id for s in stored if s.owner == OWNERS[1] and s.stage == "interest"}
        assert {lead["id"] for lead in owned} == expected
        assert {lead["owner"] for lead in owned} <= {OWNERS[1]}

        too_long = client.get("/v1/leads", params={"q": "x" * 201}, headers=headers)
        assert too_long.status_code == 422 and "q" in too_long.text
        for field in ("q", "owner"):  # text no store can compare with: named, not a 500
            nul = client.get("/v1/leads", params={field: "a\x00b"}, headers=headers)
            assert nul.status_code == 422 and field in nul.text and "NUL" in nul.text
