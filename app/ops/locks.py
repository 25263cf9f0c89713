"""One holder at a time for work that must not overlap, such as the scheduler's tick.

PostgreSQL: a session-level advisory lock (pg_try_advisory_lock) on a connection of its own,
held for as long as the work runs. Chosen over a Redis lock because:

- the tick's work and its guarantees live in PostgreSQL; a lock kept there cannot vanish while
  the data it protects is still there (a Redis restart, which the system must survive, would
  drop a Redis lock in the middle of a tick and let a second one in);
- it needs no expiry to guess: it lasts exactly as long as the holder's connection, so a tick
  slower than any TTL keeps it, and a worker killed with -9 releases it at once (its connection
  closes) instead of blocking ticks until a TTL runs out;
- it works wherever the tick runs, the CLI without Redis included.

Other databases (SQLite, the embedded default: one process): a lock per database in this
process. Trying never waits: a second tick that finds the lock taken has nothing to do.
"""

import hashlib
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, text

log = logging.getLogger(__name__)

_local_locks: dict[str, threading.Lock] = {}
_local_guard = threading.Lock()


def lock_key(name: str) -> int:
    """A stable signed 64-bit advisory lock key for `name`."""
    return int.from_bytes(hashlib.sha256(f"bazgasht:{name}".encode()).digest()[:8], "big",
                          signed=True)


@contextmanager
def try_exclusive(engine: Engine, name: str) -> Iterator[bool]:
    """Yields True while this caller alone holds `name`, False (at once) if someone else does."""
    if engine.dialect.name != "postgresql":
        with _local_guard:
            lock = _local_locks.setdefault(f"{engine.url}#{name}", threading.Lock())
        if not lock.acquire(blocking=False):
            yield False
            return
        try:
            yield True
        finally:
            lock.release()
        return

    key = lock_key(name)
    conn = engine.connect()
    try:
        got = bool(conn.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": key}).scalar())
        conn.commit()  # idle, not idle in transaction, while the work runs
    except BaseException:
        conn.invalidate()
        conn.close()
        raise
    try:
        yield got
    finally:
        if got:
            try:
                conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
                conn.commit()
            except Exception:
                # Never hand a connection that may still hold the lock back to the pool: closed,
                # it releases the lock with it.
                log.warning("could not release the %s lock: closing its connection", name,
                            exc_info=True)
                conn.invalidate()
        conn.close()
