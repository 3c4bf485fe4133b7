"""A lead's account: its `account_id` attribute, else its company's email domain, never a
free-mail provider's (two people with gmail addresses are not one buying committee)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from agent.accounts import account_of
from agent.playbook import Playbook
from agent.store import Database
from agent.store.leads import upsert_leads
from agent.store.schema import LeadRow
from agent.timeline import Lead


def _lead(email: str, **attributes: object) -> Lead:
    return Lead("L1", email, attributes=attributes)


def test_the_company_domain_is_the_account() -> None:
    assert account_of(_lead("dana@northwind.example")) == "northwind.example"


def test_the_domain_is_compared_in_lower_case() -> None:
    assert account_of(_lead("Dana@NorthWind.Example")) == "northwind.example"


def test_an_account_id_attribute_wins_over_the_domain() -> None:
    lead = _lead("dana@northwind.example", account_id="  ACME-001 ")
    assert account_of(lead) == "ACME-001"


@pytest.mark.parametrize(
    "email",
    [
        "a@gmail.com",
        "a@googlemail.com",
        "a@outlook.com",
        "a@hotmail.co.uk",
        "a@yahoo.com",
        "a@yahoo.de",
        "a@yahoo.com.br",
        "a@gmx.de",
        "a@gmx.net",
        "a@gmx.ch",
        "a@web.de",
        "a@proton.me",
        "a@protonmail.com",
        "a@icloud.com",
    ],
)
def test_a_free_mail_address_has_no_account(email: str) -> None:
    assert account_of(_lead(email)) is None


def test_a_free_mail_lead_with_an_account_id_has_that_account() -> None:
    assert account_of(_lead("dana@gmail.com", account_id="northwind")) == "northwind"


def test_a_blank_account_id_falls_back_to_the_domain() -> None:
    assert account_of(_lead("dana@northwind.example", account_id="  ")) == "northwind.example"


def test_the_store_finds_leads_by_account(db: Database, playbook: Playbook) -> None:
    upsert_leads(
        db,
        [
            {"id": "a", "email": "ann@northwind.example"},
            {"id": "b", "email": "bo@NORTHWIND.example"},
            {"id": "c", "email": "cy@gmail.com"},
            {"id": "d", "email": "di@gmail.com", "attributes": {"account_id": "northwind.example"}},
        ],
        playbook,
    )
    with db.session() as session:
        found = session.scalars(
            select(LeadRow.id).where(LeadRow.account == "northwind.example").order_by(LeadRow.id)
        ).all()
        free = session.get(LeadRow, "c")
        assert free is not None and free.account is None
    assert found == ["a", "b", "d"]


def test_an_update_moves_the_lead_to_its_new_account(db: Database, playbook: Playbook) -> None:
    upsert_leads(db, [{"id": "a", "email": "ann@northwind.example"}], playbook)
    upsert_leads(db, [{"id": "a", "email": "ann@globex.example"}], playbook)
    with db.session() as session:
        row = session.get(LeadRow, "a")
        assert row is not None and row.account == "globex.example"
