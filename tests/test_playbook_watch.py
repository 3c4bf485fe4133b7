"""An activated playbook reaches every process within seconds, and decisions carry the version
they were made with. Cross-process cases run real `nurture serve` and `nurture` processes."""

from __future__ import annotations

import threading
import time
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from sqlalchemy import text

from agent.context import AgentContext
from agent.playbook import Playbook, load_playbook, parse_playbook
from agent.settings import DEFAULT_PLAYBOOK, Settings
from agent.store import Database
from agent.store.api_keys import create_key
from agent.store.ingest import ingest_events
from agent.store.leads import upsert_leads
from agent.store.playbooks import activate_playbook
from agent.store.schema import LeadDecisionRow
from tests.conftest import POSTGRES_URL
from tests.utils.agent_world import DANA, WHITEPAPER, World
from tests.utils.replicas import fresh_postgres, nurture_env, nurture_serve, run_cli

NEEDS_POSTGRES = pytest.mark.skipif(
    not POSTGRES_URL,
    reason="PostgreSQL tests need NURTURE_TEST_DATABASE_URL "
    "(e.g. postgresql+psycopg://postgres@127.0.0.1:5432/postgres)",
)
FILE_VERSION = load_playbook(DEFAULT_PLAYBOOK).version
REACH_SECONDS = 5.0


def candidate(version: str, hot_threshold: int = 10) -> str:
    """The shipped playbook under another version, with a threshold that makes Dana hot."""
    data = yaml.safe_load(DEFAULT_PLAYBOOK.read_text(encoding="utf-8"))
    data["version"] = version
    data["scoring"]["hot_threshold"] = hot_threshold
    return yaml.safe_dump(data, sort_keys=False)


def seed(url: str) -> dict[str, str]:
    """Migrates the database at `url`, stores Dana and her timeline; returns an API key per
    role used here."""
    db = Database(url)
    db.migrate()
    playbook = load_playbook(DEFAULT_PLAYBOOK)
    now = datetime.now(UTC)
    upsert_leads(db, [DANA], playbook)
    events = [
        {
            "id": f"L1-{n}",
            "lead_id": "L1",
            "type": type_,
            "occurred_at": (now - timedelta(days=days)).isoformat(),
            "properties": props,
        }
        for n, (type_, days, props) in enumerate(WHITEPAPER)
    ]
    assert not ingest_events(db, events, playbook).rejected
    keys = {role: create_key(db, name=f"{role}-1", role=role, at=now) for role in ("admin", "rep")}
    db.dispose()
    return keys


