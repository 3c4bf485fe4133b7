"""Persistence: SQLite by default, PostgreSQL when NURTURE_DATABASE_URL points at one."""

from agent.store.database import Database

__all__ = ["Database"]
