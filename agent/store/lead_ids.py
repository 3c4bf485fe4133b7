"""Lead ids that cannot be told apart from a route below a lead.

Ids from CRMs may hold '/', and Starlette routes on the decoded path, so `/v1/leads/a%2Fnext`
and `/v1/leads/a/next` are the same request: a lead whose id ends in `/next` could be stored but
never read. Such ids are refused wherever a lead id arrives (API, batch, CLI import).

Every route under a lead (`/v1/leads/{id}/<name>`, `/leads/{id}/<name>`) must have its name
here; tests/api/test_bad_input.py checks the app's routes against this set. Names of routes
planned by later issues are reserved already, so adding the route never shadows a stored lead.
"""

from __future__ import annotations

RESERVED_LEAD_SUFFIXES = frozenset(
    {
        # routes today
        "drafts",
        "next",
        "sends",
        # routes planned or likely: reserved before any lead can take them
        "account",
        "activity",
        "approvals",
        "decisions",
        "events",
        "experiments",
        "handoffs",
        "history",
        "messages",
        "notes",
        "preview",
        "replies",
        "runs",
        "score",
        "timeline",
        "unsubscribe",
    }
)


def route_shadowing_problem(lead_id: str) -> str | None:
    """Why this id would be read as another route, if it would. Only the last segment after a
    '/' matters: `next/acme` routes fine, and a bare `next` cannot match `{id}/next`."""
    head, slash, last = lead_id.rpartition("/")
    if slash and head and last in RESERVED_LEAD_SUFFIXES:
        return (
            f"the last '/'-segment {last!r} is reserved: /v1/leads/{{id}}/{last} is another "
            "route, so this lead could be stored but never read"
        )
    return None
