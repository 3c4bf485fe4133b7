"""Every route × every role: no key is 401 (or the login page), a role the route does not
admit is 403, an admitted role gets past the gate. The table below is the access policy; a
route missing from it fails the test, so a new route cannot ship without a decision."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.routing import APIRoute

from agent.store.api_keys import ROLES
from tests.utils.service import Service

PUBLIC = {
    ("GET", "/health"),
    ("GET", "/ready"),
    ("GET", "/login"),
    ("POST", "/login"),
    ("POST", "/logout"),
    ("GET", "/"),
}
SIGNED = {
    # no API key: the provider's signature, the inbound secret or the signed token is the
    # credential (tests/api/test_mail_webhooks.py, test_inbound_replies.py,
    # test_unsubscribe_page.py)
    ("POST", "/v1/webhooks/sendgrid"),
    ("POST", "/v1/webhooks/mailgun"),
    ("POST", "/v1/webhooks/mail"),
    ("POST", "/v1/inbound/postmark"),
    ("POST", "/v1/inbound/postmark/{secret}"),
    ("POST", "/v1/inbound/sendgrid"),
    ("POST", "/v1/inbound/sendgrid/{secret}"),
    ("GET", "/unsubscribe/{token}"),
    ("POST", "/unsubscribe/{token}"),
}
READ = {"admin", "marketer", "rep"}
POLICY: dict[tuple[str, str], set[str]] = {
    ("GET", "/metrics"): {"admin"},
    ("POST", "/v1/leads"): {"admin", "marketer"},
    ("PUT", "/v1/leads/{lead_id:id}"): {"admin", "marketer"},
    ("GET", "/v1/leads"): READ,
    ("GET", "/v1/leads/{lead_id:id}"): READ,
    ("GET", "/v1/leads/{lead_id:id}/next"): READ,
    ("POST", "/v1/leads/{lead_id:id}/drafts"): READ,
    ("GET", "/v1/runs/{thread_id:id}"): READ,
    ("GET", "/v1/leads/{lead_id:id}/sends"): READ,
    ("GET", "/v1/accounts/{account_id:id}"): READ,
    ("POST", "/v1/events"): {"admin", "ingest"},
    ("POST", "/v1/events/batch"): {"admin", "ingest"},
    ("GET", "/v1/ingest/rejections"): {"admin", "ingest", "marketer"},
    # the Segment Tracking API: the write key is an ingest key
    ("POST", "/segment/v1/batch"): {"admin", "ingest"},
    ("POST", "/segment/v1/track"): {"admin", "ingest"},
    ("POST", "/segment/v1/identify"): {"admin", "ingest"},
    ("POST", "/segment/v1/page"): {"admin", "ingest"},
    ("POST", "/segment/v1/alias"): {"admin", "ingest"},
    ("GET", "/v1/approvals"): READ,
    ("GET", "/v1/approvals/{approval_id:id}"): READ,
    ("POST", "/v1/approvals/{approval_id:id}/decision"): {"admin", "marketer"},
    ("GET", "/v1/sends"): READ,
    ("POST", "/v1/sends/{approval_id:id}/retry"): {"admin", "marketer"},
    ("POST", "/v1/sends/{approval_id:id}/resolution"): {"admin", "marketer"},
    ("POST", "/v1/sends/{approval_id:id}/cancel"): {"admin", "marketer"},  # 404: no send yet
    # hand-offs: reps act on their own (a 403 from the desk, tested in test_handoffs_api.py)
    ("GET", "/v1/handoffs"): READ,
    ("POST", "/v1/handoffs/{handoff_id:id}/accept"): READ,
    ("POST", "/v1/handoffs/{handoff_id:id}/recycle"): READ,
    ("POST", "/v1/handoffs/{handoff_id:id}/close"): READ,
    ("GET", "/v1/content/search"): READ,
    ("GET", "/v1/playbook"): READ,
    ("GET", "/v1/analytics/summary"): READ,
    ("GET", "/v1/experiments"): READ,
    ("GET", "/v1/playbook/versions"): READ,
    ("POST", "/v1/playbook/validate"): {"admin", "marketer"},  # marketers own the playbook
    ("POST", "/v1/playbook/preview"): {"admin", "marketer"},
    ("GET", "/v1/playbook/previews/{preview_id}"): {"admin", "marketer"},
    ("POST", "/v1/playbook/activate"): {"admin"},
    # the inbox pages
    ("GET", "/inbox"): READ,
    ("GET", "/inbox/{approval_id:id}"): READ,
    ("POST", "/inbox/{approval_id:id}/approve"): {"admin", "marketer"},
    ("POST", "/inbox/{approval_id:id}/respond"): {"admin", "marketer"},
    ("POST", "/inbox/{approval_id:id}/discard"): {"admin", "marketer"},
    ("POST", "/inbox/sends/{approval_id:id}/cancel"): {"admin", "marketer"},
    ("GET", "/leads"): READ,
    ("GET", "/analytics"): READ,
    ("GET", "/playbook/preview"): {"admin", "marketer"},
    ("POST", "/playbook/preview"): {"admin", "marketer"},  # changes nothing: 422 without yaml
    ("GET", "/playbook/previews/{preview_id}"): {"admin", "marketer"},
    ("GET", "/leads/{lead_id:id}"): READ,
    ("GET", "/accounts/{account_id:id}"): READ,
    ("GET", "/experiments"): READ,
    ("GET", "/inbox/handoffs"): READ,
    ("POST", "/inbox/handoffs/{handoff_id:id}/{move}"): READ,
}
# Requests that would pass validation; a refused one must be refused before it does anything.
QUERY = {"/v1/content/search": {"stage": "interest"}}
BODY: dict[str, Any] = {
    "/v1/leads": [],
    "/v1/leads/{lead_id}": {"email": "dana@northwind.example"},
    "/v1/events": {"lead_id": "nobody"},
    "/v1/events/batch": [],
    "/v1/approvals/{approval_id}/decision": {"answer": "edit", "subject": "x"},  # 422 if let in
    "/v1/sends/{approval_id:id}/resolution": {"resolution": "delivered"},  # 404: no send yet
    "/v1/playbook/validate": {"yaml": "version: x"},
    "/v1/playbook/activate": {"yaml": "version: x"},
    "/v1/playbook/preview": {"yaml": "version: x"},
}


def routes(service: Service) -> list[tuple[str, str]]:
    found = list(_walk(service.client.app.routes, ""))  # type: ignore[attr-defined]
    assert len(found) >= len(POLICY)  # the walk must see the routes, or this test proves nothing
    return found


def _walk(routes: list[Any], prefix: str) -> Iterator[tuple[str, str]]:
    """The app's routes, through included routers (FastAPI ≥ 0.16x keeps them nested)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield from ((method, prefix + route.path) for method in sorted(route.methods or ()))
        elif hasattr(route, "original_router"):
            context = route.include_context
            yield from _walk(route.original_router.routes, prefix + getattr(context, "prefix", ""))


