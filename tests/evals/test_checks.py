"""Every draft-quality check passes a good draft and catches a specific bad one."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from agent.playbook import Playbook
from evals.checks import (
    ALL_CHECKS,
    Activity,
    CheckInput,
    CitedContent,
    Expectations,
    Thresholds,
    run_checks,
)
from evals.checks.text import find_placeholders, phrase_pattern
from evals.checks.wording import spam_phrases

UNSUBSCRIBE = "Not useful? Unsubscribe: https://routewise.example/unsubscribe/L1"
CASE_STUDY = CitedContent(
    asset_id="cs-northwind-route-optimisation",
    kind="case_study",
    text="How Northwind Freight cut empty miles by 18%\n"
    "Northwind Freight cut empty miles by 18% in the first six months with Routewise Plan.\n"
    "Northwind Freight raised on-time delivery from 91% to 97% with Routewise Plan.",
    topics=("route optimisation",),
    industries=("logistics",),
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
        activities=(
            Activity("blog_view", "route planning"),
            Activity("case_study_view", "route optimisation"),
        ),
        lead_industry="logistics",
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
        "no ask aimed at the reader",
    ),
    (
        "call_to_action",
        # a bare link tells the reader nothing to do
        _body(
            "Read the full story here:\nhttps://routewise.example/customers/northwind-freight"
            "\n\nWould a short call next week help?",
            "https://routewise.example/customers/northwind-freight",
        ),
        "a bare link or a rhetorical question does not count",
    ),
    ("placeholders", _body("Hi Dana,", "Hi {{first_name}},"), "{{first_name}}"),
    ("placeholders", _body("Hi Dana,", "Hi [First Name],"), "[First Name]"),
    ("placeholders", _body("Hi Dana,", "Hi {name},"), "{name}"),
    ("placeholders", _body("at Acme Haulage", "at <COMPANY>"), "<COMPANY>"),
    ("placeholders", _body("Best regards,", "TODO: sign-off"), "TODO"),
    ("placeholders", _body("Best regards,", "XXX"), "XXX"),
    # what the agent's guardrail lets through, the eval's own detector catches
    ("placeholders", _body("at Acme Haulage", "at [Company Name]"), "[Company Name]"),
    ("placeholders", _body("Hi Dana,", "Hi *|FNAME|*,"), "*|FNAME|*"),
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
    # the checks of issue #16 are caught on the real drafts it quotes, in test_reader_checks.py
    reader = {"subject_quality", "hook_evidence", "asset_topic", "peer_match", "facts_used"}
    covered = {name for name, _, _ in BAD_DRAFTS} | {"stage_terms", "injection"} | reader
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


# --- call to action: an ask aimed at the reader, not just a link or a question mark -------------

LINK = "https://routewise.example/customers/northwind-freight"


def _with_ask(inp: CheckInput, ask: str) -> CheckInput:
    return replace(inp, body=f"Hi Dana,\n\nThe results held.\n\n{ask}\n\n{UNSUBSCRIBE}")


@pytest.mark.parametrize(
    "not_an_ask",
    [
        LINK,
        f"Here it is:\n{LINK}",
        "Did you know fleets waste time?",
        "Hi again, did you know fleets waste time?",
        "Have you ever wondered why routes slip?",
        "Can routing be automated?",
        "See you around.",
        "Read by 2,000 planners.",
        "Reply rates rose 20%.",
        "Book value rose.",
    ],
)
def test_a_link_or_a_rhetorical_question_is_not_a_call_to_action(
    good: CheckInput, not_an_ask: str
) -> None:
    result = ALL_CHECKS["call_to_action"](_with_ask(good, not_an_ask))
    assert not result.passed, result.detail
    assert "no ask aimed at the reader" in result.detail


@pytest.mark.parametrize(
    "ask",
    [
        # the shipped template's calls to action (prompts/email_template.yaml), each with its link
        f"Worth a read when you have five minutes:\n{LINK}",
        f"You can read it here:\n{LINK}",
        f"The full story is here:\n{LINK}",
        f"Everything is here, and I am happy to walk your team through it:\n{LINK}",
        # questions put to the reader
        "Would a 20-minute call help?",
        "What time suits you?",
        "Should we talk next week?",
        "Is it worth a quick chat?",
        "Are you free on Tuesday?",
        # imperatives and invitations
        f"See how Northwind did it: {LINK}",
        f"Take a look: {LINK}",
        "Let me know if this is useful.",
        "Get in touch any time.",
        f"Download the guide: {LINK}",
        "Reply.",
        "I'd love to show you how it works.",
        f"Here is the link: {LINK}",
    ],
)
def test_an_ask_aimed_at_the_reader_is_a_call_to_action(good: CheckInput, ask: str) -> None:
    result = ALL_CHECKS["call_to_action"](_with_ask(good, ask))
    assert result.passed, result.detail


def _shipped_calls_to_action() -> list[str]:
    """Every call to action of the shipped template: one per stage, and the kinds' own."""
    shipped = Path(__file__).parents[2] / "prompts" / "email_template.yaml"
    ctas = yaml.safe_load(shipped.read_text(encoding="utf-8"))["calls_to_action"]
    return [*ctas.pop("default").values(), *ctas.values()]


@pytest.mark.parametrize("cta", _shipped_calls_to_action())
def test_the_shipped_template_calls_to_action_pass_on_their_own(good: CheckInput, cta: str) -> None:
    result = ALL_CHECKS["call_to_action"](_with_ask(good, f"{cta}\n{LINK}"))
    assert result.passed, result.detail


