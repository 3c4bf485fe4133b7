"""A number in a draft is grounded only by the same number with the same unit, scale and
currency in the cited content or the lead's timeline (the drafter cannot turn "2.4 quintillion"
into "2.4 million", or "24 weeks" into "24 months")."""

from __future__ import annotations

import pytest

from agent.drafting.models import EmailDraft
from agent.guardrails import GuardrailContext, check_draft
from agent.quantities import quantities, ungrounded

SOURCE = [
    "A single vehicle with 20 stops can be sequenced in more than 2.4 quintillion ways.",
    "Payback within 24 weeks for fleets of 50 trucks; empty miles fell 18% (91% to 97% on time).",
    "Saved $50,000 across 4,200 deliveries.",
]


@pytest.mark.parametrize(
    ("draft", "stray"),
    [
        ("20 stops can be sequenced in 2.4 million ways.", ["2.4 million"]),
        ("Payback within 24 months.", ["24 months"]),
        ("Cut costs by 50 %.", ["50 %"]),
        ("Save $50k a year.", ["$50k"]),
        ("Save twenty percent.", ["twenty percent"]),
        ("Empty miles fell by 18 million.", ["18 million"]),
        ("Live in 97 days.", ["97 days"]),
        ("Over 5,000 deliveries.", ["5,000"]),
    ],
)
def test_a_changed_unit_scale_or_number_is_caught(draft: str, stray: list[str]) -> None:
    assert ungrounded(draft, SOURCE) == stray


@pytest.mark.parametrize(
    "draft",
    [
        "20 stops, 2.4 quintillion ways.",
        "A 24-week payback for 50 trucks.",
        "Empty miles fell 18 %, and on-time rose from 91% to 97%.",
        "Empty miles fell 18 percent.",
        "$50,000 saved over 4200 deliveries.",
        "Worth a read when you have five minutes.",
    ],
)
def test_the_same_quantity_written_another_way_is_grounded(draft: str) -> None:
    assert ungrounded(draft, SOURCE) == []


def test_units_and_scales_are_normalised() -> None:
    [pct, money, weeks] = quantities("18 per cent, €3.5bn, 6-weeks")
    assert (pct.number, pct.unit) == ("18", "%")
    assert (money.currency, money.number, money.unit) == ("€", "3.5", "billion")
    assert (weeks.number, weeks.unit) == ("6", "week")


def test_the_guardrail_reports_the_quantity_as_written() -> None:
    ctx = GuardrailContext(
        stage="consideration",
        forbidden_terms=[],
        subject_max_chars=80,
        body_max_words=200,
        unsubscribe_line="Unsubscribe: https://x.example/u",
        grounding=SOURCE,
        cited_asset_ids={"a1"},
        known_customers=set(),
        lead_email="dana@northwind.example",
        other_leads_named=lambda phrases: [],
    )
    draft = EmailDraft(
        subject="Routes",
        body="Planning 20 stops has 2.4 million options.\n\nUnsubscribe: https://x.example/u",
        cited_asset_ids=["a1"],
    )
    [violation] = [v for v in check_draft(draft, ctx) if v.rule == "guardrail.grounding"]
    assert violation.message.endswith(": 2.4 million")
