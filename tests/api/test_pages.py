"""The inbox pages end to end: sign in with a key, read the drafts waiting with their why, and
approve / request changes / discard through the HTML forms, against a real SMTP server."""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from agent.store.api_keys import create_key
from agent.store.approvals import get_approval, pending
from api.main import create_app
from api.web.render import safe_next
from tests.utils.agent_world import DANA, World, drafted

FORM_MESSAGE = "<script>alert('owned')</script> Please call me about <b>routing</b>"


@dataclass
class Site:
    """The running app with a draft waiting, and a key for each role."""

    client: TestClient
    world: World
    approval_id: str
    marketer: str
    rep: str
    csrf_token: str = ""

    def login(self, key: str) -> None:
        response = self.client.post("/login", data={"key": key}, follow_redirects=False)
        assert response.status_code == 303, response.text
        # the session's CSRF token, as every signed-in page's forms carry it
        match = re.search(r'name="csrf_token" value="([^"]+)"', self.client.get("/inbox").text)
        assert match, "the signed-in page has no CSRF token"
        self.csrf_token = match.group(1)

    def post(self, action: str, **form: str) -> Any:  # TestClient's response: httpx2's or httpx's
        form.setdefault("approval_id", self.approval_id)
        form.setdefault("csrf_token", self.csrf_token)
        return self.client.post(
            f"/inbox/{self.approval_id}/{action}", data=form, follow_redirects=False
        )


@pytest.fixture
def site(world: World) -> Iterator[Site]:
    # Seed first: the app builds its own agent on the same settings (database + checkpoints).
    approval_id = drafted(world)
    now = datetime.now(UTC)
    marketer = create_key(world.agent.ctx.db, name="mara", role="marketer", at=now)
    rep = create_key(world.agent.ctx.db, name="rory", role="rep", at=now)
    with TestClient(create_app(world.settings)) as client:
        yield Site(client, world, approval_id, marketer, rep)