def test_every_route_has_a_policy(service: Service) -> None:
    unknown = [r for r in routes(service) if r not in POLICY and r not in PUBLIC | SIGNED]
    assert unknown == []
    assert set(POLICY) <= set(routes(service))


WRONG_KEY = "wrong key"  # a well-formed key that is not stored: 401 (or the login page)


@pytest.fixture(autouse=True)
def _no_brute_force_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    """The walk presents a wrong key to every route: far more than the per-minute limit."""
    monkeypatch.setenv("NURTURE_AUTH_FAILURES_PER_MINUTE", "100000")
    monkeypatch.setenv("NURTURE_AUTH_FAILURES_PER_KEY_PER_MINUTE", "100000")


@pytest.mark.parametrize("role", [None, WRONG_KEY, *ROLES])
def test_every_route_for_every_role(service: Service, role: str | None) -> None:
    seen = []
    for method, template in routes(service):
        if (method, template) in PUBLIC | SIGNED:
            continue
        path = (
            template.replace("{lead_id:id}", "L1")
            .replace("{approval_id:id}", service.approval_id)
            .replace("{thread_id:id}", "L1:nothing")
        )
        kwargs: dict[str, Any] = {"params": QUERY.get(template, {}), "follow_redirects": False}
        if method in ("POST", "PUT"):
            if template.startswith("/inbox"):
                kwargs["data"] = {"approval_id": "not-this-one"}  # 400 if let in: changes nothing
            else:
                kwargs["json"] = BODY.get(template, {})
        if role == WRONG_KEY:
            wrong = {"Authorization": "Bearer nk_0123456789ab_not-the-secret"}
            response = service.client.request(method, path, headers=wrong, **kwargs)
        else:
            response = service.call(method, path, role, **kwargs)
        allowed = POLICY[(method, template)]
        page = not template.startswith(("/v1", "/metrics", "/segment"))
        if role is None or role == WRONG_KEY:
            expected = {303} if page else {401}
        elif role not in allowed:
            expected = {403}
        else:
            expected = None
        status = response.status_code
        ok = status in expected if expected else status not in (401, 403) and status < 500
        seen.append((method, template, status, ok))
    refused = [s for s in seen if not s[3]]
    assert refused == [], f"as {role}: {refused}"
    # nothing a refused caller sent changed anything
    assert (
        service.call("GET", f"/v1/approvals/{service.approval_id}", "rep").json()["status"]
        == "pending"
    )
    assert service.world.delivered() == []


def test_an_api_key_does_not_open_a_signed_route(service: Service) -> None:
    """Without its own credential a signed route refuses even an admin key, and records
    nothing (404 while its key is not configured, as here; 401 with it, shown elsewhere)."""
    for method, template in sorted(SIGNED):
        path = template.replace("{secret}", "guess").replace("{token}", "L1")
        response = service.call(method, path, "admin", json=[])
        assert response.status_code in (400, 401, 404), (method, template, response.text)
    assert service.world.delivered() == []


def test_marketers_check_the_playbook_and_only_admins_put_it_in_force(service: Service) -> None:
    candidate = {"yaml": "version: x\nsignals: 3\n"}
    checked = service.call("POST", "/v1/playbook/validate", "marketer", json=candidate)
    assert checked.status_code == 200 and checked.json()["valid"] is False
    assert (
        service.call("POST", "/v1/playbook/activate", "marketer", json=candidate).status_code == 403
    )
