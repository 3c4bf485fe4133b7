"""The unsubscribe links the service signs: one key generated on first use and kept in the
database (the same for every process, never a default string), a token that names exactly one
lead, cannot be forged or reused for another purpose, and works for at least 60 days."""

from __future__ import annotations

import time

import pytest
from itsdangerous import URLSafeTimedSerializer

from agent.settings import Settings
from agent.store import Database
from agent.store.schema import ServiceSecretRow
from agent.store.secrets import service_secret
from agent.unsubscribe import (
    BadUnsubscribeToken,
    UnsubscribeLinks,
    unsubscribe_links,
)

DAY = 86_400


def links(db: Database, **settings: object) -> UnsubscribeLinks:
    return unsubscribe_links(Settings(database_url=db.url, **settings), db)  # type: ignore[arg-type]


def test_the_signing_key_is_generated_once_and_stored(db: Database) -> None:
    first = service_secret(db, "test-purpose")
    assert first == service_secret(db, "test-purpose")
    assert len(first) >= 40 and first not in ("change-me", "secret")
    assert service_secret(db, "another-purpose") != first
    with db.session() as session:
        assert session.get(ServiceSecretRow, "test-purpose") is not None


def test_a_link_names_its_lead_and_no_bare_id(db: Database) -> None:
    made = links(db, public_url="https://mail.routewise.example/")
    url = made.url_for("lead-0001")
    assert url.startswith("https://mail.routewise.example/unsubscribe/")
    token = url.rsplit("/", 1)[1]
    assert "lead-0001" not in url
    assert made.lead_for(token) == "lead-0001"
    # another process (or replica) reading the same database checks it alike
    assert links(db).lead_for(token) == "lead-0001"


def test_a_tampered_or_foreign_token_is_refused(db: Database) -> None:
    made = links(db)
    token = made.token("L1")
    payload, _, signature = token.rpartition(".")
    other = made.token("L2").split(".")[0]
    forged = [
        token[:-2] + ("AA" if not token.endswith("AA") else "BB"),  # signature altered
        other + token[len(other) :],  # another lead's id under this lead's signature
        payload,  # the signature cut off
        "",
        "lead-0001",
        # the right key, but signed for another purpose: the salt keeps them apart
        URLSafeTimedSerializer(made.secret, salt="something-else").dumps("L1"),
        # the right purpose, another key
        URLSafeTimedSerializer("guessed", salt="nurture.unsubscribe.v1").dumps("L1"),
    ]
    assert signature
    for bad in forged:
        with pytest.raises(BadUnsubscribeToken) as refused:
            made.lead_for(bad)
        assert not refused.value.expired


def test_a_link_works_for_60_days_and_then_says_it_expired(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    made = links(db, unsubscribe_link_days=60)
    now = time.time()
    monkeypatch.setattr(time, "time", lambda: now - 59 * DAY)
    fresh_enough = made.token("L1")
    monkeypatch.setattr(time, "time", lambda: now - 61 * DAY)
    too_old = made.token("L1")
    monkeypatch.setattr(time, "time", lambda: now)
    assert made.lead_for(fresh_enough) == "L1"
    with pytest.raises(BadUnsubscribeToken) as refused:
        made.lead_for(too_old)
    assert refused.value.expired
    with pytest.raises(ValueError):  # shorter than 60 days is refused as a setting
        Settings(unsubscribe_link_days=30)


def test_a_preference_centre_gets_the_token(db: Database) -> None:
    appended = links(db, unsubscribe_url="https://prefs.routewise.example/out?list=news")
    url = appended.url_for("L1")
    assert url.startswith("https://prefs.routewise.example/out?list=news&token=")
    assert appended.lead_for(url.split("token=")[1]) == "L1"
    slotted = links(db, unsubscribe_url="https://prefs.routewise.example/{token}/stop")
    url = slotted.url_for("L1")
    assert url.endswith("/stop") and slotted.lead_for(url.split("/")[-2]) == "L1"


def test_refresh_puts_a_fresh_link_in_place_of_an_old_one(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    made = links(db)
    now = time.time()
    monkeypatch.setattr(time, "time", lambda: now - 30 * DAY)
    body = f"Hi Dana,\n\nNot useful? Unsubscribe: {made.url_for('L1')}\n"
    monkeypatch.setattr(time, "time", lambda: now)
    refreshed = made.refresh(body, "L1")
    assert refreshed != body
    # the new one counts its days from today
    assert refreshed == f"Hi Dana,\n\nNot useful? Unsubscribe: {made.url_for('L1')}\n"
