"""Playbook preview on the demo data, hot threshold 70 → 50: the transition tables, the drafts
made stale and the rule counts equal deciding every lead one by one with each playbook."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from agent.content.assets import Asset, load_library
from agent.decisions import Decision, decide
from agent.demo.generator import generate
from agent.playbook import Playbook, load_playbook, parse_playbook
from agent.preview import Preview, Transitions, preview
from agent.settings import DEFAULT_CONTENT, DEFAULT_PLAYBOOK
from agent.staleness import SENDING_ACTIONS, stale_reason
from agent.store import Database
from agent.store.approvals import PendingDraft, open_approval, pending
from agent.store.ingest import ingest_events
from agent.store.leads import all_lead_ids, upsert_leads
from agent.store.runs import record_run
from agent.tools.timeline import load_timeline

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def candidate_text(hot_threshold: float = 50, version: str = "hot-at-50") -> str:
    data = yaml.safe_load(DEFAULT_PLAYBOOK.read_text(encoding="utf-8"))
    data["version"] = version
    data["scoring"]["hot_threshold"] = hot_threshold
    return yaml.safe_dump(data, sort_keys=False)


@pytest.fixture(scope="module")
def candidate() -> Playbook:
    return parse_playbook(candidate_text(), source="candidate")


@pytest.fixture(scope="module")
def assets() -> dict[str, Asset]:
    return {a.id: a for a in load_library(DEFAULT_CONTENT).assets}


def seed_demo(db: Database, playbook: Playbook, assets: dict[str, Asset]) -> None:
    """The demo's 200 leads, and a draft waiting for every lead the playbook in force emails,
    each citing an asset of the lead's stage (so a stage change can make it stale too)."""
    leads, events = generate(seed=7, now=NOW, count=200)
    upsert_leads(db, leads, playbook)
    ingest_events(db, events, playbook, now=NOW)
    for lead_id in all_lead_ids(db):
        now = decided(db, lead_id, playbook)
        if now.action not in SENDING_ACTIONS:
            continue
        cited = next(a.id for a in assets.values() if a.meta.stages == [now.stage])
        thread = f"t-{lead_id}"
        at = NOW - timedelta(hours=1)
        record_run(
            db,
            thread_id=thread,
            lead_id=lead_id,
            outcome="awaiting_approval",
            at=at,
            playbook_version=playbook.version,
            action=now.action,
        )
        open_approval(
            db,
            PendingDraft(
                approval_id=f"a-{lead_id}",
                thread_id=thread,
                lead_id=lead_id,
                subject="Hi",
                body="Hello",
                cited_asset_ids=[cited],
                lead_facts_used=[],
                drafter="template",
                prompt_version="p1",
                playbook_version=playbook.version,
                violations=[],
                decision=now.model_dump(mode="json"),
                created_at=at,
            ),
        )


def decided(db: Database, lead_id: str, playbook: Playbook, at: datetime = NOW) -> Decision:
    """The reference: one lead, loaded and decided on its own with this playbook."""
    lead, events = load_timeline(db, lead_id, until=at, playbook=playbook)
    return decide(lead, events, playbook, at)


@dataclass
class Reference:
    stage: Counter[tuple[str, str]]
    action: Counter[tuple[str, str]]
    hot: Counter[tuple[str, str]]
    action_rules: dict[str, tuple[int, int]]
    stale: set[str]
    changed: int = 0


def one_by_one(
    db: Database,
    current: Playbook,
    candidate: Playbook,
    assets: dict[str, Asset],
    at: datetime = NOW,
) -> Reference:
    drafts = {d.lead_id: d for d in pending(db, limit=10_000)}
    ref = Reference(Counter(), Counter(), Counter(), {}, set())
    before_rules: Counter[str] = Counter()
    after_rules: Counter[str] = Counter()
    for lead_id in all_lead_ids(db):
        before, after = decided(db, lead_id, current, at), decided(db, lead_id, candidate, at)
        ref.stage[(before.stage, after.stage)] += 1
        if (before.stage, before.action, before.score.hot) != (
            after.stage,
            after.action,
            after.score.hot,
        ):
            ref.changed += 1
        ref.action[(before.action, after.action)] += 1
        ref.hot[
            ("hot" if before.score.hot else "not hot", "hot" if after.score.hot else "not hot")
        ] += 1
        before_rules[before.reasons[0].rule] += 1
        after_rules[after.reasons[0].rule] += 1
        draft = drafts.get(lead_id)
        if draft and stale_reason(draft, after, assets) and not stale_reason(draft, before, assets):
            ref.stale.add(draft.id)
    ref.action_rules = {
        rule: (before_rules[rule], after_rules[rule])
        for rule in before_rules | after_rules
        if before_rules[rule] != after_rules[rule]
    }
    return ref


def counts(table: Transitions) -> Counter[tuple[str, str]]:
    return Counter({cell: entry.count for cell, entry in table.items()})


def examples_belong(table: Transitions, reference: dict[str, tuple[str, str]]) -> bool:
    return all(reference[lead] == cell for cell, entry in table.items() for lead in entry.examples)


