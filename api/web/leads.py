"""The reps' leads page: find a lead by part of its name, email or company, narrow by stage,
action, heat and CRM owner, highest recorded score first, a page at a time."""

from __future__ import annotations

from dataclasses import dataclass
from typing import get_args
from urllib.parse import urlencode

from sqlalchemy import select

from agent.playbook.models import STAGES, Action
from agent.store.database import Database
from agent.store.decisions import LeadFilter, leads_by_score
from agent.store.schema import LeadDecisionRow, LeadRow
from agent.store.values import UNSHOWABLE

PER_PAGE = 50
ACTIONS: tuple[str, ...] = get_args(Action)


@dataclass(frozen=True, slots=True)
class LeadSearch:
    """What the form asked for; values the form cannot produce are dropped, not refused, as
    the inbox's stage filter does (a hand-edited link still shows a list)."""

    q: str = ""
    stage: str = ""
    action: str = ""
    hot: str = ""
    owner: str = ""
    page: int = 1

    def cleaned(self) -> LeadSearch:
        return LeadSearch(
            q=_storable(self.q).strip()[:200],
            stage=self.stage if self.stage in STAGES else "",
            action=self.action if self.action in ACTIONS else "",
            hot=self.hot if self.hot in ("true", "false") else "",
            owner=_storable(self.owner).strip()[:320],
            page=max(self.page, 1),
        )

    def store_filter(self) -> LeadFilter:
        return LeadFilter(
            q=self.q or None,
            stage=self.stage or None,
            action=self.action or None,
            hot={"true": True, "false": False}.get(self.hot),
            owner=self.owner or None,
            limit=PER_PAGE,
        )

    def link(self, page: int) -> str:
        fields = {
            "q": self.q,
            "stage": self.stage,
            "action": self.action,
            "hot": self.hot,
            "owner": self.owner,
        }
        query = {name: value for name, value in fields.items() if value}
        if page > 1:
            query["page"] = str(page)
        return "/leads" + (f"?{urlencode(query)}" if query else "")


def _storable(text: str) -> str:
    """Without NUL and lone surrogates, which no lead's text holds and PostgreSQL cannot
    compare: a pasted NUL must not turn the page into an error."""
    return UNSHOWABLE.sub("", text)


@dataclass(frozen=True, slots=True)
class LeadsPage:
    search: LeadSearch
    rows: list[tuple[LeadRow, LeadDecisionRow | None]]
    total: int
    owners: list[str]
    stages: tuple[str, ...]
    actions: tuple[str, ...]
    first: int
    """The position of the first row shown (1-based)."""
    previous_link: str | None
    next_link: str | None


def leads_page(db: Database, asked: LeadSearch) -> LeadsPage:
    search = asked.cleaned()
    rows, total = leads_by_score(db, search.store_filter(), offset=(search.page - 1) * PER_PAGE)
    shown_to = (search.page - 1) * PER_PAGE + len(rows)
    return LeadsPage(
        search=search,
        rows=rows,
        total=total,
        owners=lead_owners(db),
        stages=STAGES,
        actions=ACTIONS,
        first=(search.page - 1) * PER_PAGE + 1,
        previous_link=search.link(search.page - 1) if search.page > 1 else None,
        next_link=search.link(search.page + 1) if shown_to < total else None,
    )


def lead_owners(db: Database) -> list[str]:
    """Every owner the CRM imports named, for the owner filter (an indexed column)."""
    query = (
        select(LeadRow.owner).where(LeadRow.owner.is_not(None)).distinct().order_by(LeadRow.owner)
    )
    with db.session() as session:
        return [owner for owner in session.scalars(query) if owner]
