"""The account page in Chromium: reached from a lead page, it lists the account's contacts with
their roles and scores, and the account's score, as the store holds them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from agent.store.handoffs import get_handoff
from agent.store.schema import LeadRow, LeadScoreRow
from agent.store.scores import rescore_all
from tests.api.test_browser import Site, browser, signed_in, site  # noqa: F401 - fixtures
from tests.utils.agent_world import DANA, SeedEvent
from tests.utils.browser import needs_chromium

pytestmark = needs_chromium

COLLEAGUES: list[tuple[dict[str, Any], list[SeedEvent]]] = [
    (
        {
            "id": "L-ceo",
            "email": "ceo@northwind.example",
            "name": "Cal Okafor",
            "attributes": {"title": "Chief Operating Officer", "industry": "logistics"},
        },
        [("demo_request", 1, {}), ("pricing_page_view", 2, {"path": "/pricing"})],
    ),
    (
        {
            "id": "L-ops",
            "email": "ops@northwind.example",
            "name": "Oli Park",
            "attributes": {"title": "Dispatcher"},
        },
        [("blog_view", 30, {"url": "/blog/y"})],
    ),
    ({"id": "L-free", "email": "someone@gmail.com", "name": "Not Northwind"}, []),
]


def test_the_account_page_shows_the_contacts_and_score_as_stored(
    browser: Any,  # noqa: F811
    site: Site,  # noqa: F811
) -> None:
    db = site.world.agent.ctx.db
    for lead, events in COLLEAGUES:
        site.world.seed(lead, events)
    rescore_all(db, site.world.agent.ctx.playbook)
    with db.session() as session:
        stored = dict(
            session.execute(
                select(LeadRow.id, LeadScoreRow.total)
                .join(LeadScoreRow, LeadScoreRow.lead_id == LeadRow.id)
                .where(LeadRow.account == "northwind.example")
            ).all()
        )
    assert set(stored) == {DANA["id"], "L-ceo", "L-ops"}
    with signed_in(browser, site) as page:
        page.goto(f"{site.url}/leads/{DANA['id']}")
        page.click("a.account-link")
        page.wait_for_url(f"{site.url}/accounts/northwind.example")
        rows = page.locator("tr.contact")
        shown = {
            rows.nth(i).get_attribute("data-lead-id"): (
                rows.nth(i).locator("td.score").inner_text(),
                rows.nth(i).locator("td.role").inner_text(),
            )
            for i in range(rows.count())
        }
        account_score = page.inner_text(".account-score")
        listed = rows.nth(0).get_attribute("data-lead-id")
    assert {lead_id: score for lead_id, (score, _) in shown.items()} == {
        lead_id: f"{total:.1f}" for lead_id, total in stored.items()
    }
    assert account_score == f"{max(stored.values()):.1f}"  # the playbook's default: max
    assert listed == max(stored, key=lambda lead_id: stored[lead_id])  # best-scored first
    roles = {lead_id: role for lead_id, (_, role) in shown.items()}
    assert roles == {DANA["id"]: "influencer", "L-ceo": "decision maker", "L-ops": "user"}


COMMITTEE: list[tuple[dict[str, Any], list[SeedEvent]]] = [
    (
        {
            "id": f"L-rail-{n}",
            "email": f"{name.lower()}@contoso-rail.example",
            "name": f"{name} Ito",
            "attributes": {"title": title},
        },
        [("case_study_view", days, {"url": f"/customers/{n}"})],
    )
    for n, (name, title, days) in enumerate(
        [("Ana", "Head of Fleet", 1), ("Bo", "Planner", 4), ("Cy", "Dispatcher", 9)]
    )
]


def test_the_account_page_shows_its_handoff_state_as_stored(
    browser: Any,  # noqa: F811
    site: Site,  # noqa: F811
) -> None:
    """None until the account meets accounts.handoff and a run hands it over; then the state
    the store holds for that hand-off."""
    for lead, events in COMMITTEE:
        site.world.seed(lead, events)
    with signed_in(browser, site) as page:
        page.goto(f"{site.url}/accounts/contoso-rail.example")
        before = page.inner_text(".account-handoff-state")
    result = site.world.agent.start("L-rail-0")  # the most recent reader: the best, unscored
    assert result.outcome == "handed_off", result
    row = get_handoff(site.world.agent.ctx.db, f"handoff-{result.thread_id}")
    assert row is not None and row.rule == "accounts.handoff"
    with signed_in(browser, site) as page:
        page.goto(f"{site.url}/accounts/contoso-rail.example")
        after = page.inner_text(".account-handoff-state")
        shown_id = page.get_attribute(".account-handoff-state", "data-handoff-id")
    assert before == "none"
    assert (after, shown_id) == (row.state, row.id)
