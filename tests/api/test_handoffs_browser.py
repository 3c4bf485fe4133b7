"""The inbox's Hand-offs tab in a real browser (Debian's Chromium through Playwright, the app
served by uvicorn on 127.0.0.1): it lists exactly the hand-offs the store holds, with who, why,
score, waiting since, rep, state and the SLA flag; a rep accepts one of theirs and recycles
another with a reason, and the store shows both, audited with the rep's name."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import update

from agent.store.api_keys import create_key
from agent.store.handoffs import get_handoff, list_handoffs
from agent.store.schema import HandoffRow
from api.main import create_app
from tests.utils.agent_world import World
from tests.utils.browser import artifact, chromium, needs_chromium
from tests.utils.handoffs import hand_off, lead, make_rep
from tests.utils.serve import serve

pytestmark = needs_chromium


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as launched:
        yield launched


def test_a_rep_works_the_handoffs_tab(browser: Any, world: World) -> None:
    db = world.agent.ctx.db
    riley = make_rep(db, "riley", "riley@routewise.example")
    sam = make_rep(db, "sam", "sam@routewise.example")
    mine = hand_off(world, lead(1, owner=riley.email, name="Ada Lovelace"))
    theirs = hand_off(world, lead(2, owner=sam.email))
    later = hand_off(world, lead(3, owner=riley.email))
    with db.session() as session:  # the first has waited past the 24 h SLA
        session.execute(
            update(HandoffRow)
            .where(HandoffRow.id == mine.id)
            .values(created_at=datetime.now(UTC) - timedelta(hours=30))
        )
    create_key(db, name="mara", role="marketer", at=datetime.now(UTC))
    with serve(create_app(world.settings)) as url:
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        try:
            page.goto(f"{url}/inbox")
            page.fill("#key", riley.key)
            page.click("button[type=submit]")
            page.wait_for_url(f"{url}/inbox")
            page.click("text=Hand-offs")
            page.wait_for_url(f"{url}/inbox/handoffs")
            shown = page.eval_on_selector_all(
                "tr[data-handoff-id]", "rows => rows.map(r => r.dataset.handoffId)"
            )
            assert shown == [h.row.id for h in list_handoffs(db)]
            assert sorted(shown) == sorted([mine.id, theirs.id, later.id])
            row = page.locator(f"tr[data-handoff-id='{mine.id}']")
            text = row.inner_text()
            for expected in ("Ada Lovelace", "handoff.demo_request", "riley@routewise.example"):
                assert expected in text
            assert "Overdue" in row.locator("td.sla").inner_text()
            assert "ago" in row.locator("td.since").inner_text()
            assert row.locator("td.score").inner_text().strip() != ""
            assert (
                "Overdue"
                not in page.locator(f"tr[data-handoff-id='{later.id}'] td.sla").inner_text()
            )
            # another rep's hand-off offers this rep nothing to press
            assert page.locator(f"tr[data-handoff-id='{theirs.id}'] button").count() == 0
            page.screenshot(path=artifact("handoffs-tab.png"), full_page=True)

            row.locator("button[data-move=accept]").click()
            page.wait_for_url("**/inbox/handoffs?done=*")
            assert "accepted" in page.inner_text(".flash")
            assert get_handoff(db, mine.id).state == "accepted"  # type: ignore[union-attr]

            other = page.locator(f"tr[data-handoff-id='{later.id}']")
            other.locator("input[name=reason]").fill("Already a customer of a partner")
            other.locator("button[data-move=recycle]").click()
            page.wait_for_url("**/inbox/handoffs?done=*")
            recycled = get_handoff(db, later.id)
            assert recycled is not None and recycled.state == "recycled"
            assert errors == []
        finally:
            context.close()
    [audited] = [h for h in list_handoffs(db) if h.row.id == later.id]
    last = audited.changes[-1]
    assert (last.by, last.to_state, last.reason) == (
        "riley",
        "recycled",
        "Already a customer of a partner",
    )
    assert get_handoff(db, theirs.id).state == "delivered"  # type: ignore[union-attr]
