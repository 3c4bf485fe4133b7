"""Tables. Changing one means adding an Alembic migration under migrations/versions/."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, Float, ForeignKey, Index, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

JsonDict = JSON().with_variant(JSONB(), "postgresql")


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware in Python, UTC in the database (SQLite has no time zones of its own)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: a time zone is required")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    def result_processor(self, dialect: Dialect, coltype: object) -> Any:
        if dialect.name != "sqlite":
            return super().result_processor(dialect, coltype)

        # SQLite holds our UTC values as ISO text: parse them with their zone in one C call
        # (timelines read thousands; the generic parse-then-replace path was the hot spot).
        def parse(value: str | None) -> datetime | None:
            return None if value is None else datetime.fromisoformat(value + "+00:00")

        return parse


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JsonDict, datetime: UTCDateTime}


class LeadRow(Base):
    __tablename__ = "leads"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    email: Mapped[str] = mapped_column(String(320))
    name: Mapped[str | None] = mapped_column(String(200))
    company: Mapped[str | None] = mapped_column(String(200))
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    do_not_contact: Mapped[bool] = mapped_column(Boolean, default=False)
    # Derived by the playbook whose fingerprint is in derived_by; re-derived when it changes.
    fit_points: Mapped[float | None] = mapped_column(Float)
    derived_by: Mapped[str | None] = mapped_column(String(16), index=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class EventRow(Base):
    __tablename__ = "events"
    __table_args__ = (
        # Covers the timeline read and the bulk re-score without touching the table itself.
        Index("ix_events_lead_time", "lead_id", "occurred_at", "points", "half_life_days"),
    )

    id: Mapped[str] = mapped_column(String(160), primary_key=True)
    lead_id: Mapped[str] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(64))
    occurred_at: Mapped[datetime]
    properties: Mapped[dict[str, Any]] = mapped_column(default=dict)
    received_at: Mapped[datetime]
    signal: Mapped[str | None] = mapped_column(String(64))
    points: Mapped[float | None] = mapped_column(Float)
    half_life_days: Mapped[float | None] = mapped_column(Float)
    derived_by: Mapped[str | None] = mapped_column(String(16), index=True)


class LeadScoreRow(Base):
    __tablename__ = "lead_scores"
    __table_args__ = (Index("ix_lead_scores_hot_total", "hot", "total"),)

    lead_id: Mapped[str] = mapped_column(
        ForeignKey("leads.id", ondelete="CASCADE"), primary_key=True
    )
    attribute: Mapped[float] = mapped_column(Float)
    behaviour: Mapped[float] = mapped_column(Float)
    total: Mapped[float] = mapped_column(Float)
    hot: Mapped[bool] = mapped_column(Boolean)
    scored_at: Mapped[datetime]
    playbook_version: Mapped[str] = mapped_column(String(64))