def test_pages_without_a_key_go_to_login(site: Site) -> None:
    response = site.client.get("/inbox?stage=interest", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/inbox%3Fstage%3Dinterest"
    login = site.client.get("/login")
    assert login.status_code == 200 and 'name="key"' in login.text
    posted = site.post("discard")
    assert posted.status_code == 303 and posted.headers["location"].startswith("/login")
    assert get_approval(site.world.agent.ctx.db, site.approval_id).status == "pending"


def test_login_sets_an_httponly_strict_cookie(site: Site) -> None:
    bad = site.client.post("/login", data={"key": "nk_nope_nope"}, follow_redirects=False)
    assert bad.status_code == 401 and "not valid" in bad.text
    response = site.client.post("/login", data={"key": site.marketer}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/inbox"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("nurture_key=")
    assert "HttpOnly" in cookie and "samesite=strict" in cookie.lower()
    assert site.client.get("/inbox").status_code == 200
    token = re.search(r'name="csrf_token" value="([^"]+)"', site.client.get("/inbox").text)
    assert token
    site.client.post("/logout", data={"csrf_token": token.group(1)}, follow_redirects=False)
    assert site.client.get("/inbox", follow_redirects=False).status_code == 303


def test_login_only_redirects_within_the_site() -> None:
    assert safe_next("/inbox/x?y=1") == "/inbox/x?y=1"
    for hostile in ("//evil.example", "https://evil.example", "/\\evil.example", "", None):
        assert safe_next(hostile) == "/inbox"


def test_the_inbox_lists_the_draft_with_its_why_and_drafter(site: Site) -> None:
    site.login(site.marketer)
    row = get_approval(site.world.agent.ctx.db, site.approval_id)
    page = site.client.get("/inbox").text
    assert "Dana Reyes" in page and "Northwind Freight" in page
    assert "scenario.whitepaper_case_study" in page
    assert "Drafted by offline template drafter" in page
    asset = site.world.agent.ctx.assets[row.cited_asset_ids[0]]
    assert asset.meta.title in page
    assert "Guardrails passed" in page and f'href="/inbox/{site.approval_id}"' in page
    assert row.decision["stage"] == "interest"
    assert "Dana Reyes" in site.client.get("/inbox?stage=interest").text
    assert "Dana Reyes" not in site.client.get("/inbox?stage=decision").text


def test_the_draft_page_explains_itself_and_offers_the_answers(site: Site) -> None:
    site.login(site.marketer)
    page = site.client.get(f"/inbox/{site.approval_id}").text
    assert "<strong>Why now:</strong> <code>scenario.whitepaper_case_study</code>" in page
    assert "<strong>Guardrails:</strong> passed" in page
    for action in ("approve", "respond", "discard"):
        assert f'action="/inbox/{site.approval_id}/{action}"' in page
    assert f'name="approval_id" value="{site.approval_id}"' in page
    assert 'id="body" name="body"' in page and 'name="feedback"' in page


def test_approving_an_edited_body_sends_the_edited_text(site: Site) -> None:
    site.login(site.marketer)
    row = get_approval(site.world.agent.ctx.db, site.approval_id)
    unsubscribe = row.body.splitlines()[-1]
    # a browser submits textarea line breaks as CRLF
    body = f"Hi Dana,\r\n\r\nThe Northwind Freight story is worth five minutes.\r\n{unsubscribe}"
    response = site.post("approve", subject=row.subject, body=body)
    assert response.status_code == 303
    assert response.headers["location"] == f"/inbox?done={_quoted(site.approval_id)}"
    [message] = site.world.delivered()
    text = message.get_body(("plain",)).get_content()
    assert "The Northwind Freight story is worth five minutes." in text
    decided = get_approval(site.world.agent.ctx.db, site.approval_id)
    assert (decided.status, decided.decided_by) == ("edited", "mara")
    assert decided.final_body == body.replace("\r\n", "\n")  # stored as the drafts are: LF
    flash = site.client.get(response.headers["location"]).text
    assert "Sent to Dana Reyes" in flash and "your edited version" in flash


def test_approving_unchanged_is_an_accept(site: Site) -> None:
    site.login(site.marketer)
    row = get_approval(site.world.agent.ctx.db, site.approval_id)
    response = site.post("approve", subject=row.subject, body=row.body.replace("\n", "\r\n"))
    assert response.status_code == 303
    assert get_approval(site.world.agent.ctx.db, site.approval_id).status == "accepted"
    assert len(site.world.delivered()) == 1


def test_request_changes_puts_a_new_draft_in_the_inbox(site: Site) -> None:
    site.login(site.marketer)
    response = site.post("respond", feedback="Shorter, please.")
    [waiting] = pending(site.world.agent.ctx.db)
    assert waiting.id != site.approval_id
    assert response.headers["location"] == (f"/inbox/{waiting.id}?done={_quoted(site.approval_id)}")
    page = site.client.get(response.headers["location"]).text
    assert "A new draft for Dana Reyes is waiting" in page
    assert f'name="approval_id" value="{waiting.id}"' in page
    old = get_approval(site.world.agent.ctx.db, site.approval_id)
    assert (old.status, old.feedback, old.decided_by) == ("responded", "Shorter, please.", "mara")
    assert site.world.delivered() == []


def test_discard_sends_nothing(site: Site) -> None:
    site.login(site.marketer)
    response = site.post("discard")
    assert response.status_code == 303
    assert get_approval(site.world.agent.ctx.db, site.approval_id).status == "ignored"
    assert pending(site.world.agent.ctx.db) == []
    assert (
        "Discarded the draft for Dana Reyes" in site.client.get(response.headers["location"]).text
    )
    assert site.world.delivered() == []
    again = site.post("discard")
    assert again.status_code == 409 and "already ignored by mara" in again.text
    # a decided draft still explains itself (rebuilt from the approval row), read-only
    decided = site.client.get(f"/inbox/{site.approval_id}").text
    assert "Already ignored</strong> by mara" in decided and "approve-form" not in decided
    assert "<strong>Why now:</strong> <code>scenario.whitepaper_case_study</code>" in decided


def test_a_rep_may_read_but_not_answer(site: Site) -> None:
    site.login(site.rep)
    inbox = site.client.get("/inbox")
    assert inbox.status_code == 200 and "Dana Reyes" in inbox.text
    draft = site.client.get(f"/inbox/{site.approval_id}").text
    assert "approve-form" not in draft and "a marketer approves it" in draft
    row = get_approval(site.world.agent.ctx.db, site.approval_id)
    for action, form in (
        ("approve", {"subject": row.subject, "body": row.body}),
        ("respond", {"feedback": "x"}),
        ("discard", {}),
    ):
        response = site.post(action, **form)
        assert response.status_code == 403, action
        assert "text/html" in response.headers["content-type"]
        assert "Not allowed" in response.text and "Nothing was changed" in response.text
    assert get_approval(site.world.agent.ctx.db, site.approval_id).status == "pending"
    assert site.world.delivered() == []


def test_a_form_for_another_draft_is_refused(site: Site) -> None:
    site.login(site.marketer)
    response = site.post("discard", approval_id="L1:someone-else.1")
    assert response.status_code == 400
    assert get_approval(site.world.agent.ctx.db, site.approval_id).status == "pending"


def test_the_lead_page_draws_the_score_over_time(site: Site) -> None:
    site.login(site.rep)
    response = site.client.get(f"/leads/{DANA['id']}")
    assert response.status_code == 200
    page = response.text
    # the project's one chart approach: pygal's SVG as a data: image (no script, CSP-safe)
    found = re.search(
        r'<img class="chart score-chart" src="data:image/svg\+xml;base64,([^"]+)"', page
    )
    assert found, "the score chart is an image"
    svg = base64.b64decode(found.group(1)).decode()
    assert "<script" not in svg
    assert "hot ≥ 70" in svg, "the threshold is a labelled series"
    assert svg.count('class="dot ') == 26, "one dot a weekly score"
    assert "Next action:" in page and "whitepaper_download" in page
    assert "Transport Manager" in page  # the profile


def test_the_lead_page_shows_the_decision_history(site: Site) -> None:
    """The draft run decided Dana once: the history holds that first decision, from nothing."""
    site.login(site.rep)
    page = site.client.get(f"/leads/{DANA['id']}").text
    section = page[
        page.index('id="decision-history"') : page.index(
            "</section>", page.index('id="decision-history"')
        )
    ]
    assert 'Decision history <span class="count">1</span>' in section
    assert "— → <strong>interest</strong>" in section
    assert "— → <strong>send email</strong>" in section
    assert "<code>scenario.whitepaper_case_study</code>" in section


def test_the_lead_page_lists_past_sends(site: Site) -> None:
    site.login(site.marketer)
    row = get_approval(site.world.agent.ctx.db, site.approval_id)
    site.post("approve", subject=row.subject, body=row.body)
    page = site.client.get(f"/leads/{DANA['id']}").text
    assert 'Sent emails <span class="count">1</span>' in page
    assert row.subject in page and "email_sent" in page


def test_the_lead_page_escapes_the_leads_own_text(site: Site) -> None:
    lead = {**DANA, "id": "L9", "email": "eve@example.org", "name": "Eve <img src=x>"}
    site.world.seed(lead, [("form_submit", 1, {"form": "contact", "message": FORM_MESSAGE})])
    site.login(site.rep)
    page = site.client.get("/leads/L9").text
    assert "&lt;script&gt;alert(&#39;owned&#39;)&lt;/script&gt;" in page
    assert "<script>alert" not in page and "<b>routing</b>" not in page
    # the page's own <img> (the score chart) is fine; the name must not become one
    assert "Eve &lt;img src=x&gt;" in page and "<img src=x" not in page
    assert re.search(r"Content-Security-Policy", str(site.client.get("/leads/L9").headers), re.I)


def test_unknown_pages_are_friendly(site: Site) -> None:
    site.login(site.marketer)
    for path in ("/leads/nobody", "/inbox/L1:nothing.1"):
        response = site.client.get(path)
        assert response.status_code == 404 and "text/html" in response.headers["content-type"]


def _quoted(approval_id: str) -> str:
    return approval_id.replace(":", "%3A")


def test_an_answer_holding_nul_is_refused(site: Site) -> None:
    """A form field may carry NUL (%00), which PostgreSQL refuses: refused with the reason, and
    the draft still waits. (A lone surrogate cannot arrive this way: form bytes that are not
    UTF-8 are decoded with U+FFFD.)"""
    site.login(site.marketer)
    bad = "%00"
    fields = f"approval_id={_quoted(site.approval_id)}&csrf_token={site.csrf_token}"
    for action, form in (
        ("respond", f"feedback=Shorter{bad}+please"),
        ("approve", f"subject=Hello&body=Hi+Dana%2C{bad}%0A"),
    ):
        response = site.client.post(
            f"/inbox/{site.approval_id}/{action}",
            content=f"{fields}&{form}".encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            follow_redirects=False,
        )
        assert response.status_code == 422, (action, response.status_code)
        assert "NUL" in response.text
        assert get_approval(site.world.agent.ctx.db, site.approval_id).status == "pending"
    assert site.world.delivered() == []
