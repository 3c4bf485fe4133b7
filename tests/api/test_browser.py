"""The inbox in a real browser: Debian's Chromium driven by Playwright against the app served by
uvicorn on 127.0.0.1. Signs in, answers drafts with the keyboard shortcuts, and saves
screenshots at desktop and phone widths to tests/artifacts/ for a person to look at.

Skipped when the playwright package or /usr/bin/chromium is missing (Playwright's own browser
download is not used: `apt-get install chromium` provides the browser)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

from agent.store.api_keys import create_key
from agent.store.approvals import get_approval, pending
from api.main import create_app
from api.routes.pages import path_part
from tests.utils.agent_world import DANA, SeedEvent, World, drafted
from tests.utils.browser import artifact, chromium, needs_chromium
from tests.utils.other_origin import auto_submitting_form, other_origin
from tests.utils.serve import serve

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}

pytestmark = needs_chromium

PRIYA = {
    "id": "L2",
    "email": "priya@kestrel.example",
    "name": "Priya Natarajan",
    "company": "Kestrel Foods",
    "attributes": {"industry": "manufacturing", "employees": 1200, "title": "Head of Operations"},
}
PRIYA_EVENTS: list[SeedEvent] = [
    ("page_view", 40, {"path": "/blog/cold-chain", "topic": "cold chain"}),
    ("page_view", 12, {"path": "/blog/fleet", "topic": "fleet tracking"}),
    ("form_submit", 9, {"form": "contact", "message": "<script>alert(1)</script> call me?"}),
    ("page_view", 6, {"path": "/customers/acme", "topic": "fleet tracking", "completion": 0.9}),
]


@dataclass
class Site:
    url: str
    world: World
    approval_id: str
    marketer: str
    rep: str


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as launched:
        yield launched


@pytest.fixture
def site(world: World) -> Iterator[Site]:
    approval_id = drafted(world)
    marketer = create_key(world.agent.ctx.db, name="mara", role="marketer", at=datetime.now(UTC))
    rep = create_key(world.agent.ctx.db, name="rory", role="rep", at=datetime.now(UTC))
    with serve(create_app(world.settings)) as url:
        yield Site(url, world, approval_id, marketer, rep)


@contextmanager
def signed_in(
    browser: Any,
    site: Site,
    viewport: dict[str, int] = DESKTOP,
    key: str | None = None,
    expected_error: str | None = None,
) -> Iterator[Any]:
    """A fresh browser context, signed in through the login form; fails on any console error
    (a Content-Security-Policy violation shows up there) but the one a test expects."""
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        page.goto(f"{site.url}/inbox")
        assert "/login" in page.url
        page.fill("#key", key or site.marketer)
        page.click("button[type=submit]")
        page.wait_for_url(f"{site.url}/inbox")
        yield page
        assert [e for e in errors if not expected_error or expected_error not in e] == []
    finally:
        context.close()


def test_edit_and_approve_with_the_keyboard(browser: Any, site: Site) -> None:
    row = get_approval(site.world.agent.ctx.db, site.approval_id)
    with signed_in(browser, site) as page:
        page.keyboard.press("j")
        page.keyboard.press("o")
        page.wait_for_url(f"**/inbox/{site.approval_id}")
        body = (
            "Hi Dana,\n\nEdited in the browser: the Northwind Freight story is worth "
            f"five minutes.\n{row.body.splitlines()[-1]}"
        )
        page.keyboard.press("e")
        assert page.evaluate("document.activeElement.id") == "body"
        page.fill("#body", body)
        assert page.inner_text("#approve-button") == "Approve edited version & send"
        page.press("#body", "Control+Enter")
        page.wait_for_url("**/inbox?done=*")
        assert "Sent to Dana Reyes" in page.inner_text(".flash")
    [message] = site.world.delivered()
    assert "Edited in the browser" in message.get_body(("plain",)).get_content()
    assert get_approval(site.world.agent.ctx.db, site.approval_id).status == "edited"


def test_a_rep_can_read_a_draft_but_not_approve_it(browser: Any, site: Site) -> None:
    with signed_in(browser, site, key=site.rep) as page:
        page.goto(f"{site.url}/inbox/{site.approval_id}")
        assert "rory" in page.inner_text("header")
        assert page.locator("#approve-button").count() == 0
        # the form a marketer would post, sent with the rep's own signed-in cookie and token
        token = page.get_attribute("input[name=csrf_token]", "value")
        response = page.request.post(
            f"{site.url}/inbox/{site.approval_id}/approve",
            form={
                "approval_id": site.approval_id,
                "subject": "Hi",
                "body": "Send it",
                "csrf_token": token or "",
            },
        )
        assert response.status == 403 and "Not allowed" in response.text()
    assert get_approval(site.world.agent.ctx.db, site.approval_id).status == "pending"
    assert site.world.delivered() == []


def test_a_form_posted_from_another_port_on_this_host_is_refused(browser: Any, site: Site) -> None:
    """The attack as it was run: a page on 127.0.0.1:<other port> (same site, other origin, so
    the SameSite=Strict cookie goes along) auto-submits the approve form of a waiting draft."""
    row = get_approval(site.world.agent.ctx.db, site.approval_id)
    forged = auto_submitting_form(
        f"{site.url}/inbox/{path_part(site.approval_id)}/approve",
        {"approval_id": site.approval_id, "subject": row.subject, "body": row.body},
    )
    refused = "the server responded with a status of 403"
    with signed_in(browser, site, expected_error=refused) as page, other_origin(forged) as hostile:
        assert hostile.split(":")[-1] != site.url.split(":")[-1]
        with page.expect_response(lambda r: r.url.endswith("/approve")) as posted:
            page.goto(hostile)
        assert posted.value.status == 403
        page.wait_for_load_state()
        assert "another site" in page.inner_text("main")
        assert "Nothing was changed" in page.inner_text("main")
    assert get_approval(site.world.agent.ctx.db, site.approval_id).status == "pending"
    assert site.world.delivered() == []


def test_request_changes_then_discard(browser: Any, site: Site) -> None:
    with signed_in(browser, site) as page:
        page.goto(f"{site.url}/inbox/{site.approval_id}")
        page.keyboard.press("r")
        page.keyboard.type("Shorter, and lead with the case study.")
        page.keyboard.press("Control+Enter")
        thread = get_approval(site.world.agent.ctx.db, site.approval_id).thread_id
        page.wait_for_url(f"**/inbox/{thread}.*?done=*")
        assert "A new draft for Dana Reyes is waiting" in page.inner_text(".flash")
        [new] = pending(site.world.agent.ctx.db)
        assert new.id != site.approval_id and new.id in page.url

        page.once("dialog", lambda dialog: dialog.accept())
        page.keyboard.press("d")
        page.wait_for_url("**/inbox?done=*")
        assert "Discarded the draft for Dana Reyes" in page.inner_text(".flash")
    assert pending(site.world.agent.ctx.db) == []
    assert site.world.delivered() == []


def test_screenshots_at_desktop_and_phone_widths(browser: Any, site: Site) -> None:
    """More drafts for a realistic inbox (one flagged by the guardrails), then pictures."""
    world = site.world
    priya = drafted(world, PRIYA, PRIYA_EVENTS)
    flagged = get_approval(world.agent.ctx.db, priya)
    world.agent.answer(
        priya,
        "edit",
        by="mara",
        subject="A deal for Kestrel",
        body=f"Hi Priya, our pricing is 50% off this week.\n{flagged.body.splitlines()[-1]}",
    )
    pages = {
        "inbox": "/inbox",
        "draft": f"/inbox/{site.approval_id}",
        "lead": f"/leads/{DANA['id']}",
        "lead-priya": f"/leads/{PRIYA['id']}",
    }
    for width_name, viewport in (("1280", DESKTOP), ("390", PHONE)):
        with signed_in(browser, site, viewport) as page:
            for name, path in pages.items():
                page.goto(f"{site.url}{path}")
                page.screenshot(path=str(artifact(f"{name}-{width_name}.png")), full_page=True)
                overflow = page.evaluate(
                    "document.documentElement.scrollWidth - document.documentElement.clientWidth"
                )
                assert overflow <= 0, f"{path} scrolls sideways at {width_name}px"
            page.goto(f"{site.url}/inbox")
            assert page.locator(".draft-row.flagged").count() == 1
            page.keyboard.press("?")
            assert page.locator("#shortcuts").is_visible()


def test_a_flagged_draft_is_sent_only_with_the_confirm_box_ticked(browser: Any, site: Site) -> None:
    from tests.test_guardrail_override import FAILED_CHECKS, flagged

    approval_id = flagged(site.world, site.approval_id)
    with signed_in(browser, site) as page:
        page.goto(f"{site.url}/inbox/{approval_id}")
        confirm = page.locator("#override-guardrails")
        label = page.inner_text("label.override")
        assert all(check in label for check in FAILED_CHECKS)
        page.keyboard.press("a")  # the approve shortcut: the unticked box stops the form
        page.wait_for_timeout(300)
        assert page.url == f"{site.url}/inbox/{approval_id}"
        assert page.evaluate("document.querySelector('#approve-form').checkValidity()") is False
        assert get_approval(site.world.agent.ctx.db, approval_id).status == "pending"
        # an edit is checked by the guardrails again: it needs no confirmation
        original = page.input_value("#body")
        page.fill("#body", original + "\nEdited.")
        assert page.evaluate("document.querySelector('#approve-form').checkValidity()") is True
        page.fill("#body", original)
        confirm.check()
        page.click("#approve-button")
        page.wait_for_url("**/inbox?done=*")
        assert "Sent to Dana Reyes" in page.inner_text(".flash")
    row = get_approval(site.world.agent.ctx.db, approval_id)
    assert (row.status, row.guardrails_overridden_by) == ("accepted", "mara")
    assert len(site.world.delivered()) == 1
