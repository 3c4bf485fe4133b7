"""The demo generator: realistic leads whose timelines exercise every rule of the default playbook.

Every check runs the real engine (`decide`) on the generated data, so a change to the playbook or
the engine that the demo no longer shows off fails here."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from agent.account_roles import role_of
from agent.accounts import account_of
from agent.decisions import Decision, decide
from agent.demo.generator import build_demo, generate
from agent.playbook import Playbook
from agent.store.ingest import EventIn
from agent.store.leads import LeadIn
from agent.timeline import Event

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)
LATER = datetime(2027, 3, 1, 9, 30, 15, 123456, tzinfo=UTC)  # the demo runs at the real time
MIN_PER_RULE = 3

Records = tuple[list[dict[str, Any]], list[dict[str, Any]]]


@pytest.fixture(scope="module")
def demo() -> Records:
    return generate(seed=7, now=NOW)


def decisions(records: Records, playbook: Playbook, now: datetime) -> list[Decision]:
    """Each lead decided as the import would load it: validated, then read back as the engine
    sees it."""
    leads, events = records
    by_lead: dict[str, list[Event]] = defaultdict(list)
    for raw in events:
        e = EventIn.model_validate(raw)
        assert e.id is not None and e.lead_id is not None  # the demo names leads by id
        by_lead[e.lead_id].append(Event(e.id, e.lead_id, e.type, e.occurred_at, e.properties))
    return [
        decide(LeadIn.model_validate(raw).to_lead(), by_lead[raw["id"]], playbook, now)
        for raw in leads
    ]


def first_reasons(ds: list[Decision]) -> Counter[str]:
    return Counter(d.reasons[0].rule for d in ds)


def stage_reasons(ds: list[Decision]) -> Counter[str]:
    return Counter(d.reasons[1].rule for d in ds)


def stage_rule_ids(playbook: Playbook) -> list[str]:
    return [rule.id for rule in playbook.stages.rules] + ["stage.default"]


# --- Coverage of the playbook ------------------------------------------------------------------


@pytest.mark.parametrize("now", [NOW, LATER], ids=["2026-11-20", "2027-03-01"])
def test_every_action_rule_is_the_first_reason_of_three_leads(
    playbook: Playbook, now: datetime
) -> None:
    counts = first_reasons(decisions(generate(seed=7, now=now), playbook, now))
    missing = {
        rule.id: counts[rule.id] for rule in playbook.action_rules if counts[rule.id] < MIN_PER_RULE
    }
    assert not missing, f"too few leads for these rules: {missing}"


@pytest.mark.parametrize("now", [NOW, LATER], ids=["2026-11-20", "2027-03-01"])
def test_every_stage_rule_is_the_stage_reason_of_three_leads(
    playbook: Playbook, now: datetime
) -> None:
    counts = stage_reasons(decisions(generate(seed=7, now=now), playbook, now))
    missing = {rid: counts[rid] for rid in stage_rule_ids(playbook) if counts[rid] < MIN_PER_RULE}
    assert not missing, f"too few leads for these stage rules: {missing}"


def test_stage_content_goes_to_leads_at_every_stage(demo: Records, playbook: Playbook) -> None:
    stages = Counter(
        d.stage for d in decisions(demo, playbook, NOW) if d.reasons[0].rule == "send.stage_content"
    )
    assert all(stages[s] >= MIN_PER_RULE for s in ("awareness", "interest", "consideration"))
    assert stages["decision"] >= MIN_PER_RULE


def test_each_lead_gets_the_decision_its_persona_was_built_for(playbook: Playbook) -> None:
    # Stronger than the counts: the background noise never changes a scenario's outcome.
    wrong = []
    for lead in build_demo(seed=7, now=NOW):
        d = decisions(([lead.lead], lead.events), playbook, NOW)[0]
        got = (d.reasons[0].rule, d.reasons[1].rule)
        stage_ok = lead.expected_stage_rule in (None, got[1])
        if got[0] != lead.expected_rule or not stage_ok:
            wrong.append((lead.lead["id"], lead.persona, got))
    assert not wrong


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_other_seeds_still_cover_every_action_rule(playbook: Playbook, seed: int) -> None:
    counts = first_reasons(decisions(generate(seed=seed, now=NOW), playbook, NOW))
    assert all(counts[rule.id] >= MIN_PER_RULE for rule in playbook.action_rules)


def test_most_leads_are_nurtured_rather_than_handed_off(demo: Records, playbook: Playbook) -> None:
    actions = Counter(d.action for d in decisions(demo, playbook, NOW))
    nurtured = actions["send_email"] + actions["re_engage"] + actions["wait"]
    assert nurtured >= 0.6 * sum(actions.values())
    assert actions["handoff_to_sales"] <= 0.2 * sum(actions.values())


# --- Determinism and identity ------------------------------------------------------------------


def test_same_seed_and_now_give_identical_output(demo: Records) -> None:
    assert generate(seed=7, now=NOW) == demo


def test_a_different_seed_gives_different_output(demo: Records) -> None:
    assert generate(seed=8, now=NOW) != demo


def test_ids_and_emails_are_unique(demo: Records) -> None:
    leads, events = demo
    lead_ids = [lead["id"] for lead in leads]
    assert len(set(lead_ids)) == len(lead_ids)
    assert len({lead["email"] for lead in leads}) == len(leads)
    assert len({e["id"] for e in events}) == len(events)
    assert {e["lead_id"] for e in events} <= set(lead_ids)


def test_count_sets_the_number_of_leads() -> None:
    leads, _ = generate(seed=7, now=NOW, count=40)
    assert len(leads) == 40


def test_a_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone"):
        generate(now=datetime(2026, 11, 20, 12))


# --- The import format and realism -------------------------------------------------------------


def test_every_record_validates_in_the_import_format(demo: Records) -> None:
    leads, events = demo
    for raw in leads:
        LeadIn.model_validate(raw)
        assert set(raw) == {"id", "email", "name", "company", "attributes", "do_not_contact"}
        # plus, for the CRM-status personas and the account cases, what a CRM import sets
        crm = {"lifecycle_stage", "marketing_contact", "account_id"}
        assert set(raw["attributes"]) - crm == {"industry", "employees", "title", "country"}
    for raw in events:
        EventIn.model_validate(raw)
        assert set(raw) == {"id", "lead_id", "type", "occurred_at", "properties"}


@pytest.mark.parametrize("now", [NOW, LATER], ids=["2026-11-20", "2027-03-01"])
def test_event_times_have_an_offset_and_lie_in_the_last_200_days(now: datetime) -> None:
    _, events = generate(seed=7, now=now)
    for raw in events:
        at = datetime.fromisoformat(raw["occurred_at"])
        assert at.utcoffset() is not None
        assert now - timedelta(days=201) <= at <= now


def test_the_demo_has_accounts_with_several_contacts(demo: Records) -> None:
    """Buying committees: the account page and the one-email-per-account cap have something
    to show. Every demo lead writes from its company's domain or has the CRM's account_id, so
    each has an account, but those writing from free mail."""
    leads, _ = demo
    accounts = Counter(account_of(LeadIn.model_validate(lead).to_lead()) for lead in leads)
    free_mail = [lead for lead in leads if lead["email"].endswith(("@gmail.com", "@yahoo.com"))]
    assert accounts[None] == len(free_mail) >= 2
    assert sum(1 for size in accounts.values() if size >= 3) >= 10
    assert max(accounts.values()) >= 6
    titles_by_account = defaultdict(set)
    for lead in leads:
        titles_by_account[account_of(LeadIn.model_validate(lead).to_lead())].add(
            role_of(LeadIn.model_validate(lead).to_lead())
        )
    # committees mix decision makers with the people who will use the product
    assert sum(1 for roles in titles_by_account.values() if len(roles) >= 2) >= 10


def test_leads_look_like_b2b_prospects(demo: Records) -> None:
    leads, _ = demo
    industries = {lead["attributes"]["industry"] for lead in leads}
    assert {"software", "logistics", "manufacturing", "financial services"} <= industries
    assert industries & {"retail", "education", "healthcare"}
    assert all(10 <= lead["attributes"]["employees"] <= 20000 for lead in leads)
    assert all(lead["email"].split("@")[1] != "example.com" for lead in leads)
    assert sum(lead["email"].endswith("@gmail.com") for lead in leads) <= 3  # the free-mail cases
    assert len({lead["attributes"]["country"] for lead in leads}) >= 5
    assert sum(lead["do_not_contact"] for lead in leads) >= MIN_PER_RULE


def test_timelines_have_realistic_sizes_and_properties(demo: Records) -> None:
    leads, events = demo
    per_lead = Counter(e["lead_id"] for e in events)
    assert any(lead["id"] not in per_lead for lead in leads)  # some leads have no events yet
    assert max(per_lead.values()) <= 80
    props = defaultdict(list)
    for e in events:
        props[e["type"]].append(e["properties"])
    assert all({"topic", "asset_id"} <= p.keys() for p in props["whitepaper_download"])
    assert all({"completion", "topic", "asset_id"} <= p.keys() for p in props["case_study_view"])
    dsr_keys = {"asset_id", "asset_kind", "seconds", "viewer"}
    assert all(dsr_keys <= p.keys() for p in props["dsr_view"])
    assert all({"asset", "asset_kind", "topic"} <= p.keys() for p in props["email_sent"])
    assert all(isinstance(p["hard"], bool) for p in props["email_bounce"])
    assert {p["hard"] for p in props["email_bounce"]} == {True, False}
    assert all(p["path"].startswith("/") for p in props["page_view"])
    assert all(p["url"].startswith("/blog/") for p in props["blog_view"])


def test_some_form_messages_try_prompt_injection(demo: Records) -> None:
    _, events = demo
    messages = [e["properties"]["message"] for e in events if e["type"] == "form_submit"]
    assert any("ignore previous instructions" in m.lower() for m in messages)


def test_an_explicit_account_id_groups_contacts_from_several_domains(demo: Records) -> None:
    leads, _ = demo
    grouped = [lead for lead in leads if lead["attributes"].get("account_id")]
    by_account = defaultdict(set)
    for lead in grouped:
        by_account[account_of(LeadIn.model_validate(lead).to_lead())].add(
            lead["email"].split("@")[1]
        )
    assert any(len(domains) >= 3 for domains in by_account.values()), by_account


def test_the_demo_has_an_account_the_playbook_hands_to_sales_though_no_contact_is_hot(
    demo: Records, playbook: Playbook
) -> None:
    """accounts.handoff: enough contacts with one of the playbook's engaging signals within its
    days, none of whom would go to sales alone, so the demo shows an account hand-off of its
    own."""
    rule = playbook.accounts.handoff
    assert rule is not None
    leads, events = demo
    decided = {d.lead_id: d for d in decisions(demo, playbook, NOW)}
    since = NOW - timedelta(days=rule.within_days)
    active = {
        raw["lead_id"]
        for raw in events
        if raw["type"] in playbook.engaging_signals()
        and since <= datetime.fromisoformat(raw["occurred_at"]) <= NOW
    }
    engaged: dict[str | None, list[str]] = defaultdict(list)
    for lead in leads:
        if lead["id"] in active:
            engaged[account_of(LeadIn.model_validate(lead).to_lead())].append(lead["id"])
    quiet_committees = [
        account
        for account, ids in engaged.items()
        if account is not None
        and len(ids) >= rule.engaged_contacts
        and all(decided[i].action not in ("handoff_to_sales", "with_sales") for i in ids)
        and all(not decided[i].score.hot for i in ids)
    ]
    assert quiet_committees
