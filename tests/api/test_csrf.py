"""CSRF on the cookie-authenticated inbox: a signed-in browser's cookie goes along with a form
another page on the same host posts (SameSite does not separate ports), so every unsafe request
authenticated by the cookie needs this session's token and must not come from another origin.
Key headers are outside it: a browser never attaches them by itself."""

from __future__ import annotations

import base64
import re
from typing import Any

import pytest

from agent.store.approvals import get_approval
from tests.utils.service import Service

TOKEN_FIELD = re.compile(r'<input type="hidden" name="csrf_token" value="([^"]+)">')
FOREIGN = "http://127.0.0.1:1"  # the same host on another port: same site, another origin


def sign_in(service: Service, role: str = "marketer") -> None:
    response = service.client.post(
        "/login", data={"key": service.keys[role]}, follow_redirects=False
    )
    assert response.status_code == 303, response.text


def page_token(service: Service) -> str:
    match = TOKEN_FIELD.search(service.client.get(f"/inbox/{service.approval_id}").text)
    assert match, "the draft page carries no CSRF token"
    return match.group(1)


def discard(
    service: Service,
    headers: dict[str, str] | None = None,
    form: dict[str, str] | None = None,
    **fields: str,
) -> Any:
    return service.client.post(
        f"/inbox/{service.approval_id}/discard",
        data={"approval_id": service.approval_id, **(form or {}), **fields},
        headers=headers or {},
        follow_redirects=False,
    )


def assert_unchanged(service: Service) -> None:
    assert get_approval(service.world.agent.ctx.db, service.approval_id).status == "pending"
    assert service.world.delivered() == []


def test_a_signed_in_form_post_without_the_token_is_refused(service: Service) -> None:
    sign_in(service)
    forms: list[dict[str, str]] = [{}, {"csrf_token": ""}, {"csrf_token": "0" * 64}]
    for form in forms:
        response = discard(service, form=form)
        assert response.status_code == 403, (form, response.status_code)
        assert "text/html" in response.headers["content-type"]
        assert "Nothing was changed" in response.text
    assert_unchanged(service)


def test_the_token_of_another_session_is_refused(service: Service) -> None:
    sign_in(service, "admin")
    admins = page_token(service)
    sign_in(service, "marketer")
    assert page_token(service) != admins
    assert discard(service, csrf_token=admins).status_code == 403
    assert_unchanged(service)


def test_the_right_token_works(service: Service) -> None:
    sign_in(service)
    response = discard(service, csrf_token=page_token(service))
    assert response.status_code == 303 and response.headers["location"].startswith("/inbox")
    assert get_approval(service.world.agent.ctx.db, service.approval_id).status == "ignored"


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": FOREIGN},
        {"Origin": "null"},
        {"Sec-Fetch-Site": "same-site"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Origin": "https://testserver"},  # another scheme is another origin
    ],
)
def test_a_post_from_another_origin_is_refused_even_with_the_token(
    service: Service, headers: dict[str, str]
) -> None:
    sign_in(service)
    response = discard(service, headers=headers, csrf_token=page_token(service))
    assert response.status_code == 403
    assert "another site" in response.text and "Nothing was changed" in response.text
    assert_unchanged(service)


def test_a_post_from_this_origin_passes_the_origin_check(service: Service) -> None:
    sign_in(service)
    headers = {"Origin": "http://testserver", "Sec-Fetch-Site": "same-origin"}
    assert discard(service, headers=headers, csrf_token=page_token(service)).status_code == 303


def test_signing_in_from_another_origin_is_refused(service: Service) -> None:
    response = service.client.post(
        "/login",
        data={"key": service.keys["marketer"]},
        headers={"Origin": FOREIGN, "Sec-Fetch-Site": "same-site"},
        follow_redirects=False,
    )
    assert response.status_code == 403 and "another site" in response.text
    assert "set-cookie" not in response.headers


def test_every_signed_in_form_carries_the_token(service: Service) -> None:
    sign_in(service)
    pages = [f"/inbox/{service.approval_id}", "/inbox", "/leads/L1"]
    seen = 0
    for path in pages:
        html = service.client.get(path).text
        for form in re.findall(r'<form[^>]*method="post".*?</form>', html, re.S):
            assert TOKEN_FIELD.search(form), f"a form on {path} has no token: {form[:120]}"
            seen += 1
    assert seen >= 5  # approve, respond, discard and sign out on the draft page, sign out elsewhere


def test_signing_out_needs_the_token(service: Service) -> None:
    sign_in(service)
    token = page_token(service)
    assert service.client.post("/logout", follow_redirects=False).status_code == 403
    assert service.client.get("/inbox", follow_redirects=False).status_code == 200
    out = service.client.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    assert out.status_code == 303
    assert service.client.get("/inbox", follow_redirects=False).status_code == 303


def test_the_api_with_the_cookie_needs_the_token_too(service: Service) -> None:
    """/v1 accepts the cookie as well: a same-site page could start draft runs with it."""
    sign_in(service)
    refused = service.client.post("/v1/leads/L1/drafts")
    assert refused.status_code == 403 and "token" in refused.json()["detail"]
    token = page_token(service)
    # another draft for L1 is 409 (one is waiting): past the check, and nothing started twice
    allowed = service.client.post("/v1/leads/L1/drafts", headers={"X-CSRF-Token": token})
    assert allowed.status_code == 409


def test_key_headers_are_outside_the_check(service: Service) -> None:
    """Scripts send the key themselves; no token, no Origin needed (the browser cannot forge
    an Authorization header across origins)."""
    response = discard(service, headers=service.as_("marketer"))
    assert response.status_code == 303
    assert get_approval(service.world.agent.ctx.db, service.approval_id).status == "ignored"


def test_a_basic_login_is_origin_checked_but_needs_no_token(service: Service) -> None:
    """A browser may replay a Basic login it cached, so a foreign origin is refused; scripts
    using Basic send no Origin and no token, and pass."""
    password = base64.b64encode(f"mara:{service.keys['marketer']}".encode()).decode()
    headers = {"Authorization": f"Basic {password}"}
    foreign = discard(service, headers={**headers, "Origin": FOREIGN})
    assert foreign.status_code == 403 and "another site" in foreign.text
    assert_unchanged(service)
    assert discard(service, headers=headers).status_code == 303
    assert get_approval(service.world.agent.ctx.db, service.approval_id).status == "ignored"
