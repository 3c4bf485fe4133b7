"""Unsubscribing through the link in a delivered email, against the app served by uvicorn on
127.0.0.1: in Chromium (open the link from the .eml, confirm, the lead is suppressed), as the
RFC 8058 one-click POST a mailbox provider makes (no browser, no cookie, no key), and with a
tampered token (a clear page, nothing recorded)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from agent.settings import Settings
from agent.store.api_keys import create_key
from agent.store.schema import EventRow, ServiceSecretRow
from agent.unsubscribe import SECRET_NAME
from api.main import create_app
from tests.utils.agent_world import DANA, World, drafted
from tests.utils.browser import artifact, chromium, needs_chromium
from tests.utils.serve import serve
from tests.utils.smtp import CollectingHandler, free_port

_LINK = re.compile(r'href="([^"]*/unsubscribe/[^"]+)"')


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.fixture
def settings(
    indexed_data: Path, tmp_path: Path, smtp_server: tuple[CollectingHandler, int], port: int
) -> Settings:
    """The agent world's settings, with the service's public URL where the test serves it."""
    return Settings(
        data_dir=indexed_data,
        database_url=f"sqlite:///{tmp_path / 'n.db'}",
        smtp_host="127.0.0.1",
        smtp_port=smtp_server[1],
        smtp_starttls=False,
        public_url=f"http://127.0.0.1:{port}",
    )


@pytest.fixture
def site(world: World, port: int) -> Iterator[str]:
    with serve(create_app(world.settings), port=port) as url:
        yield url


def sent_eml(world: World, folder: Path) -> Path:
    """Approves Dana's draft; the message aiosmtpd received, saved as the .eml a person opens."""
    approval_id = drafted(world)
    assert world.agent.answer(approval_id, "accept", by="marketer").outcome == "sent"
    (envelope,) = world.smtp.envelopes
    eml = folder / "delivered.eml"
    eml.write_bytes(envelope.original_content or b"")
    return eml


def unsubscribe_link(eml: Path) -> str:
    """The link a person clicks (the HTML part), checked against the headers and the text."""
    message = message_from_bytes(eml.read_bytes(), policy=policy.default)
    assert isinstance(message, EmailMessage)
    html = message.get_body(preferencelist=("html",))
    text = message.get_body(preferencelist=("plain",))
    assert html is not None and text is not None
    links = set(_LINK.findall(html.get_content()))
    assert len(links) == 1, links
    (link,) = links
    assert message["List-Unsubscribe"] == f"<{link}>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert link in text.get_content()
    assert DANA["id"] not in link  # no bare lead id
    return link


def next_action(world: World, base: str) -> dict[str, Any]:
    key = create_key(world.agent.ctx.db, name="rep", role="rep", at=datetime.now(UTC))
    answer = httpx.get(
        f"{base}/v1/leads/{DANA['id']}/next", headers={"Authorization": f"Bearer {key}"}
    )
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def unsubscribes(world: World) -> list[EventRow]:
    with world.agent.ctx.db.session() as session:
        return list(
            session.scalars(
                select(EventRow).where(
                    EventRow.lead_id == DANA["id"], EventRow.type == "unsubscribe"
                )
            )
        )


def tampered(link: str) -> str:
    head, token = link.rsplit("/", 1)
    flipped = token[:-1] + ("A" if token[-1] != "A" else "B")
    return f"{head}/{flipped}"


@needs_chromium
def test_the_link_in_a_delivered_email_unsubscribes_in_a_browser(
    world: World, site: str, tmp_path: Path
) -> None:
    link = unsubscribe_link(sent_eml(world, tmp_path))
    assert link.startswith(f"{site}/unsubscribe/")
    with chromium() as browser:
        page = browser.new_page()
        page.goto(tampered(link))
        assert "This link is not valid" in page.inner_text("main")
        assert page.locator("#confirm-unsubscribe").count() == 0
        assert not unsubscribes(world)

        page.goto(link)
        assert "d***@northwind.example" in page.inner_text("main")
        assert not unsubscribes(world)  # a GET (a link scanner) changes nothing
        page.screenshot(path=artifact("unsubscribe-confirm.png"))
        page.click("#confirm-unsubscribe")
        page.wait_for_load_state()
        assert "You are unsubscribed" in page.inner_text("main")
        page.screenshot(path=artifact("unsubscribe-done.png"))
    assert len(unsubscribes(world)) == 1
    decision = next_action(world, site)
    assert decision["action"] == "suppress"
    assert decision["reasons"][0]["rule"] == "suppress.unsubscribed"


def test_a_one_click_post_unsubscribes_without_a_browser(
    world: World, site: str, tmp_path: Path
) -> None:
    link = unsubscribe_link(sent_eml(world, tmp_path))
    # what Gmail or Yahoo send (RFC 8058): no cookie, no key, no CSRF token, another origin
    for _ in range(2):
        answer = httpx.post(
            link,
            content=b"List-Unsubscribe=One-Click",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert answer.status_code == 200, answer.text
    assert len(unsubscribes(world)) == 1  # the second click is the same unsubscribe
    assert next_action(world, site)["reasons"][0]["rule"] == "suppress.unsubscribed"


def test_a_tampered_token_changes_nothing(world: World, site: str, tmp_path: Path) -> None:
    link = unsubscribe_link(sent_eml(world, tmp_path))
    for bad in (tampered(link), f"{site}/unsubscribe/{DANA['id']}", f"{site}/unsubscribe/x.y.z"):
        page = httpx.get(bad)
        assert page.status_code == 400 and "not valid" in page.text
        posted = httpx.post(bad, content=b"List-Unsubscribe=One-Click")
        assert posted.status_code == 400 and "not valid" in posted.text
    assert not unsubscribes(world)
    assert next_action(world, site)["action"] != "suppress"


def test_the_signing_key_is_made_at_the_first_start(world: World) -> None:
    db = world.agent.ctx.db
    with db.session() as session:
        assert session.get(ServiceSecretRow, SECRET_NAME) is None
    with TestClient(create_app(world.settings)):
        with db.session() as session:
            row = session.get(ServiceSecretRow, SECRET_NAME)
            assert row is not None and len(row.value) >= 40
