"""The account page: the account's score, stage and engaged contacts, its contacts with their
roles, scores and stages (each linked to their lead page), and its recent events across
contacts. Linked from every lead page that has an account."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from agent.store.accounts import load_account
from api.deps import StateDep
from api.routes.pages import path_part
from api.web.render import PageProblem, PageRoute, Viewer, render

router = APIRouter(tags=["inbox"], include_in_schema=False, route_class=PageRoute)


@router.get("/accounts/{account_id:id}")
def account_page(request: Request, account_id: str, principal: Viewer, state: StateDep) -> Response:
    ctx = state.agent.ctx
    policy = ctx.playbook.accounts
    account = load_account(ctx.db, account_id, ctx.playbook, ctx.clock())
    if account is None:
        raise PageProblem(404, "No such account", f"No lead belongs to account '{account_id}'.")
    context = {
        "principal": principal,
        "csrf_token": state.csrf.token(principal.key_id),
        "path_part": path_part,
        "playbook_version": ctx.playbook.version,
        "flash": None,
        "account": account,
        "policy": policy,
        "now": ctx.clock(),
    }
    return render(request, "account.html", context)
