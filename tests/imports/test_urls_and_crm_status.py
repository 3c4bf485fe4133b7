"""Full URLs score like paths, their utm_* values are properties, and the CRM's status decides."""

from __future__ import annotations

from agent.playbook import Playbook
from agent.playbook.models import EventMapping, PropertyCondition
from agent.timeline import classify
from agent.web_urls import with_url_parts
from tests.utils.timelines import decide_now, ev, lead, rules_of

PRICING_URL = "https://routewise.example/pricing?utm_source=newsletter&utm_campaign=nov"


def test_a_full_url_in_path_is_a_pricing_view_and_scores_as_one(playbook: Playbook) -> None:
    d = decide_now(playbook, [ev("page_view", 3, path=PRICING_URL)])
    [contribution] = d.score.contributions or []
    assert contribution.type == "pricing_page_view"
    assert contribution.points == playbook.signals["pricing_page_view"].points


def test_two_full_url_pricing_views_in_a_week_go_to_sales(playbook: Playbook) -> None:
    events = [
        ev("page_view", 3, path=PRICING_URL),
        ev("page_view", 1, url="https://www.routewise.example/pricing/enterprise#faq"),
    ]
    d = decide_now(playbook, events)
    assert rules_of(d)[0] == "handoff.pricing_twice"


def test_a_url_on_another_page_is_still_a_site_visit(playbook: Playbook) -> None:
    assert classify("page_view", {"path": "https://routewise.example/about"}, playbook) == (
        "site_visit"
    )
    assert classify("page_view", {"path": "/blog/x?utm_source=li"}, playbook) == "blog_view"


def test_utm_values_of_the_query_can_be_used_in_conditions(playbook: Playbook) -> None:
    newsletter = PropertyCondition.model_validate(
        {"property": "utm_source", "equals": "newsletter"}
    )
    pricing = playbook.event_mappings[0]
    tuned = playbook.model_copy(
        update={
            "event_mappings": [
                replace_where(pricing, [*pricing.where, newsletter]),
                *playbook.event_mappings[1:],
            ]
        }
    )
    assert classify("page_view", {"path": PRICING_URL}, tuned) == "pricing_page_view"
    other = "https://routewise.example/pricing?utm_source=linkedin"
    assert classify("page_view", {"path": other}, tuned) == "site_visit"


def replace_where(mapping: EventMapping, where: list[PropertyCondition]) -> EventMapping:
    return mapping.model_copy(update={"where": where})


def test_a_customer_is_not_nurtured_and_the_rule_says_why(playbook: Playbook) -> None:
    d = decide_now(playbook, [ev("webinar_attended", 3)], lead(lifecycle_stage="Customer"))
    assert (d.action, rules_of(d)[0]) == ("suppress", "suppress.customer")
    assert "customer" in d.reasons[0].text.lower()


def test_a_non_marketing_contact_is_not_nurtured(playbook: Playbook) -> None:
    d = decide_now(playbook, [ev("webinar_attended", 3)], lead(marketing_contact=False))
    assert (d.action, rules_of(d)[0]) == ("suppress", "suppress.non_marketing")
    nurtured = decide_now(playbook, [ev("webinar_attended", 3)], lead(marketing_contact=True))
    assert nurtured.action == "send_email"
    lead_ = decide_now(playbook, [ev("webinar_attended", 3)], lead(lifecycle_stage="lead"))
    assert lead_.action == "send_email"


def test_what_an_event_sent_is_kept_beside_the_path_rules_read() -> None:
    assert with_url_parts({"path": "/pricing?plan=pro"}) == {
        "path": "/pricing",
        "url": "/pricing?plan=pro",
    }
    own = {"path": "https://routewise.example/a?utm_source=x", "url": "u", "utm_source": "mine"}
    assert with_url_parts(own) == {"path": "/a", "url": "u", "utm_source": "mine"}
    plain = {"path": "/pricing"}
    assert with_url_parts(plain) is plain
