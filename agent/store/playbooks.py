"""Playbooks activated through the service. The newest row is in force; the file named by
settings is only the starting point until someone activates another version."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from agent.errors import NurtureError
from agent.playbook import Playbook, load_playbook, parse_playbook
from agent.settings import Settings
from agent.store.database import Database
from agent.store.schema import PlaybookVersionRow


def activate_playbook(db: Database, text: str, *, by: str, at: datetime) -> Playbook:
    """Validates `text` and puts it in force. A version name is never reused for other rules:
    a decision that says "playbook X" must mean one set of rules."""
    playbook = parse_playbook(text, source="the candidate playbook")
    with db.session() as session:
        existing = session.get(PlaybookVersionRow, playbook.version)
        if existing is not None and existing.text != text:
            raise NurtureError(
                f"version '{playbook.version}' was activated before with other rules; "
                "give this playbook a new version"
            )
        if existing is None:
            session.add(
                PlaybookVersionRow(
                    version=playbook.version, text=text, activated_by=by, activated_at=at
                )
            )
        else:
            existing.activated_by, existing.activated_at = by, at
    return playbook


def active_playbook(db: Database) -> Playbook | None:
    """The playbook last activated, or None when none ever was (use the configured file)."""
    with db.session() as session:
        row = session.scalars(
            select(PlaybookVersionRow).order_by(PlaybookVersionRow.activated_at.desc()).limit(1)
        ).first()
    return None if row is None else parse_playbook(row.text, source=f"playbook {row.version}")


def playbook_in_force(db: Database, settings: Settings) -> Playbook:
    """What decides now: the last activated playbook, else the configured file."""
    return active_playbook(db) or load_playbook(settings.playbook)


def playbook_history(db: Database) -> list[PlaybookVersionRow]:
    with db.session() as session:
        return list(
            session.scalars(
                select(PlaybookVersionRow).order_by(PlaybookVersionRow.activated_at.desc())
            )
        )
