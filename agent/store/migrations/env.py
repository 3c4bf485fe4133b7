"""Alembic environment: runs on the connection the application hands over, or on the URL from
settings when invoked as `alembic` from the command line."""

from alembic import context
from sqlalchemy import create_engine
from sqlalchemy.engine import Connection

from agent.settings import get_settings
from agent.store.schema import Base

target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


def _url() -> str:
    return context.config.get_main_option("sqlalchemy.url") or get_settings().resolved_database_url


if context.is_offline_mode():
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    given = context.config.attributes.get("connection")
    if given is not None:
        _run(given)
    else:
        with create_engine(_url()).begin() as connection:
            _run(connection)