def next_action(base: str, key: str) -> dict[str, Any]:
    answer = httpx.get(
        f"{base}/v1/leads/L1/next", headers={"Authorization": f"Bearer {key}"}, timeout=10
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


def wait_for_version(base: str, key: str, version: str, since: float) -> dict[str, Any]:
    """The decision of `base` once it carries `version`; fails after REACH_SECONDS."""
    while True:
        decision = next_action(base, key)
        elapsed = time.monotonic() - since
        if decision["playbook_version"] == version:
            return decision
        assert elapsed < REACH_SECONDS, (
            f"{base} still decides with {decision['playbook_version']} "
            f"{elapsed:.1f} s after {version} was activated"
        )
        time.sleep(0.1)


def test_a_cli_activation_reaches_a_running_serve_on_sqlite(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'nurture.db'}"
    keys = seed(url)
    env = nurture_env(database_url=url, data_dir=str(tmp_path / "data"), sweep_seconds="0")
    with nurture_serve(env, tmp_path / "serve.log") as base:
        before = next_action(base, keys["rep"])
        assert before["playbook_version"] == FILE_VERSION and before["score"]["hot"] is False
        (tmp_path / "new.yaml").write_text(candidate("cli-2"), encoding="utf-8")
        activated = run_cli(env, "playbook", "activate", str(tmp_path / "new.yaml"))
        assert activated.returncode == 0, activated.stderr
        after = wait_for_version(base, keys["rep"], "cli-2", since=time.monotonic())
        assert after["score"]["hot"] is True  # the new rules decide, not only the new label


@pytest.mark.postgres
@NEEDS_POSTGRES
def test_an_activation_through_one_replica_reaches_the_other_on_postgresql(
    tmp_path: Path,
) -> None:
    assert POSTGRES_URL
    with fresh_postgres(POSTGRES_URL) as url, ExitStack() as replicas:
        keys = seed(url)
        a, b = (
            replicas.enter_context(
                nurture_serve(
                    nurture_env(database_url=url, data_dir=str(tmp_path / name), sweep_seconds="0"),
                    tmp_path / f"{name}.log",
                )
            )
            for name in ("a", "b")
        )
        before = next_action(b, keys["rep"])
        assert before["playbook_version"] == FILE_VERSION and before["score"]["hot"] is False
        answer = httpx.post(
            f"{a}/v1/playbook/activate",
            json={"yaml": candidate("replica-2")},
            headers={"Authorization": f"Bearer {keys['admin']}"},
            timeout=30,
        )
        assert answer.status_code == 200, answer.text
        after = wait_for_version(b, keys["rep"], "replica-2", since=time.monotonic())
        assert after["score"]["hot"] is True


def bare_context(db: Database, settings: Settings) -> AgentContext:
    """What the watch needs of a context: the store, the settings and the playbook."""
    return AgentContext(
        settings=settings,
        db=db,
        playbook=load_playbook(DEFAULT_PLAYBOOK),
        collection=None,
        assets={},
        customers=set(),
        drafter=None,  # type: ignore[arg-type]
        sender=None,  # type: ignore[arg-type]
    )


def playbook_watch(ctx: AgentContext) -> Any:
    from agent.playbook_watch import PlaybookWatch  # here: the cross-process tests need it not

    return PlaybookWatch(ctx)


def wait_for(ctx: AgentContext, version: str) -> None:
    deadline = time.monotonic() + REACH_SECONDS
    while ctx.playbook.version != version:
        assert time.monotonic() < deadline, f"still {ctx.playbook.version}, not {version}"
        time.sleep(0.05)


def listeners(db: Database) -> list[int]:
    with db.engine.connect() as conn:
        return list(
            conn.scalars(
                text(
                    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                    "AND application_name = 'nurture-playbook-watch' AND query LIKE 'LISTEN %'"
                )
            )
        )


@pytest.mark.postgres
@NEEDS_POSTGRES
def test_the_watch_reconnects_and_rereads_what_it_missed_on_postgresql() -> None:
    assert POSTGRES_URL
    with fresh_postgres(POSTGRES_URL) as url:
        db = Database(url)
        db.migrate()
        ctx = bare_context(db, Settings(database_url=url))
        watch = playbook_watch(ctx)
        watch.start()
        try:
            deadline = time.monotonic() + REACH_SECONDS
            while not listeners(db):
                assert time.monotonic() < deadline, "the watch never listened"
                time.sleep(0.05)
            activate_playbook(db, candidate("pg-2"), by="t", at=datetime.now(UTC))
            wait_for(ctx, "pg-2")  # by notification
            with db.engine.connect() as conn:
                conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": listeners(db)[0]})
            # activated while the watch has no connection: its notification is lost
            activate_playbook(db, candidate("pg-3"), by="t", at=datetime.now(UTC))
            wait_for(ctx, "pg-3")  # by the re-read on reconnecting
            deadline = time.monotonic() + REACH_SECONDS
            while not listeners(db):
                assert time.monotonic() < deadline, "the watch did not listen again"
                time.sleep(0.05)
            activate_playbook(db, candidate("pg-4"), by="t", at=datetime.now(UTC))
            wait_for(ctx, "pg-4")  # notifications flow again on the new connection
        finally:
            started = time.monotonic()
            watch.stop()
            assert time.monotonic() - started < 3
            db.dispose()


def test_the_watch_polls_sqlite_and_stops(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'nurture.db'}"
    db, elsewhere = Database(url), Database(url)  # another process's connection, in effect
    db.migrate()
    ctx = bare_context(db, Settings(database_url=url, playbook_poll_seconds=0.2))
    watch = playbook_watch(ctx)
    watch.start()
    try:
        activate_playbook(elsewhere, candidate("poll-2"), by="t", at=datetime.now(UTC))
        wait_for(ctx, "poll-2")
        assert ctx.playbook.scoring.hot_threshold == 10
        # re-activating an older version puts it back in force
        activate_playbook(
            elsewhere,
            DEFAULT_PLAYBOOK.read_text(encoding="utf-8"),
            by="t",
            at=datetime.now(UTC) + timedelta(seconds=1),
        )
        wait_for(ctx, FILE_VERSION)
    finally:
        watch.stop()
        db.dispose()
        elsewhere.dispose()
    assert not any(t.name == "playbook-watch" and t.is_alive() for t in threading.enumerate())


def test_a_decision_carries_the_version_it_was_made_with(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An activation may land while a run decides: the recorded decision names the rules that
    made it, not the ones swapped in after."""
    from agent.decisions import decide as real_decide

    world.seed(DANA, WHITEPAPER)
    ctx = world.agent.ctx
    made_with = ctx.playbook.version
    swapped: Playbook = parse_playbook(candidate("mid-run"))

    def decide_then_swap(*args: Any, **kwargs: Any) -> Any:
        decision = real_decide(*args, **kwargs)
        ctx.playbook = swapped  # what a watch thread may do at any moment
        return decision

    monkeypatch.setattr("agent.nodes.decide.decide", decide_then_swap)
    world.agent.start("L1")
    with ctx.db.session() as session:
        recorded = session.get(LeadDecisionRow, "L1")
    assert recorded is not None and recorded.playbook_version == made_with


def watch_listeners(url: str) -> int:
    """How many playbook-watch LISTEN connections are open on the database at `url`."""
    db = Database(url)
    try:
        with db.session() as session:
            return int(
                session.scalar(
                    text(
                        "SELECT count(*) FROM pg_stat_activity "
                        "WHERE datname = current_database() AND application_name = :name"
                    ),
                    {"name": "nurture-playbook-watch"},
                )
                or 0
            )
    finally:
        db.dispose()


@pytest.mark.postgres
@NEEDS_POSTGRES
def test_poll_mode_reaches_another_replica_without_listen_on_postgresql(tmp_path: Path) -> None:
    """Behind a transaction-pooling proxy (pgbouncer) LISTEN hears nothing: with
    NURTURE_PLAYBOOK_WATCH=poll no process listens, and an activation still reaches a second
    replica within the poll interval."""
    assert POSTGRES_URL
    poll_seconds = 1.0
    with fresh_postgres(POSTGRES_URL) as url, ExitStack() as replicas:
        keys = seed(url)
        a, b = (
            replicas.enter_context(
                nurture_serve(
                    nurture_env(
                        database_url=url,
                        data_dir=str(tmp_path / name),
                        sweep_seconds="0",
                        playbook_watch="poll",
                        playbook_poll_seconds=str(poll_seconds),
                    ),
                    tmp_path / f"{name}.log",
                )
            )
            for name in ("a", "b")
        )
        assert next_action(b, keys["rep"])["playbook_version"] == FILE_VERSION
        assert watch_listeners(url) == 0, "a replica LISTENs although polling was asked for"
        answer = httpx.post(
            f"{a}/v1/playbook/activate",
            json={"yaml": candidate("polled-2")},
            headers={"Authorization": f"Bearer {keys['admin']}"},
            timeout=30,
        )
        assert answer.status_code == 200, answer.text
        since = time.monotonic()
        after = wait_for_version(b, keys["rep"], "polled-2", since=since)
        assert after["score"]["hot"] is True
        assert time.monotonic() - since < poll_seconds + 2.0
