"""Rows written straight into the store for tests that need no graph to get there: leads whose
next step is a draft, and an accepted draft with its run."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from agent.playbook import Playbook
from agent.store import Database
from agent.store.approvals import PendingDraft, open_approval, record_answer
from agent.store.ingest import ingest_events
from agent.store.leads import upsert_leads
from agent.store.runs import record_run
from tests.utils.agent_world import DANA


def like_dana(lead_ids: Iterable[str]) -> list[dict[str, Any]]:
    """Dana's lead under other ids, each with an address of its own at her company and an
    account of its own: as one account, three or more whitepaper readers would be handed to
    sales together (accounts.handoff) and hold the rest, where these tests want a draft each."""
    return [
        {
            **DANA,
            "id": lead,
            "email": f"{lead}@northwind.example",
            "attributes": {**DANA["attributes"], "account_id": f"account-{lead}"},
        }
        for lead in lead_ids
    ]


def seed_interested_leads(
    db: Database, playbook: Playbook, leads: Sequence[Mapping[str, Any]], *, now: datetime
) -> None:
    """The leads, each having downloaded the route-optimisation whitepaper four days before
    `now`: the default playbook drafts an email for each."""
    upsert_leads(db, [dict(lead) for lead in leads], playbook)
    report = ingest_events(
        db,
        [
            {
                "id": f"{lead['id']}-wp",
                "lead_id": lead["id"],
                "type": "whitepaper_download",
                "occurred_at": (now - timedelta(days=4)).isoformat(),
                "properties": {"topic": "route optimisation"},
            }
            for lead in leads
        ],
        playbook,
    )
    assert not report.rejected


def accepted_draft(
    db: Database,
    playbook: Playbook,
    lead: Mapping[str, Any],
    *,
    thread_id: str,
    run_outcome: str,
    at: datetime,
    subject: str = "s",
    body: str = "b",
    drafted_at: datetime | None = None,
) -> str:
    """The lead, a run of it that ended `run_outcome`, and its draft accepted by sam at `at`
    (drafted at `drafted_at`, else then too). Returns the approval id (the thread's `.1`)."""
    approval_id = f"{thread_id}.1"
    upsert_leads(db, [dict(lead)], playbook)
    record_run(
        db, thread_id=thread_id, lead_id=lead["id"], outcome=run_outcome, at=at,
        playbook_version="x",
    )  # fmt: skip
    open_approval(
        db,
        PendingDraft(
            approval_id=approval_id,
            thread_id=thread_id,
            lead_id=lead["id"],
            subject=subject,
            body=body,
            cited_asset_ids=[],
            lead_facts_used=[],
            drafter="template",
            prompt_version="t",
            playbook_version="x",
            violations=[],
            decision={"stage": "interest", "reasons": [{"rule": "r", "text": "t"}]},
            created_at=drafted_at or at,
        ),
    )
    record_answer(db, approval_id, answer="accept", by="sam", at=at)
    return approval_id