def test_the_preview_equals_deciding_every_lead_one_by_one_with_each_playbook(
    db: Database, playbook: Playbook, candidate: Playbook, assets: dict[str, Asset]
) -> None:
    seed_demo(db, playbook, assets)
    got: Preview = preview(db, playbook, candidate, assets, NOW)
    ref = one_by_one(db, playbook, candidate, assets)

    assert got.leads == 200
    assert counts(got.stage) == ref.stage
    assert counts(got.action) == ref.action
    assert counts(got.hot) == ref.hot
    assert ref.hot[("not hot", "hot")] > 0, "a lower threshold makes some leads hot"
    assert any(a != b for a, b in ref.action), "some actions change (else this proves nothing)"
    assert {s.approval_id for s in got.stale} == ref.stale and got.stale_count == len(ref.stale)
    assert ref.stale, "some waiting drafts go stale when their leads are handed to sales"
    assert {s.rule: (s.before, s.after) for s in got.rule_shifts() if s.kind == "action"} == (
        ref.action_rules
    )
    assert got.changed == ref.changed

    hot_of = {}
    for lead_id in all_lead_ids(db):
        b, a = decided(db, lead_id, playbook), decided(db, lead_id, candidate)
        hot_of[lead_id] = ("hot" if b.score.hot else "not hot", "hot" if a.score.hot else "not hot")
    assert examples_belong(got.hot, hot_of)


def test_the_same_playbook_changes_nothing(
    db: Database, playbook: Playbook, assets: dict[str, Asset]
) -> None:
    seed_demo(db, playbook, assets)
    got = preview(db, playbook, playbook, assets, NOW)
    assert got.changed == 0 and got.stale_count == 0 and got.rule_shifts() == []
    assert all(before == after for before, after in got.action)


def test_a_candidate_that_reads_events_differently_is_judged_on_its_own_reading(
    tmp_path: Path, playbook: Playbook, assets: dict[str, Asset]
) -> None:
    """No signal worth a point: the store's cached points (the current playbook's) must not
    leak into the candidate's decisions."""
    db = Database(f"sqlite:///{tmp_path / 'n.db'}")
    db.migrate()
    seed_demo(db, playbook, assets)
    data = yaml.safe_load(DEFAULT_PLAYBOOK.read_text(encoding="utf-8"))
    data["version"] = "no-behaviour-points"
    for spec in data["signals"].values():
        spec["points"] = 0
        spec.pop("boosts", None)
    quiet = parse_playbook(yaml.safe_dump(data, sort_keys=False), source="candidate")
    got = preview(db, playbook, quiet, assets, NOW)
    ref = one_by_one(db, playbook, quiet, assets)
    assert counts(got.hot) == ref.hot and counts(got.stage) == ref.stage
    assert ref.hot[("hot", "not hot")] > 0
    assert load_playbook(DEFAULT_PLAYBOOK).version != quiet.version


def test_a_lead_within_rounding_of_the_new_threshold_is_decided_again(playbook: Playbook) -> None:
    """The recorded total is rounded to 0.01: 49.996 shows as 50.0, so it cannot say which side
    of a threshold of 50 the lead is on, and the shortcut must not be taken."""
    from agent.preview import only_the_threshold_differs, same_side
    from agent.timeline import Lead

    decision = decide(Lead(id="L1", email="dana@northwind.example"), [], playbook, NOW)
    near = decision.model_copy(
        update={"score": decision.score.model_copy(update={"total": 50.0, "hot": False})}
    )
    assert not same_side(near, 50)
    far = decision.model_copy(
        update={"score": decision.score.model_copy(update={"total": 20.0, "hot": False})}
    )
    assert same_side(far, 50) and not same_side(
        far.model_copy(update={"score": far.score.model_copy(update={"total": 60.0})}), 50
    )
    hot_at_50 = parse_playbook(candidate_text(), source="candidate")
    assert only_the_threshold_differs(playbook, hot_at_50)
    other = parse_playbook(
        candidate_text().replace("half_life_days: 14", "half_life_days: 10"), source="candidate"
    )
    assert not only_the_threshold_differs(playbook, other)


def test_the_preview_builds_no_explanation(
    db: Database,
    playbook: Playbook,
    candidate: Playbook,
    assets: dict[str, Asset],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Per-event contributions are for a person reading one decision; the preview tallies
    stages, actions, heat and rules of every lead and reads none of them (issue #17's 60 s)."""
    import agent.scoring

    seed_demo(db, playbook, assets)
    built: list[str] = []
    real = agent.scoring.behaviour_contributions

    def counting(*args: object, **kwargs: object) -> object:
        built.append("explained")
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(agent.scoring, "behaviour_contributions", counting)
    got = preview(db, playbook, candidate, assets, NOW)
    assert got.leads == 200
    assert built == []


def test_events_the_current_playbook_ignores_count_for_a_candidate_that_reads_them(
    tmp_path: Path, playbook: Playbook, assets: dict[str, Asset]
) -> None:
    """Rows the store derived as no signal under the playbook in force are still read for a
    candidate that maps their type to a signal: the lean read must not drop them for both."""
    from sqlalchemy import text

    from agent.playbook import fingerprint

    db = Database(f"sqlite:///{tmp_path / 'n.db'}")
    db.migrate()
    seed_demo(db, playbook, assets)
    with db.engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE events SET type = 'legacy_touch', signal = NULL, points = NULL, "
                "derived_by = :current WHERE id IN (SELECT id FROM events ORDER BY id LIMIT 400)"
            ),
            {"current": fingerprint(playbook)},
        )
    data = yaml.safe_load(DEFAULT_PLAYBOOK.read_text(encoding="utf-8"))
    data["version"] = "reads-legacy"
    data["signals"]["legacy_touch"] = {"points": 40}
    reads_legacy = parse_playbook(yaml.safe_dump(data, sort_keys=False), source="candidate")
    got = preview(db, playbook, reads_legacy, assets, NOW)
    ref = one_by_one(db, playbook, reads_legacy, assets)
    assert counts(got.hot) == ref.hot and counts(got.stage) == ref.stage
    assert counts(got.action) == ref.action and got.changed == ref.changed
    assert ref.hot[("not hot", "hot")] > 0  # the legacy rows do count for the candidate
