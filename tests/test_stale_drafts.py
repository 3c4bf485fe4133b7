"""A draft is stale when, decided now, its lead should no longer get it: the action is no longer
send_email/re_engage, or the stage moved where the cited asset does not reach. The send re-decides
and blocks it; the inbox and the API mark it before anyone opens it."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from agent.playbook import Playbook, parse_playbook
from agent.settings import Settings
from agent.store import Database
from agent.store.approvals import get_approval
from agent.store.ingest import ingest_events
from agent.store.leads import upsert_leads
from agent.store.sends import get_send
from agent.tools.timeline import load_timeline, load_timelines
from tests.test_cli import run
from tests.test_cli_agent import approval_id_in, cli_env  # noqa: F401 - a fixture
from tests.utils.agent_world import World, drafted
from tests.utils.service import Service

PRICING_TWICE = [("page_view", 1, {"path": "/pricing"}), ("page_view", 0.5, {"path": "/pricing/x"})]
CASE_STUDY = [("case_study_view", 0.5, {"topic": "route optimisation"})]  # to consideration


def add_events(world: World, events: list[tuple[str, float, dict[str, Any]]]) -> None:
    """Events that arrive after the draft was written."""
    now = datetime.now(UTC)
    report = ingest_events(
        world.agent.ctx.db,
        [
            {
                "id": f"later-{n}",
                "lead_id": "L1",
                "type": type_,
                "occurred_at": (now - timedelta(days=days)).isoformat(),
                "properties": props,
            }
            for n, (type_, days, props) in enumerate(events)
        ],
        world.agent.ctx.playbook,
    )
    assert not report.rejected, report


def cited_stages(world: World, approval_id: str) -> set[str]:
    row = get_approval(world.agent.ctx.db, approval_id)
    assets = world.agent.ctx.assets
    return {stage for asset_id in row.cited_asset_ids for stage in assets[asset_id].meta.stages}


def test_a_draft_whose_lead_went_to_sales_is_blocked_at_send_time(world: World) -> None:
    approval_id = drafted(world)
    add_events(world, PRICING_TWICE)
    result = world.agent.answer(approval_id, "accept", by="sam")
    assert result.outcome == "blocked", result
    assert "stale" in (result.detail or "") and "handoff_to_sales" in (result.detail or "")
    send = get_send(world.agent.ctx.db, approval_id)
    assert (
        send is not None and send.status == "blocked" and "handoff_to_sales" in (send.reason or "")
    )
    assert world.delivered() == []


def test_a_stage_the_cited_asset_does_not_reach_blocks_the_send(
    world: World, settings: Settings
) -> None:
    approval_id = drafted(world)
    assert "awareness" not in cited_stages(world, approval_id)  # what makes this test mean it
    # a playbook change: white papers no longer show interest, so the lead is back at awareness
    # (the action stays send_email: a case study after the white paper)
    data = yaml.safe_load(Path(settings.playbook).read_text())
    data["stages"]["rules"] = [
        r for r in data["stages"]["rules"] if r["id"] != "stage.interest.learning"
    ]
    world.agent.ctx.playbook = parse_playbook(yaml.safe_dump(data))
    result = world.agent.answer(approval_id, "accept", by="sam")
    assert result.outcome == "blocked", result
    assert "stale" in (result.detail or "") and "awareness" in (result.detail or "")
    assert world.delivered() == []


def test_a_stage_the_cited_asset_still_reaches_sends(world: World) -> None:
    approval_id = drafted(world)
    assert "consideration" in cited_stages(world, approval_id)
    add_events(world, CASE_STUDY)
    result = world.agent.answer(approval_id, "accept", by="sam")
    assert result.outcome == "sent", result
    assert len(world.delivered()) == 1


def test_a_playbook_change_marks_the_draft_stale_in_the_api_and_inbox(
    service: Service, settings: Settings
) -> None:
    approval_id = service.approval_id
    fresh = service.call("GET", f"/v1/approvals/{approval_id}", "rep").json()
    assert (fresh["stale"], fresh["stale_reason"]) == (False, None)

    data = yaml.safe_load(Path(settings.playbook).read_text())
    data["version"] = "stale-test-1"
    data["scoring"]["hot_threshold"] = 10  # every lead with a little activity is now hot
    activated = service.call(
        "POST", "/v1/playbook/activate", "admin", json={"yaml": yaml.safe_dump(data)}
    )
    assert activated.status_code == 200, activated.text

    [listed] = service.call("GET", "/v1/approvals", "rep").json()
    assert listed["id"] == approval_id and listed["stale"] is True
    assert "handoff_to_sales" in listed["stale_reason"]
    one = service.call("GET", f"/v1/approvals/{approval_id}", "rep").json()
    assert one["stale"] is True and one["stale_reason"] == listed["stale_reason"]

    client = service.client
    assert client.post("/login", data={"key": service.keys["marketer"]}).status_code == 200
    inbox = client.get("/inbox").text
    assert "Stale" in inbox and "handoff_to_sales" in inbox
    draft = client.get(f"/inbox/{approval_id}").text
    assert "Stale" in draft and "handoff_to_sales" in draft

    decided = service.call(
        "POST", f"/v1/approvals/{approval_id}/decision", "marketer", json={"answer": "accept"}
    )
    assert decided.status_code == 200, decided.text
    body = decided.json()
    assert body["run"]["status"] == "blocked" and "handoff_to_sales" in body["run"]["detail"]
    assert body["approval"]["send"]["status"] == "blocked"
    assert service.world.delivered() == []


def test_timelines_load_in_batch_as_one_by_one(db: Database, playbook: Playbook) -> None:
    """The inbox's batch loader gives each lead what load_timeline gives it alone."""
    now = datetime.now(UTC)
    leads = [{"id": f"B{n}", "email": f"b{n}@northwind.example"} for n in range(3)]
    upsert_leads(db, leads, playbook)
    events = [
        {
            "id": f"B{n}-{k}",
            "lead_id": f"B{n}",
            "type": "blog_view",
            "occurred_at": (now - timedelta(days=k + n)).isoformat(),
        }
        for n in range(2)  # B2 has no events
        for k in range(3)
    ]
    assert not ingest_events(db, events, playbook).rejected
    loaded = load_timelines(db, ["B0", "B1", "B2", "ghost"], until=now, playbook=playbook)
    assert set(loaded) == {"B0", "B1", "B2"}
    for lead_id, (lead, lead_events) in loaded.items():
        alone = load_timeline(db, lead_id, until=now, playbook=playbook)
        assert (lead, lead_events) == alone
    assert len(loaded["B0"][1]) == 3 and loaded["B2"][1] == []


