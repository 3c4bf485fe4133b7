"""Every draft-quality check passes a good draft and catches a specific bad one."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest

from agent.playbook import Playbook
from evals.checks import (
    ALL_CHECKS,
    CheckInput,
    CitedContent,
    Expectations,
    Thresholds,
    run_checks,
)
from evals.checks.wording import spam_phrases

UNSUBSCRIBE = "Not useful? Unsubscribe: https://routewise.example/unsubscribe/L1"
CASE_STUDY = CitedContent(
    asset_id="cs-northwind-route-optimisation",
    kind="case_study",
    text="How Northwind Freight cut empty miles by 18%\n"
    "Northwind Freight cut empty miles by 18% in the first six months with Routewise Plan.\n"
    "Northwind Freight raised on-time delivery from 91% to 97% with Routewise Plan.",
)
BLOG = CitedContent(
    asset_id="blog-hidden-cost-of-manual-route-planning",
    kind="blog",
    text="The hidden cost of planning routes on a spreadsheet\n"
    "Dispatchers at mid-size fleets commonly spend around 3 hours per depot each day building "
    "and adjusting routes by hand.",
)
GOOD_BODY = f"""Hi Dana,

As you compare options for route optimisation at Acme Haulage, here is how a team like yours \
handled it.

Northwind Freight cut empty miles by 18% in six months. On-time delivery rose from 91% to 97%.

Read the full story here:
https://routewise.example/customers/northwind-freight

Would a short call next week help?

Best regards,
The Routewise team

{UNSUBSCRIBE}"""
AWARENESS_BODY = f"""Hi Dana,

Since you have been reading about route planning at Acme Haulage, this might be useful.

Planning routes by hand takes around 3 hours per depot each day. Here is where that time goes.

Worth a read when you have five minutes:
https://routewise.example/blog/hidden-cost-of-manual-route-planning

Best regards,
The Routewise team

