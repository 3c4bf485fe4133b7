"""The demo's hand-made account cases, beside its generated cast: a buying committee the CRM
groups with an explicit `account_id` although its contacts write from three domains, whose
three contacts read within two weeks (so the playbook's accounts.handoff hands the account to
sales though none is hot on its own), and prospects writing from free mail (gmail.com,
yahoo.com), who belong to no account."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

COMMITTEE_ACCOUNT = "orbis-group"
"""The CRM's account id of the committee: its contacts' domains differ."""

# (name, email, title, company, [(days ago, type, properties)])
_Case = tuple[str, str, str, str, list[tuple[float, str, dict[str, Any]]]]

_COMMITTEE: tuple[_Case, ...] = (
    (
        "Elif Demir",
        "elif.demir@orbisfreight.de",
        "VP Logistics",
        "Orbis Freight",
        [
            (
                1.5,
                "case_study_view",
                {
                    "completion": 0.8,
                    "topic": "route optimisation",
                    "asset_id": "cs-oakridge-route-optimisation",
                },
            )
        ],
    ),
    (
        "Tom Hale",
        "tom.hale@orbis-logistics.co.uk",
        "Fleet Manager",
        "Orbis Logistics",
        [(4.2, "webinar_attended", {"webinar": "route-optimisation-live-qa"})],
    ),
    (
        "Ines Vidal",
        "ines.vidal@orbisgroup.es",
        "Transport Planner",
        "Orbis Group",
        [
            (
                9.3,
                "case_study_view",
                {
                    "completion": 0.5,
                    "topic": "route optimisation",
                    "asset_id": "cs-northwind-route-optimisation",
                },
            )
        ],
    ),
)
_FREE_MAIL: tuple[_Case, ...] = (
    (
        "Sam Porter",
        "sam.porter.haulage@gmail.com",
        "Owner-Operator",
        "Porter Haulage",
        [(3.1, "blog_view", {"url": "/blog/freight-audit-basics", "topic": "carrier invoicing"})],
    ),
    (
        "Lena Vogt",
        "lena.vogt@yahoo.com",
        "Logistics Coordinator",
        "Vogt Transporte",
        [(6.4, "blog_view", {"url": "/blog/hours-of-service-rules", "topic": "compliance"})],
    ),
    (
        "Raj Mehta",
        "raj.mehta.freight@gmail.com",
        "Dispatcher",
        "Mehta Freight",
        [(11.8, "blog_view", {"url": "/blog/safety-stock-formula", "topic": "demand forecasting"})],
    ),
)

_COUNTRY = {"de": "Germany", "uk": "United Kingdom", "es": "Spain", "com": "United States"}

COUNT = len(_COMMITTEE) + len(_FREE_MAIL)
EXPECTED_RULE = "send.stage_content"
"""What each of them alone would get: one case study read or one webinar attended is no buying
signal; three colleagues doing so within two weeks is a committee (accounts.engaged_signals)."""


def account_cases(
    first_id: int, now: datetime
) -> list[tuple[dict[str, Any], list[dict[str, Any]]]]:
    """(lead, events) for each case, as import-format dicts, ids from lead-{first_id:04d}."""
    cases = [(case, True) for case in _COMMITTEE] + [(case, False) for case in _FREE_MAIL]
    return [
        _records(f"lead-{n:04d}", case, in_committee, now)
        for n, (case, in_committee) in enumerate(cases, start=first_id)
    ]


def _records(
    lead_id: str, case: _Case, in_committee: bool, now: datetime
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    name, email, title, company, events = case
    attributes: dict[str, Any] = {
        "industry": "logistics",
        "employees": 900,
        "title": title,
        "country": _COUNTRY[email.rpartition(".")[2]],
    }
    if in_committee:
        attributes["account_id"] = COMMITTEE_ACCOUNT
    lead = {
        "id": lead_id,
        "email": email,
        "name": name,
        "company": company,
        "attributes": attributes,
        "do_not_contact": False,
    }
    return lead, [
        {
            "id": f"{lead_id}-e{n:03d}",
            "lead_id": lead_id,
            "type": type_,
            "occurred_at": (now - timedelta(days=age)).replace(microsecond=0).isoformat(),
            "properties": properties,
        }
        for n, (age, type_, properties) in enumerate(events, start=1)
    ]
