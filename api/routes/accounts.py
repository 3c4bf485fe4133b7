"""Accounts (buying committees): one account with its contacts, their roles, scores and stages,
the account's score, stage and engaged contacts, and its recent events across contacts."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, status
from pydantic import BaseModel, Field

from agent.account_roles import Role
from agent.playbook.models import Stage
from agent.store.accounts import Account, load_account
from agent.store.api_keys import Principal
from api.deps import StateDep, require
from api.schemas import AUTH_ERRORS, errors

router = APIRouter(prefix="/v1", tags=["accounts"], responses=AUTH_ERRORS)

Reader = Annotated[Principal, Depends(require("rep", "marketer"))]


class ContactOut(BaseModel):
    lead_id: str
    name: str | None
    email: str
    title: str | None
    role: Role = Field(description="From the title: decision_maker, influencer, user, unknown.")
    score: float | None = Field(description="The latest stored score; null if never scored.")
    stage: Stage | None = Field(description="The latest recorded decision's stage, if any.")
    last_event_at: datetime | None
    engaged_at: datetime | None = Field(
        description="The contact's latest engaging signal (the playbook's "
        "accounts.engaged_signals): what makes it count as engaged."
    )


class AccountHandoffOut(BaseModel):
    id: str
    lead_id: str = Field(description="The contact handed over for the account.")
    rule: str
    state: str = Field(description="new, delivered, accepted, recycled or closed.")
    webhook_status: str
    created_at: datetime
    assigned_to: str | None


class AccountEventOut(BaseModel):
    lead_id: str
    event_id: str
    type: str
    signal: str | None
    occurred_at: datetime
    properties: dict[str, Any]


class AccountOut(BaseModel):
    id: str
    score: float = Field(description="The contacts' scores combined as the playbook says.")
    score_rule: str = Field(description="The playbook's accounts.score: max or sum.")
    stage: Stage | None = Field(description="The furthest stage any contact has reached.")
    engaged_contacts: int
    engaged_within_days: float
    handoff: str | None = Field(
        description="Why the account should go to sales now (the playbook's accounts.handoff), "
        "if it should; `nurture run` hands its best contact over (see handoff_record)."
    )
    handoff_record: AccountHandoffOut | None = Field(
        description="The hand-off sales holds for the account (new, delivered, accepted), else "
        "its latest; null if no contact of the account was ever handed over."
    )
    contacts: list[ContactOut] = Field(description="Best-scored first.")
    timeline: list[AccountEventOut] = Field(description="Recent events, newest first.")


@router.get("/accounts/{account_id:id}", response_model=AccountOut, responses=errors(404))
def get_account(account_id: str, state: StateDep, _: Reader) -> AccountOut:
    ctx = state.agent.ctx
    account = load_account(ctx.db, account_id, ctx.playbook, ctx.clock())
    if account is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no lead belongs to account '{account_id}'")
    return account_out(
        account, ctx.playbook.accounts.score, ctx.playbook.accounts.engaged_within_days
    )


def account_out(account: Account, score_rule: str, engaged_within_days: float) -> AccountOut:
    return AccountOut(
        id=account.id,
        score=account.standing.score,
        score_rule=score_rule,
        stage=account.standing.stage,
        engaged_contacts=account.standing.engaged_contacts,
        engaged_within_days=engaged_within_days,
        handoff=account.standing.handoff,
        handoff_record=(
            AccountHandoffOut.model_validate(account.handoff, from_attributes=True)
            if account.handoff
            else None
        ),
        contacts=[
            ContactOut(
                lead_id=c.lead.id,
                name=c.lead.name,
                email=c.lead.email,
                title=_title(c.lead.attributes.get("title")),
                role=c.role,
                score=c.standing.score,
                stage=c.standing.stage,
                last_event_at=c.standing.last_event_at,
                engaged_at=c.standing.engaged_at,
            )
            for c in account.contacts
        ],
        timeline=[
            AccountEventOut(
                lead_id=e.lead_id,
                event_id=e.event_id,
                type=e.type,
                signal=e.signal,
                occurred_at=e.occurred_at,
                properties=e.properties,
            )
            for e in account.timeline
        ],
    )


def _title(value: object) -> str | None:
    return value if isinstance(value, str) else None
