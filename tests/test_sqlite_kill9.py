"""The embedded default (SQLite) loses no accepted run: a real `nurture serve` is `kill -9`'d
with draft runs queued and running (the model stalls), started again on the same database, and
every accepted run completes, readable all along (never a 404), one pending draft per lead."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
from sqlalchemy import func, select

from agent.playbook import Playbook
from agent.store import Database
from agent.store.api_keys import create_key
from agent.store.schema import ApprovalRow
from tests.test_agent_llm import GOOD
from tests.utils.fake_openai import FakeOpenAI, Reply
from tests.utils.replicas import nurture_serve, nurture_serve_process
from tests.utils.store_seeds import like_dana, seed_interested_leads

LEADS = [f"lead-k{n}" for n in range(6)]
CONCURRENCY = 2


def _seed(db: Database, playbook: Playbook) -> str:
    now = datetime.now(UTC)
    seed_interested_leads(db, playbook, like_dana(LEADS), now=now)
    return create_key(db, name="rep", role="rep", at=now)


def test_runs_accepted_by_a_killed_service_all_complete_after_a_restart(
    tmp_path: Path, indexed_data: Path, playbook: Playbook, fake_openai: FakeOpenAI
) -> None:
    url = f"sqlite:///{tmp_path / 'nurture.db'}"
    db = Database(url)
    db.migrate()
    headers = {"Authorization": f"Bearer {_seed(db, playbook)}"}
    env = {
        **os.environ,
        "NURTURE_DATABASE_URL": url,
        "NURTURE_DATA_DIR": str(indexed_data),
        "NURTURE_LLM_BASE_URL": fake_openai.base_url,
        "NURTURE_LLM_MODEL": "fake-model",
        "NURTURE_DRAFT_CONCURRENCY": str(CONCURRENCY),
    }
    fake_openai.default = Reply.slow(300, then=Reply.json(GOOD))  # the first service hangs
    with nurture_serve_process(env, tmp_path / "first.log") as (base, first):
        accepted = []
        for lead in LEADS:
            answer = httpx.post(f"{base}/v1/leads/{lead}/drafts", headers=headers)
            assert answer.status_code == 202, answer.text
            accepted.append(answer.json()["status_url"])
        deadline = time.monotonic() + 60
        while len(fake_openai.chat_requests) < CONCURRENCY and time.monotonic() < deadline:
            time.sleep(0.1)
        statuses = [httpx.get(f"{base}{u}", headers=headers).json()["status"] for u in accepted]
        assert sorted(statuses) == ["queued"] * 4 + ["running"] * 2, statuses
        first.kill()  # kill -9, runs running and queued
        first.wait()
    fake_openai.default = Reply.json(GOOD)
    with nurture_serve(env, tmp_path / "second.log") as base:
        deadline = time.monotonic() + 120
        while True:
            answers = [httpx.get(f"{base}{u}", headers=headers) for u in accepted]
            assert all(a.status_code == 200 for a in answers), [a.text for a in answers]
            statuses = [a.json()["status"] for a in answers]
            if not {"queued", "running"} & set(statuses) or time.monotonic() > deadline:
                break
            time.sleep(0.2)
    assert statuses == ["awaiting_approval"] * len(LEADS), statuses
    with db.session() as session:
        pending = session.execute(
            select(ApprovalRow.lead_id, func.count())
            .where(ApprovalRow.status == "pending")
            .group_by(ApprovalRow.lead_id)
        ).all()
    assert sorted(pending) == [(lead, 1) for lead in LEADS]
    db.dispose()
