"""Builds what a drafter sees and what a draft is checked against, from the lead, its timeline,
the decision and the retrieved content."""

from __future__ import annotations

from typing import Any

from agent.context import AgentContext
from agent.drafting.models import CitedAsset, DraftRequest, EmailDraft
from agent.guardrails import GuardrailContext
from agent.store.leads import other_leads_named
from agent.timeline import Event, Lead, Timeline

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
        first_name=(lead.name or "").split(" ")[0] or None,
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
        unsubscribe_line=unsubscribe_line(ctx, lead),
        feedback=state.get("feedback"),
        violations=[v["message"] for v in state.get("violations", [])],
        previous=previous,
    )


def guardrail_context(ctx: AgentContext, lead: Lead, request: DraftRequest) -> GuardrailContext:
    grounding = [fact for asset in request.assets for fact in asset.facts]
    grounding += [asset.title for asset in request.assets] + request.lead_facts
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
    )


def unsubscribe_line(ctx: AgentContext, lead: Lead) -> str:
    url = ctx.settings.unsubscribe_url.format(lead_id=lead.id)
    return ctx.playbook.guardrails.unsubscribe_line.format(unsubscribe_url=url)


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
    timeline = Timeline(events, ctx.playbook, ctx.clock())
    recent = [e for e in reversed(timeline.events) if e.signal in _ACTIVITY][:3]
    for event in recent:
        topic = event.properties.get(ctx.playbook.content.topic_property)
        facts.append(f"recently {_ACTIVITY[event.signal]}" + (f" on {topic}" if topic else ""))
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
