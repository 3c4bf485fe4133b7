"""Lead upsert: validated per lead, keyed by the lead id, fit score derived on write."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from sqlalchemy import Select, func, or_, select

from agent.accounts import account_of
from agent.contact import says_do_not_contact
from agent.playbook import Playbook, fingerprint
from agent.scoring import fit_score
from agent.store.database import Database
from agent.store.lead_ids import route_shadowing_problem
from agent.store.schema import LeadRow
from agent.store.upsert import upsert
from agent.store.values import printable_id, storable_json, storable_keys, storable_text
from agent.timeline import Lead

if TYPE_CHECKING:
    from agent.store.ingest import IngestReport

AttributeValue = str | int | float | bool | None


class LeadFields(BaseModel):
    """What a client says about a lead (the API's PUT takes the id from the path)."""

    # NaN and Infinity would be stored but could never be read back as JSON
    # defer_build: built on first use, so that reading leads (`nurture next`) does not import
    # the email validator (~20 ms) that only writing them needs
    model_config = ConfigDict(
        extra="forbid", str_strip_whitespace=True, allow_inf_nan=False, defer_build=True
    )

    email: EmailStr
    name: str | None = Field(default=None, max_length=200)
    company: str | None = Field(default=None, max_length=200)
    attributes: dict[str, AttributeValue] = Field(
        default_factory=dict, description="industry, employees, title, country, ..."
    )
    owner: str | None = Field(
        default=None,
        max_length=320,
        description="The lead's owner in the CRM (a rep's email or name): hand-offs go to them.",
    )
    do_not_contact: bool = Field(
        default=False,
        description="Also true when an attribute says so (do_not_contact, unsubscribed, "
        "email_opt_out, HasOptedOutOfEmail, hs_email_optout, ...): any source that says "
        "do-not-contact wins.",
    )

    @model_validator(mode="before")
    @classmethod
    def _storable_keys(cls, value: object) -> object:
        return storable_keys(value)

    # before pydantic's own checks: they would refuse a lone surrogate without a usable reason
    # (and once per member of AttributeValue), and let NUL through to PostgreSQL
    @field_validator("email", "name", "company", "owner", mode="before")
    @classmethod
    def _storable_text(cls, value: object) -> object:
        return storable_text(value)

    @field_validator("attributes", mode="before")
    @classmethod
    def _storable(cls, value: object) -> object:
        return storable_json(value)

    @model_validator(mode="after")
    def _do_not_contact_wins(self) -> LeadFields:
        # stored as the column too, so the lead list shows what the decisions act on
        self.do_not_contact = says_do_not_contact(self.do_not_contact, self.attributes)
        return self


class LeadIn(LeadFields):
    """One lead as a client sends it."""

    id: str = Field(min_length=1, max_length=128)

    @field_validator("id", mode="before")
    @classmethod
    def _storable_id(cls, value: object) -> object:
        return storable_text(value)

    @field_validator("id")
    @classmethod
    def _printable_and_routable(cls, value: str) -> str:
        printable_id(value)  # after trimming: surrounding whitespace is trimmed, not refused
        problem = route_shadowing_problem(value)
        if problem:
            raise ValueError(problem)
        return value

    def to_lead(self) -> Lead:
        return Lead(
            self.id,
            str(self.email),
            self.name,
            self.company,
            self.attributes,
            self.do_not_contact,
            self.owner,
        )


def upsert_leads(
    db: Database,
    items: Sequence[object],  # parsed JSON: an item may be any value, and is refused alone
    playbook: Playbook,
    *,
    now: datetime | None = None,
) -> IngestReport:
    # ingest's event models are for writing: `nurture next` reads leads through this module
    from agent.store.ingest import IngestReport, ItemResult, reported_id, validation_reason

    now = now or datetime.now(UTC)
    derived_by = fingerprint(playbook)
    report = IngestReport()
    rows: dict[str, dict[str, Any]] = {}
    for index, raw in enumerate(items):
        try:
            lead = LeadIn.model_validate(raw)
        except ValidationError as exc:
            report.results.append(
                ItemResult(index, reported_id(raw), "rejected", validation_reason(exc))
            )
            continue
        rows[lead.id] = {  # a later line for the same lead wins, as an update would
            **lead.model_dump(mode="json"),
            "account": account_of(lead.to_lead()),
            "fit_points": fit_score(lead.to_lead(), playbook).points,
            "derived_by": derived_by,
            "created_at": now,
            "updated_at": now,
        }
        report.results.append(ItemResult(index, lead.id, "stored"))
    with db.session() as session:
        upsert(session, LeadRow, list(rows.values()), keep=("created_at",))
    return report


def load_lead(db: Database, lead_id: str) -> Lead | None:
    with db.session() as session:
        row = session.get(LeadRow, lead_id)
        return None if row is None else row_to_lead(row)


def row_to_lead(row: LeadRow) -> Lead:
    return Lead(
        row.id, row.email, row.name, row.company, row.attributes, row.do_not_contact, row.owner
    )


def lead_ids_by_email(db: Database, emails: Iterable[str]) -> dict[str, list[str]]:
    """The ids of the leads with each address, compared case-insensitively (keys are lower
    case). An address missing from the result names no lead; two ids mean it is ambiguous."""
    wanted = {email.strip().lower() for email in emails if email and email.strip()}
    found: dict[str, list[str]] = {}
    if not wanted:
        return found
    with db.session() as session:
        for chunk in _chunks(sorted(wanted), 500):
            rows = session.execute(
                select(func.lower(LeadRow.email), LeadRow.id)
                .where(func.lower(LeadRow.email).in_(chunk))
                .order_by(LeadRow.id)
            )
            for email, lead_id in rows:
                found.setdefault(email, []).append(lead_id)
    return found


def _chunks(values: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def all_lead_ids(db: Database) -> list[str]:
    with db.session() as session:
        return list(session.scalars(select(LeadRow.id).order_by(LeadRow.id)))


def other_leads_named(db: Database, lead_id: str, phrases: list[str]) -> list[str]:
    """Which of `phrases` are the name or company of a lead other than `lead_id` (and not this
    lead's own name or company: two leads may work at the same company)."""
    candidates = [p for p in phrases if len(p) >= 4][:500]
    if not candidates:
        return []
    with db.session() as session:
        own = session.get(LeadRow, lead_id)
        mine = {own.name, own.company} if own else set()
        rows = session.execute(leads_named_query(lead_id, candidates)).all()
    found = {value for row in rows for value in row if value in candidates}
    return sorted(found - mine)


def leads_named_query(lead_id: str, phrases: list[str]) -> Select[str | None, str | None]:
    """Name and company of the leads other than `lead_id` named by one of `phrases`."""
    return select(LeadRow.name, LeadRow.company).where(
        LeadRow.id != lead_id, or_(LeadRow.name.in_(phrases), LeadRow.company.in_(phrases))
    )
