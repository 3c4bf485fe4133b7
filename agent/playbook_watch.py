"""Keeps a process's playbook in step with the one in force in the store, so that an activation
made anywhere (another API replica, a worker, `nurture playbook activate`) reaches every running
process within seconds. No web code: API replicas and worker processes use it alike."""

from __future__ import annotations

import logging
import threading
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.engine import make_url

from agent.store.playbooks import PLAYBOOK_CHANNEL, newest_activation, playbook_in_force

if TYPE_CHECKING:
    from agent.context import AgentContext

log = logging.getLogger(__name__)

APPLICATION_NAME = "nurture-playbook-watch"
"""How the listening connection names itself in pg_stat_activity."""
LISTEN_TIMEOUT = 0.5
"""Seconds a listener waits for a notification before looking whether it should stop."""
RECONNECT_DELAYS = (0.5, 1.0, 2.0, 5.0)
"""Seconds before each new attempt to listen after losing the connection; the last repeats."""

Marker = tuple[str, datetime] | None


class PlaybookWatch:
    """Swaps `ctx.playbook` when another playbook is put in force in `ctx.db`.

    Interface (the API's lifespan and a worker process use it the same way)::

        watch = PlaybookWatch(ctx)  # ctx: the AgentContext whose `playbook` is kept current
        watch.start()               # re-reads the store now, then watches from a daemon thread
        ...
        watch.stop()                # ends the thread within about a second; safe to repeat
        watch.check()               # one re-read now, from any thread; True when it swapped

    How it learns of an activation:

    - PostgreSQL: LISTEN on `PLAYBOOK_CHANNEL`, which `activate_playbook` NOTIFYs in its own
      transaction. A lost connection is opened again (backing off up to 5 s), and every
      (re)connection re-reads the store after LISTEN, so an activation whose notification went
      to no one is still picked up.
    - SQLite (no notifications), or PostgreSQL with NURTURE_PLAYBOOK_WATCH=poll (behind a
      transaction-pooling proxy such as pgbouncer, a LISTEN hears nothing): a one-row query
      every `poll_seconds` (default: the setting NURTURE_PLAYBOOK_POLL_SECONDS; 0 turns the
      thread off).

    Swapping is one attribute assignment: a run in progress reads `ctx.playbook` once per step,
    so it uses the new rules from its next step on. The watch never re-derives scores: the
    process that activates does that once, rather than every process once.
    """

    def __init__(self, ctx: AgentContext, *, poll_seconds: float | None = None) -> None:
        self._ctx = ctx
        self._poll = ctx.settings.playbook_poll_seconds if poll_seconds is None else poll_seconds
        self._seen: Marker = None
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("this playbook watch was already started")
        self.check()  # whatever was activated since the context was built
        settings = self._ctx.settings
        if self._ctx.db.dialect == "postgresql" and settings.playbook_watch == "notify":
            loop = self._listen
        elif self._poll > 0:
            loop = self._poll_loop
        else:
            return
        self._thread = threading.Thread(target=loop, name="playbook-watch", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5 * LISTEN_TIMEOUT)

    def check(self) -> bool:
        """Re-reads which playbook is in force and puts it in `ctx` if it changed."""
        ctx = self._ctx
        with self._lock:
            marker = newest_activation(ctx.db)
            # Compared with what this watch last read, not with ctx.playbook: a read that raced
            # with this process's own activation must not put the older version back.
            if marker is None or marker == self._seen:
                return False  # none activated means the configured file the context began with
            self._seen = marker
            playbook = playbook_in_force(ctx.db, ctx.settings)
            if playbook.version == ctx.playbook.version:
                return False
            before, ctx.playbook = ctx.playbook.version, playbook
        log.info("playbook %s is in force (was %s)", playbook.version, before)
        return True

    def _checked(self) -> bool:
        """check(), logging a failure instead of raising: the watch must outlive a bad moment."""
        try:
            self.check()
        except Exception:  # noqa: BLE001 - logged; the caller tries again
            log.exception("could not re-read the playbook in force")
            return False
        return True

    def _poll_loop(self) -> None:
        while not self._stopped.wait(self._poll):
            self._checked()

    def _listen(self) -> None:
        import psycopg
        from psycopg import sql

        conninfo = make_url(self._ctx.db.url).set(drivername="postgresql")
        failures = 0
        while not self._stopped.is_set():
            try:
                with psycopg.connect(
                    conninfo.render_as_string(hide_password=False),
                    autocommit=True,
                    application_name=APPLICATION_NAME,
                    connect_timeout=5,
                ) as conn:
                    conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(PLAYBOOK_CHANNEL)))
                    failures = 0
                    pending = True  # re-read after LISTEN: nothing slips between the two
                    while not self._stopped.is_set():
                        if pending:
                            pending = not self._checked()
                        # the payload is not needed: the re-read finds the newest activation
                        pending |= bool(list(conn.notifies(timeout=LISTEN_TIMEOUT, stop_after=1)))
            except psycopg.Error as exc:
                delay = RECONNECT_DELAYS[min(failures, len(RECONNECT_DELAYS) - 1)]
                failures += 1
                log.warning("playbook watch lost its connection (%s); again in %s s", exc, delay)
                self._stopped.wait(delay)