def test_the_call_to_action_detail_names_the_ask(good: CheckInput) -> None:
    result = ALL_CHECKS["call_to_action"](good)
    assert "a question ('Would a short call next week help?')" in result.detail
    assert "an ask ('Read the full story here')" in result.detail
    assert "a link" not in result.detail  # a link is not an ask, so it is not listed as one


# --- placeholders: the eval's detector is stricter than the agent's guardrail ------------------


@pytest.mark.parametrize(
    "slot",
    [
        "[Company Name]",
        "[Your Name]",
        "[Name of customer]",
        "[Date]",
        "[link]",
        "<first name>",
        "{{first_name",
        "*|FNAME|*",
        "%FIRSTNAME%",
        "$first_name",
        "{" + "customer's most recent activity, in their own words" + "}",
    ],
)
def test_placeholders_catch_every_slot_syntax(good: CheckInput, slot: str) -> None:
    bad = _body("Best regards,", f"Signed on {slot}. Best regards,")(good)
    result = ALL_CHECKS["placeholders"](bad)
    assert not result.passed
    assert slot[:20] in result.detail


def test_placeholders_catch_slots_in_the_subject(good: CheckInput) -> None:
    result = ALL_CHECKS["placeholders"](replace(good, subject="A note for [Company Name]"))
    assert not result.passed
    assert "[Company Name]" in result.detail


@pytest.mark.parametrize(
    "fine",
    [
        "See note [1] on page 2.",
        "[read it](https://routewise.example/blog/a)",
        "It costs $99 a month and saves 50% of the time.",
        "https://routewise.example/blog/route%20planning%E2%80%99s-cost",
        "Not useful? Unsubscribe: https://routewise.example/unsubscribe?lead=L-aw-01",
    ],
)
def test_placeholders_leave_ordinary_text_alone(good: CheckInput, fine: str) -> None:
    assert find_placeholders(fine) == []
    assert ALL_CHECKS["placeholders"](_body("Best regards,", f"{fine}\nBest regards,")(good)).passed


def test_a_long_placeholder_is_shown_by_its_start() -> None:
    [found] = find_placeholders("Hi {" + "x" * 80 + "},")
    assert found.startswith("{xxx") and len(found) == 40


# --- phrase matching: the same word however it is written ---------------------------------------


@pytest.mark.parametrize(
    ("text", "caught"),
    [
        ("We have discounted rates.", "discount"),
        ("Ask about our discounts.", "discount"),
        ("Save 50 percent off.", "50%"),
        ("Save 50 per cent off.", "50%"),
        ("Save 50 % off.", "50%"),
        ("Here is our price-list.", "price list"),
        ("Here are our price lists.", "price list"),
        ("Book demos today.", "demo"),
        ("We demoed it last week.", "demo"),
    ],
)
def test_must_not_use_catches_variants(good: CheckInput, text: str, caught: str) -> None:
    banned = ("discount", "50%", "price list", "demo")
    inp = replace(good, expect=good.expect.model_copy(update={"must_not_use": banned}))
    result = ALL_CHECKS["must_not_use"](
        _body("Would a short call", f"{text} Would a short call")(inp)
    )
    assert not result.passed
    assert result.detail == f"uses {caught}"


@pytest.mark.parametrize(
    "text",
    [
        "We demonstrate it live.",  # "demo" is a word, not a prefix
        "A 150% rise.",  # "50%" is not inside "150%"
        "The list price is fixed.",  # the words of "price list" in another order
        "Discountenance is not a word we use.",
    ],
)
def test_must_not_use_keeps_whole_words(good: CheckInput, text: str) -> None:
    banned = ("discount", "50%", "price list", "demo")
    inp = replace(good, expect=good.expect.model_copy(update={"must_not_use": banned}))
    result = ALL_CHECKS["must_not_use"](
        _body("Would a short call", f"{text} Would a short call")(inp)
    )
    assert result.passed, result.detail


@pytest.mark.parametrize(
    ("text", "caught"),
    [
        ("Don\u2019t delete this email.", "don't delete"),
        ("Dont delete this email.", "don't delete"),
        ("It is risk free.", "risk-free"),
        ("A risk \u2013 free trial.", "risk-free"),
        ("You have been   selected.", "you have been selected"),
    ],
)
def test_spam_words_catch_variants(good: CheckInput, text: str, caught: str) -> None:
    result = ALL_CHECKS["spam_words"](
        _body("Would a short call", f"{text} Would a short call")(good)
    )
    assert not result.passed
    assert caught in result.detail


def test_phrase_pattern_inflects_only_the_last_word() -> None:
    assert phrase_pattern("price list").search("price listed")
    assert not phrase_pattern("price list").search("priced list")
    assert phrase_pattern("reply").search("replied")
    assert phrase_pattern("price").search("pricing")
    assert not phrase_pattern("a").search("as")  # short words take no inflection


# --- personalisation: what the reader reads, not what a link spells ------------------------------


def test_personalisation_ignores_facts_inside_links(awareness: CheckInput) -> None:
    # the link spells "route planning"; the prose no longer does
    assert "route-planning" in awareness.body
    linked_only = _body("reading about route planning at", "reading about routing at")(awareness)
    result = ALL_CHECKS["personalisation"](linked_only)
    assert not result.passed, result.detail
    assert result.detail == "uses none of: route planning"


def test_personalisation_ignores_the_unsubscribe_link(good: CheckInput) -> None:
    inp = replace(good, expect=good.expect.model_copy(update={"personalise_on": ("L1",)}))
    assert not ALL_CHECKS["personalisation"](inp).passed


def test_personalisation_counts_the_subject(awareness: CheckInput) -> None:
    inp = replace(
        _body("reading about route planning at", "reading about routing at")(awareness),
        subject="Route planning at Acme Haulage",
    )
    assert ALL_CHECKS["personalisation"](inp).passed
