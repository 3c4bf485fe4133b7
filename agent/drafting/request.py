"""Builds what a drafter sees and what a draft is checked against, from the lead, its timeline,
the decision and the retrieved content."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from agent.context import AgentContext
from agent.drafting.models import CitedAsset, DraftRequest, EmailDraft, LeadActivity
from agent.drafting.names import greeting_name
from agent.drafting.untrusted import usable
from agent.experiments.assignment import draft_style
from agent.guardrails import GuardrailContext
from agent.store.leads import other_leads_named
from agent.timeline import Event, Lead, SignalEvent, Timeline
from agent.tools.content import persona_of
from agent.unsubscribe import unsubscribe_links

# How a signal reads in a sentence about the lead ("recently <phrase>").
_ACTIVITY = {
    "whitepaper_download": "downloaded a white paper",
    "webinar_registered": "registered for a webinar",
    "webinar_attended": "attended a webinar",
    "case_study_view": "read a case study",
    "blog_view": "read one of our blog posts",
    "email_click": "clicked through one of our emails",
    "comparison_page_view": "compared options on our site",
    "roi_calculator_used": "tried the ROI calculator",
    "dsr_view": "opened the documents we shared",
    "email_reply": "replied to one of our emails",
}
_MESSAGE_PROPERTIES = ("message", "text", "body")
_LANGUAGE_KEYS = ("language", "lang", "locale", "preferred_language", "preferredlanguage")


def build_request(
    ctx: AgentContext,
    lead: Lead,
    events: list[Event],
    state: dict[str, Any],
    *,
    previous: EmailDraft | None = None,
) -> DraftRequest:
    decision = state["decision"]
    stage = decision["stage"]
    guardrails = ctx.playbook.guardrails
    return DraftRequest(
        lead_id=lead.id,
        first_name=greeting_name(lead.name, lead.attributes),
        company=lead.company,
        email=lead.email,
        stage=stage,
        action=decision["action"],
        topic=(decision.get("content") or {}).get("topic"),
        lead_facts=lead_facts(ctx, lead, events),
        lead_messages=lead_messages(ctx, events),
        assets=[cited_asset(ctx, pick) for pick in state["picks"]],
        forbidden_terms=guardrails.forbidden_terms.get(stage, []),
        subject_max_chars=guardrails.subject_max_chars,
        body_max_words=guardrails.body_max_words,
        unsubscribe_line=unsubscribe_line(ctx, lead, run_moment(ctx, state)),
        feedback=state.get("feedback"),
        violations=[v["message"] for v in state.get("violations", [])],
        previous=previous,
        activities=lead_activities(ctx, events),
        industry=usable(lead.attributes.get("industry")),
        persona=persona_of(usable(lead.attributes.get("title"))),
        language=language_of(lead),
        lead_supplied=lead_supplied(lead, events),
        lead_data=lead_data(lead),
        style=draft_style(ctx.playbook, lead.id, stage),
    )


def lead_supplied(lead: Lead, events: list[Event]) -> list[str]:
    """Every string the lead or a CRM supplied: untrusted, whatever it says."""
    values: list[Any] = [lead.name, lead.company, *lead.attributes.values()]
    values += [v for event in events[-200:] for v in event.properties.values()]
    return list(dict.fromkeys(v for v in values if isinstance(v, str) and v.strip()))


def lead_data(lead: Lead) -> dict[str, str]:
    """The lead's fields as they were supplied, for the prompt's untrusted block."""
    fields = {"name": lead.name, "company": lead.company}
    fields.update({str(k): v for k, v in lead.attributes.items()})
    return {k: str(v)[:300] for k, v in fields.items() if v not in (None, "")}


def language_of(lead: Lead) -> str | None:
    for name, value in lead.attributes.items():
        if name.casefold() in _LANGUAGE_KEYS and isinstance(value, str) and value.strip():
            return value.strip()
    return None


def lead_activities(ctx: AgentContext, events: list[Event]) -> list[LeadActivity]:
    """What the lead did, newest first, each with the fact that states it (when listed)."""
    facts = lead_facts_by_event(ctx, events)
    timeline = Timeline(events, ctx.playbook, ctx.clock())
    now = ctx.clock()
    found = []
    for event in reversed(timeline.events):
        if event.signal not in _ACTIVITY:
            continue
        topic = usable(event.properties.get(ctx.playbook.content.topic_property), max_words=4)
        found.append(
            LeadActivity(
                signal=event.signal,
                topic=topic,
                days_ago=max(0, (now - event.occurred_at).days),
                fact=facts.get(event.event_id),
            )
        )
    return found


def lead_facts_by_event(ctx: AgentContext, events: list[Event]) -> dict[str, str]:
    timeline = Timeline(events, ctx.playbook, ctx.clock())
    recent = [e for e in reversed(timeline.events) if e.signal in _ACTIVITY][:3]
    return {e.event_id: _activity_fact(ctx, e) for e in recent}


def _activity_fact(ctx: AgentContext, event: SignalEvent) -> str:
    topic = event.properties.get(ctx.playbook.content.topic_property)
    return f"recently {_ACTIVITY[event.signal]}" + (f" on {topic}" if topic else "")


def guardrail_context(ctx: AgentContext, lead: Lead, request: DraftRequest) -> GuardrailContext:
    # Only what the system knows grounds a claim; the lead's own text supports only its own
    # verbatim mention (issue #16: an injected "90%" in a company field grounded a draft's 90%).
    grounding = [fact for asset in request.assets for fact in asset.facts]
    grounding += [asset.title for asset in request.assets]
    return GuardrailContext(
        stage=request.stage,
        forbidden_terms=request.forbidden_terms,
        subject_max_chars=request.subject_max_chars,
        body_max_words=request.body_max_words,
        unsubscribe_line=request.unsubscribe_line,
        grounding=grounding,
        cited_asset_ids={asset.asset_id for asset in request.assets},
        known_customers=ctx.customers,
        lead_email=lead.email,
        other_leads_named=lambda phrases: other_leads_named(ctx.db, lead.id, phrases),
        lead_supplied=request.lead_supplied,
    )


def unsubscribe_line(ctx: AgentContext, lead: Lead, at: datetime | None = None) -> str:
    """The line a draft must end with; its link signed as of `at` (default: now)."""
    url = unsubscribe_links(ctx.settings, ctx.db).url_for(lead.id, at or ctx.clock())
    return ctx.playbook.guardrails.unsubscribe_line.format(unsubscribe_url=url)


def run_moment(ctx: AgentContext, state: dict[str, Any]) -> datetime:
    """When the run decided: every request of one run (a draft, its revisions, the check of
    an edit) then asks for the same unsubscribe line, whatever the clock says meanwhile."""
    at = state.get("at")
    return datetime.fromisoformat(at) if isinstance(at, str) else ctx.clock()


def lead_facts(ctx: AgentContext, lead: Lead, events: list[Event]) -> list[str]:
    """True, plain statements about the lead a draft may personalise on."""
    facts = []
    attributes = lead.attributes
    if lead.company:
        facts.append(f"works at {lead.company}")
    if attributes.get("industry"):
        facts.append(f"{lead.company or 'their company'} is in {attributes['industry']}")
    if attributes.get("title"):
        facts.append(f"is {attributes['title']}")
    facts += lead_facts_by_event(ctx, events).values()
    return facts


def lead_messages(ctx: AgentContext, events: list[Event]) -> list[str]:
    messages = []
    for event in events[-50:]:
        for name in _MESSAGE_PROPERTIES:
            value = event.properties.get(name)
            if isinstance(value, str) and value.strip():
                messages.append(value.strip()[:2000])
    return messages[-5:]


def cited_asset(ctx: AgentContext, pick: dict[str, Any]) -> CitedAsset:
    asset = ctx.assets[pick["asset_id"]]
    return CitedAsset(
        asset_id=asset.id,
        title=asset.meta.title,
        kind=asset.meta.kind,
        url=asset.meta.url,
        summary=asset.meta.summary,
        facts=asset.meta.facts,
        passage=pick.get("chunk", ""),
        topics=list(asset.meta.topics),
        industries=list(asset.meta.industries),
        personas=list(asset.meta.personas),
    )