def test_sending_a_failed_send_again_is_blocked_once_the_draft_went_stale(world: World) -> None:
    """A re-send is a send: the staleness rule holds there too."""
    from agent.resend import send_again
    from tests.test_resend import failed_send

    approval_id = failed_send(world)
    add_events(world, PRICING_TWICE)
    result = send_again(world.agent.ctx, approval_id, by="dana")
    assert result.outcome == "blocked", result
    assert "stale" in result.detail and "handoff_to_sales" in result.detail
    assert get_send(world.agent.ctx.db, approval_id).status == "blocked"  # type: ignore[union-attr]
    assert world.delivered() == []


@pytest.mark.usefixtures("cli_env")
def test_the_cli_json_marks_stale_drafts_as_the_api_does(
    tmp_path: Path, settings: Settings, monkeypatch, capsys
) -> None:  # noqa: ANN001
    code, out, err = run(monkeypatch, capsys, "draft", "L1")
    assert code == 0, err
    approval_id = approval_id_in(out)
    [fresh] = json.loads(run(monkeypatch, capsys, "inbox", "--json")[1])
    assert (fresh["id"], fresh["stale"], fresh["stale_reason"]) == (approval_id, False, None)

    data = yaml.safe_load(Path(settings.playbook).read_text())
    data["version"] = "stale-cli-1"
    data["scoring"]["hot_threshold"] = 10
    changed = tmp_path / "playbook.yaml"
    changed.write_text(yaml.safe_dump(data))
    assert run(monkeypatch, capsys, "playbook", "activate", str(changed))[0] == 0

    listed = json.loads(run(monkeypatch, capsys, "inbox", "--json")[1])
    stale = {a["id"]: a for a in listed}[approval_id]
    assert stale["stale"] is True and "handoff_to_sales" in stale["stale_reason"]
    one = json.loads(run(monkeypatch, capsys, "review", approval_id, "--json")[1])
    assert one["stale"] is True and one["stale_reason"] == stale["stale_reason"]
