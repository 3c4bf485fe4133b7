"""The guardrail's look-up of other leads' names and companies: same answers, read through
indexes rather than a scan of every lead (checked on the query plan, SQLite and PostgreSQL)."""

from __future__ import annotations

from sqlalchemy import text

from agent.playbook import Playbook
from agent.store import Database
from agent.store.leads import (
    lead_ids_by_email,
    leads_named_query,
    load_lead,
    other_leads_named,
    upsert_leads,
)

LEADS = [
    {"id": "L1", "email": "dana@northwind.example", "name": "Dana Reyes", "company": "Northwind"},
    {"id": "L2", "email": "sam@northwind.example", "name": "Sam Ortiz", "company": "Northwind"},
    {"id": "L3", "email": "kim@acme.example", "name": "Kim Lee", "company": "Acme Freight"},
    {"id": "L4", "email": "jo@bolt.example", "name": "Jo Park", "company": None},
]


def test_other_leads_are_found_by_exact_name_or_company(db: Database, playbook: Playbook) -> None:
    upsert_leads(db, LEADS, playbook)
    phrases = ["Kim Lee", "Acme Freight", "Sam Ortiz", "Northwind", "Dana Reyes", "Jo", "kim lee"]
    # Northwind is L1's own company (a colleague works there too), Dana Reyes is L1 herself,
    # phrases under four characters are never looked up, and the match is exact
    assert other_leads_named(db, "L1", phrases) == ["Acme Freight", "Kim Lee", "Sam Ortiz"]
    assert other_leads_named(db, "L4", ["Jo Park", "Northwind"]) == ["Northwind"]
    assert other_leads_named(db, "L9", ["Jo Park"]) == ["Jo Park"]
    assert other_leads_named(db, "L1", []) == []


def test_the_lookup_reads_the_name_and_company_indexes(db: Database, playbook: Playbook) -> None:
    upsert_leads(db, LEADS, playbook)
    query = leads_named_query("L1", ["Kim Lee", "Acme Freight"]).compile(
        db.engine, compile_kwargs={"literal_binds": True}
    )
    with db.engine.connect() as connection:
        if db.dialect == "sqlite":
            rows = connection.execute(text(f"EXPLAIN QUERY PLAN {query}")).all()
            plan = "\n".join(str(row[-1]) for row in rows)
        else:
            # a few rows make a scan cheapest; forbid it to see whether an index can serve
            connection.execute(text("SET enable_seqscan = off"))
            plan = "\n".join(str(row[0]) for row in connection.execute(text(f"EXPLAIN {query}")))
    assert "ix_leads_name" in plan, plan
    assert "ix_leads_company" in plan, plan


def test_leads_are_found_by_email_in_any_case(db: Database, playbook: Playbook) -> None:
    upsert_leads(db, [*LEADS, {"id": "L5", "email": "Kim@Acme.example", "name": "Kim 2"}], playbook)
    found = lead_ids_by_email(db, ["KIM@acme.example", "dana@northwind.example ", "nobody@x.io"])
    assert found == {"kim@acme.example": ["L3", "L5"], "dana@northwind.example": ["L1"]}
    assert lead_ids_by_email(db, []) == {}


def test_a_lead_keeps_its_crm_owner(db: Database, playbook: Playbook) -> None:
    upsert_leads(db, [{**LEADS[0], "owner": " rep@routewise.example "}], playbook)  # type: ignore[dict-item]
    lead = load_lead(db, "L1")
    assert lead is not None and lead.owner == "rep@routewise.example"
    assert lead.facts()["owner"] == "rep@routewise.example"
