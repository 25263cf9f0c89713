"""Is the process that took a batch of messages still alive? Asked by the reaper, so a worker
killed whole (kill -9, a lost machine) has its claims resolved at the reaper's next round,
not after STUCK_AFTER.

Each sending process holds a PostgreSQL advisory lock named after a token of its own (host,
pid and a random part), on a connection kept for that purpose, and writes the token on the
messages it takes (`messages.claimed_by`). The lock lives exactly as long as that connection:
a process that dies, however it dies, releases it at once, and nothing needs a heartbeat
interval or a timeout to guess. The reaper tries the lock of each token it finds on messages
still "sending": if it gets it, nobody holds it — the process is gone (it lets go at once).

Other databases (SQLite: every process on one machine, the file's): the token is written
the same way, with no lock; a token is gone when its host is this one and its process no
longer runs (or is a zombie).
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

    def token(self) -> str:
        """The token to write on the messages this process takes now."""
        with self._guard:
            if self._engine.dialect.name != "postgresql":
                token = self._token
                if token is None or not token.startswith(prefix(os.getpid())):  # or forked
                    token = self._token = f"{prefix(os.getpid())}{uuid.uuid4().hex[:8]}"
                return token
            if self._conn is not None:
                try:
                    self._conn.execute(text("SELECT 1"))
                    self._conn.commit()
                except Exception:  # the connection, and the lock with it, is gone
                    log.warning("sender lock %s lost: taking a new one", self._token)
                    self._conn.invalidate()
                    self._conn = None
            if self._conn is None:
                token = f"{prefix(os.getpid())}{uuid.uuid4().hex[:8]}"
                conn = self._engine.connect()
                conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": _key(token)})
                conn.commit()  # idle, not idle in transaction, for the life of the process
                self._conn, self._token = conn, token
            assert self._token is not None  # set with the connection
            return self._token


def prefix(pid: int) -> str:
    """How the tokens of process `pid` on this host begin."""
    return f"{socket.gethostname()[:20]}:{pid}:"


def _running_here(token: str) -> bool:
    """Not SQLite's: whether the token's process still runs, if it is of this host."""
    host, _, rest = token.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname()[:20] or not pid.isdigit():
        return True  # another machine's, or not a token: cannot tell, so alive
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except OSError:  # another user's: it runs
        return True
    try:
        with open(f"/proc/{pid}/stat") as stat:  # "pid (name) state ...": Z is a zombie
            return stat.read().rpartition(")")[2].split()[0] != "Z"
    except OSError:  # no /proc here (or it just ended): as os.kill said
        return True


def gone(engine: Engine, tokens: set[str]) -> set[str]:
    """Of these tokens, those whose process no longer holds its lock."""
    if not tokens:
        return set()
    if engine.dialect.name != "postgresql":
        return {token for token in tokens if not _running_here(token)}
    dead = set()
    with engine.connect() as conn:
        for token in sorted(tokens):
            key = _key(token)
            if conn.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": key}).scalar():
                conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
                dead.add(token)
        conn.commit()
    return dead
