"""Checks the agent's own guardrails also enforce (stage terms, grounding, placeholders), run
through `agent.guardrails.check_draft` so an eval can never disagree with production about what a
violation is. The eval changes the grounding: claims must trace to the assets the draft actually
cites (title, summary, facts and passage); lead-supplied text supports only its own verbatim
mention (agent.guardrails.without_lead_text). And it is stricter
about placeholders, adding its own detector for the slot syntaxes the guardrail lets through."""

from __future__ import annotations

from agent.drafting.models import EmailDraft
from agent.guardrails import GuardrailContext, check_draft
from evals.checks.model import CheckInput, CheckResult
from evals.checks.text import find_placeholders


def _violations(inp: CheckInput, rule: str) -> list[str]:
    guardrails = inp.guardrails
    ctx = GuardrailContext(
        stage=inp.stage,
        forbidden_terms=guardrails.forbidden_terms.get(inp.stage, []),
        subject_max_chars=guardrails.subject_max_chars,
        body_max_words=guardrails.body_max_words,
        unsubscribe_line=guardrails.unsubscribe_line,
        # what the system knows (the cited assets); the lead's own text grounds only itself
        grounding=[a.text for a in inp.cited()],
        cited_asset_ids=set(inp.cited_asset_ids),
        known_customers=set(inp.customers),
        lead_email="",
        lead_supplied=list(inp.lead_supplied),
    )
    draft = EmailDraft(
        subject=inp.subject, body=inp.body, cited_asset_ids=list(inp.cited_asset_ids)
    )
    return [v.message for v in check_draft(draft, ctx) if v.rule == rule]


def stage_terms(inp: CheckInput) -> CheckResult:
    found = _violations(inp, "guardrail.stage_terms")
    if found:
        return CheckResult("stage_terms", False, "; ".join(found))
    terms = inp.guardrails.forbidden_terms.get(inp.stage, [])
    detail = f"none of {len(terms)} terms forbidden at {inp.stage}" if terms else "none forbidden"
    return CheckResult("stage_terms", True, detail)


def grounding(inp: CheckInput) -> CheckResult:
    found = _violations(inp, "guardrail.grounding")
    if found:
        return CheckResult("grounding", False, "; ".join(found))
    return CheckResult(
        "grounding", True, "every number and customer traces to cited content or lead facts"
    )


def placeholders(inp: CheckInput) -> CheckResult:
    # the agent's guardrail, then the eval's stricter detector for what it lets through
    found = _violations(inp, "guardrail.placeholders")
    reported = " ".join(found)
    more = [p for p in find_placeholders(inp.text) if p not in reported]
    if more:
        found.append(f"unfilled placeholders the guardrail missed: {', '.join(more)}")
    if found:
        return CheckResult("placeholders", False, "; ".join(found))
    return CheckResult("placeholders", True, "no unfilled placeholders")