{UNSUBSCRIBE}"""

Bad = Callable[[CheckInput], CheckInput]


@pytest.fixture(scope="module")
def good(playbook: Playbook) -> CheckInput:
    """A consideration-stage case-study email that every check should pass."""
    return CheckInput(
        subject="How Northwind Freight cut empty miles by 18%",
        body=GOOD_BODY,
        cited_asset_ids=(CASE_STUDY.asset_id,),
        expect=Expectations(
            stage="consideration",
            action="send_email",
            personalise_on=("Acme Haulage", "route optimisation"),
            must_not_use=("discount", "50%"),
        ),
        stage="consideration",
        action="send_email",
        content_kinds=("case_study", "comparison", "roi"),
        lead_facts=(
            "works at Acme Haulage",
            "Acme Haulage is in logistics",
            "is Head of Transport",
            "recently read a case study on route optimisation",
        ),
        assets=(CASE_STUDY,),
        customers=frozenset({"Northwind Freight", "Contoso Foods", "Alpine Carriers"}),
        guardrails=playbook.guardrails,
        content=playbook.content,
        thresholds=Thresholds(readability_min=45),
    )


@pytest.fixture(scope="module")
def awareness(good: CheckInput) -> CheckInput:
    """An awareness-stage blog email: the stage with forbidden terms."""
    return replace(
        good,
        subject="Acme Haulage: the hidden cost of manual routes",
        body=AWARENESS_BODY,
        cited_asset_ids=(BLOG.asset_id,),
        expect=good.expect.model_copy(
            update={"stage": "awareness", "personalise_on": ("route planning",)}
        ),
        stage="awareness",
        content_kinds=("blog", "guide", "explainer"),
        assets=(BLOG,),
    )


def _body(old: str, new: str) -> Bad:
    def change(inp: CheckInput) -> CheckInput:
        assert old in inp.body, f"the good draft has no {old!r} to replace"
        return replace(inp, body=inp.body.replace(old, new))

    return change


# --- every check passes the good drafts ---------------------------------------------------------


@pytest.mark.parametrize("name", list(ALL_CHECKS))
def test_check_passes_the_good_consideration_draft(good: CheckInput, name: str) -> None:
    result = ALL_CHECKS[name](good)
    assert result.name == name
    assert result.passed, result.detail


@pytest.mark.parametrize("name", list(ALL_CHECKS))
def test_check_passes_the_good_awareness_draft(awareness: CheckInput, name: str) -> None:
    result = ALL_CHECKS[name](awareness)
    assert result.passed, result.detail


# --- each check catches a specific bad draft ----------------------------------------------------

BAD_DRAFTS: list[tuple[str, Bad, str]] = [
    (
        "action_and_stage",
        lambda i: replace(i, stage="interest"),
        "expected stage consideration, action send_email",
    ),
    (
        "action_and_stage",
        lambda i: replace(i, action="re_engage", content_kinds=("report", "guide", "webinar")),
        "action re_engage; expected",
    ),
    (
        "content_kind",
        lambda i: replace(
            i,
            cited_asset_ids=(BLOG.asset_id,),
            assets=(BLOG,),
        ),
        "cites blog-hidden-cost-of-manual-route-planning (blog)",
    ),
    (
        "content_kind",
        lambda i: replace(i, content_kinds=("faq",)),
        "the decision asked for faq",
    ),
    (
        "content_kind",
        lambda i: replace(i, cited_asset_ids=("cs-invented",)),
        "cites assets it was not given: cs-invented",
    ),
    (
        "content_kind",
        lambda i: replace(i, action="handoff_to_sales"),
        "action handoff_to_sales sends nothing, yet content was chosen",
    ),
    (
        "grounding",
        _body("cut empty miles by 18%", "cut empty miles by 25%"),
        "numbers not found in the cited content or the lead's timeline: 25",
    ),
    (
        "grounding",
        _body("Northwind Freight cut", "Contoso Foods cut"),
        "customers not named in the cited content: Contoso Foods",
    ),
    (
        "grounding",
        # the number is in an asset the draft was given but does not cite
        lambda i: replace(i, cited_asset_ids=()),
        "numbers not found",
    ),
    (
        "personalisation",
        _body("for route optimisation at Acme Haulage", "for your business"),
        "uses none of: Acme Haulage, route optimisation",
    ),
    (
        "subject_length",
        lambda i: replace(i, subject="How Northwind Freight cut empty miles by 18% " * 2),
        "89 characters; the limit is 60",
    ),
    ("subject_length", lambda i: replace(i, subject="   "), "the subject is empty"),
    (
        "body_length",
        _body("Would a short call", "Routewise plans routes. " * 45 + "Would a short call"),
        "195 words; the limit is 180",
    ),
    (
        "readability",
        _body(
            "Northwind Freight cut empty miles by 18% in six months.",
            "Notwithstanding organisational considerations, comprehensive operational "
            "optimisation methodologies necessitate substantial infrastructural "
            "reconfiguration, particularly regarding interdepartmental communication "
            "responsibilities and administrative accountability.",
        ),
        "below 45",
    ),
    (
        "spam_words",
        lambda i: replace(i, subject="Act NOW: guaranteed results"),
        "spam triggers: act now, guaranteed",
    ),
    ("spam_words", _body("Read the full", "Click here to read the full"), "click here"),
    ("unsubscribe", _body(f"\n\n{UNSUBSCRIBE}", ""), "the body does not end with"),
    (
        "unsubscribe",
        _body(f"\n\n{UNSUBSCRIBE}", f"\n\n{UNSUBSCRIBE}\n\nP.S. More soon."),
        "not as the last line",
    ),
    (
        "unsubscribe",
        # the template itself, never filled with a link
        _body(UNSUBSCRIBE, "Not useful? Unsubscribe: {unsubscribe_url}"),
        "without a link",
    ),
    (
        "call_to_action",
        # no link, no question, no ask: only the unsubscribe line's own '?' and link remain
        _body(
            "Read the full story here:\nhttps://routewise.example/customers/northwind-freight"
            "\n\nWould a short call next week help?",
            "The results held up over the year.",
        ),
        "no link, no question and no ask",
    ),
    ("placeholders", _body("Hi Dana,", "Hi {{first_name}},"), "{{first_name}}"),
    ("placeholders", _body("Hi Dana,", "Hi [First Name],"), "[First Name]"),
    ("placeholders", _body("Hi Dana,", "Hi {name},"), "{name}"),
    ("placeholders", _body("at Acme Haulage", "at <COMPANY>"), "<COMPANY>"),
    ("placeholders", _body("Best regards,", "TODO: sign-off"), "TODO"),
    ("placeholders", _body("Best regards,", "XXX"), "XXX"),
    (
        "must_not_use",
        _body("Would a short call", "We can offer a 50% discount. Would a short call"),
        "uses discount, 50%",
    ),
]


@pytest.mark.parametrize(
    ("name", "bad", "detail"),
    BAD_DRAFTS,
    ids=[f"{name}-{n}" for n, (name, _, _) in enumerate(BAD_DRAFTS)],
)
def test_check_catches_a_bad_draft(good: CheckInput, name: str, bad: Bad, detail: str) -> None:
    result = ALL_CHECKS[name](bad(good))
    assert not result.passed
    assert detail in result.detail


def test_every_check_has_a_bad_draft_it_catches() -> None:
    covered = {name for name, _, _ in BAD_DRAFTS} | {"stage_terms"}
    assert covered == set(ALL_CHECKS)


# --- details the table above does not show ------------------------------------------------------


def test_stage_terms_catch_pricing_talk_at_awareness(awareness: CheckInput) -> None:
    bad = _body("this might be useful.", "our pricing might be useful.")(awareness)
    result = ALL_CHECKS["stage_terms"](bad)
    assert not result.passed
    assert "at the awareness stage a draft may not mention: pricing" in result.detail


def test_stage_terms_match_whole_words_only(awareness: CheckInput) -> None:
    # "priceless" and "quoted" are not "price" and "quote"
    fine = _body("this might be useful.", "this priceless advice is widely quoted.")(awareness)
    assert ALL_CHECKS["stage_terms"](fine).passed


def test_stage_terms_allow_pricing_at_consideration(good: CheckInput) -> None:
    pricing = _body("Would a short call", "Our pricing page has the detail. Would a short call")
    assert ALL_CHECKS["stage_terms"](pricing(good)).passed


def test_personalisation_matches_case_and_punctuation_loosely(good: CheckInput) -> None:
    loose = _body("for route optimisation at Acme Haulage", "for ROUTE-optimisation")(good)
    result = ALL_CHECKS["personalisation"](loose)
    assert result.passed
    assert result.score == pytest.approx(0.5)


def test_personalisation_needs_whole_words(good: CheckInput) -> None:
    inp = replace(good, expect=good.expect.model_copy(update={"personalise_on": ("Acme",)}))
    partial = _body("at Acme Haulage", "at Acmeco Haulage")(inp)
    assert not ALL_CHECKS["personalisation"](partial).passed


def test_readability_reports_the_flesch_score(good: CheckInput) -> None:
    result = ALL_CHECKS["readability"](good)
    assert result.score is not None
    assert 45 <= result.score <= 121  # the formula's ceiling
    assert f"{result.score:.1f}" in result.detail


def test_readability_floor_comes_from_the_suite(good: CheckInput) -> None:
    strict = replace(good, thresholds=Thresholds(readability_min=120))
    assert not ALL_CHECKS["readability"](strict).passed


def test_lengths_are_reported_as_scores(good: CheckInput) -> None:
    assert ALL_CHECKS["subject_length"](good).score == len(good.subject)
    assert ALL_CHECKS["body_length"](good).score == len(good.body.split())


def test_must_not_use_does_not_match_inside_words(good: CheckInput) -> None:
    inp = replace(good, expect=good.expect.model_copy(update={"must_not_use": ("50%", "free")}))
    assert ALL_CHECKS["must_not_use"](_body("six months", "150% freedom months")(inp)).passed


def test_the_unsubscribe_line_is_not_a_call_to_action(good: CheckInput) -> None:
    only_unsubscribe = replace(good, body=f"Hi Dana,\n\nThanks for your time.\n\n{UNSUBSCRIBE}")
    assert not ALL_CHECKS["call_to_action"](only_unsubscribe).passed


@pytest.mark.parametrize(
    "ask",
    ["Book a time that suits you.", "Please reply with a good time.", "Join us on Thursday."],
)
def test_an_imperative_is_a_call_to_action(good: CheckInput, ask: str) -> None:
    inp = replace(good, body=f"Hi Dana,\n\nThe results held.\n\n{ask}\n\n{UNSUBSCRIBE}")
    result = ALL_CHECKS["call_to_action"](inp)
    assert result.passed
    assert "an ask" in result.detail


def test_spam_list_is_loaded_without_comments() -> None:
    phrases = spam_phrases()
    assert {"act now", "100% free", "risk-free", "guaranteed", "click here", "winner"} <= set(
        phrases
    )
    assert not [p for p in phrases if p.startswith("#")]


def test_run_checks_runs_every_check_in_order(good: CheckInput) -> None:
    results = run_checks(good)
    assert [r.name for r in results] == list(ALL_CHECKS)
    assert all(r.passed for r in results), [r for r in results if not r.passed]
