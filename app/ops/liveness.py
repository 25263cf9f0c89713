"""Is the process that took a batch of messages still alive? Asked by the reaper, so a worker
killed whole (kill -9, a lost machine) has its claims resolved at the reaper's next round,
not after STUCK_AFTER.

Each sending process holds a PostgreSQL advisory lock named after a token of its own (host,
pid and a random part), on a connection kept for that purpose, and writes the token on the
messages it takes (`messages.claimed_by`). The lock lives exactly as long as that connection:
a process that dies, however it dies, releases it at once, and nothing needs a heartbeat
interval or a timeout to guess. The reaper tries the lock of each token it finds on messages
still "sending": if it gets it, nobody holds it — the process is gone (it lets go at once).

Other databases (SQLite: one process, sending in-process): no token; the reaper's
STUCK_AFTER alone applies, as before.
"""

import logging
import os
import socket
import threading
import uuid

from sqlalchemy import Connection, Engine, text

from app.ops.locks import lock_key

log = logging.getLogger(__name__)


def _key(token: str) -> int:
    return lock_key(f"sender:{token}")


class Liveness:
    """This process's token, kept alive by its lock (taken again, under a new token, if the
    connection holding it was lost)."""

    def __init__(self, engine: Engine):
        self._engine = engine
        self._guard = threading.Lock()
        self._conn: Connection | None = None
        self._token: str | None = None

    def token(self) -> str | None:
        """The token to write on the messages this process takes now (None: not PostgreSQL)."""
        if self._engine.dialect.name != "postgresql":
            return None
        with self._guard:
            if self._conn is not None:
                try:
                    self._conn.execute(text("SELECT 1"))
                    self._conn.commit()
                except Exception:  # the connection, and the lock with it, is gone
                    log.warning("sender lock %s lost: taking a new one", self._token)
                    self._conn.invalidate()
                    self._conn = None
            if self._conn is None:
                token = f"{socket.gethostname()[:20]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
                conn = self._engine.connect()
                conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": _key(token)})
                conn.commit()  # idle, not idle in transaction, for the life of the process
                self._conn, self._token = conn, token
            return self._token


def gone(engine: Engine, tokens: set[str]) -> set[str]:
    """Of these tokens, those whose process no longer holds its lock."""
    if engine.dialect.name != "postgresql" or not tokens:
        return set()
    dead = set()
    with engine.connect() as conn:
        for token in sorted(tokens):
            key = _key(token)
            if conn.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": key}).scalar():
                conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
                dead.add(token)
        conn.commit()
    return dead
