"""Rejected deliveries, counted off the request's path: the webhook answers 401 at once, and a
thread writes what piled up every second, one row per (store, cause, topic) whatever the rate
(a flood of forged deliveries costs memory for at most MAX_KEYS rows, then nothing)."""

import logging
import threading
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, sessionmaker

from app.db import unit_of_work
from app.ingest.models import WebhookRejection
from app.stores.models import Store

log = logging.getLogger(__name__)

# The causes worth telling the merchant: the store is known, the secret is not the one it has.
RECORDED = frozenset({"missing_signature", "invalid_signature"})
MAX_KEYS = 1000
TOPIC_LENGTH = 100


@dataclass
class _Count:
    count: int
    first_at: datetime
    last_at: datetime
    webhook_id: str


class RejectionRecorder:
    def __init__(self, factory: sessionmaker[Session], *, interval: float = 1.0):
        self._factory, self._interval = factory, interval
        self._pending: dict[tuple[int, str, str], _Count] = {}
        self._lock = threading.Lock()
        self._writing = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def record(self, *, store_id: int, cause: str, topic: str, webhook_id: str,
               at: datetime) -> None:
        if cause not in RECORDED:
            return
        key = (store_id, cause, topic[:TOPIC_LENGTH])
        with self._lock:
            seen = self._pending.get(key)
            if seen is None:
                if len(self._pending) >= MAX_KEYS:
                    return
                self._pending[key] = _Count(1, at, at, webhook_id[:40])
                return
            seen.count += 1
            seen.first_at, seen.last_at = min(seen.first_at, at), max(seen.last_at, at)
            seen.webhook_id = webhook_id[:40] or seen.webhook_id

    def flush(self) -> int:
        """Write what was recorded so far; returns how many rejections."""
        with self._writing:
            with self._lock:
                pending, self._pending = self._pending, {}
            if not pending:
                return 0
            try:
                self._write(pending)
            except Exception:  # kept for the next flush
                with self._lock:
                    for key, seen in pending.items():
                        self._pending.setdefault(key, seen)
                raise
            return sum(seen.count for seen in pending.values())

    def _write(self, pending: dict[tuple[int, str, str], _Count]) -> None:
        with unit_of_work(self._factory) as session:
            # A store deleted meanwhile has nothing left to tell.
            known = set(session.scalars(select(Store.id).where(
                Store.id.in_({store_id for store_id, _, _ in pending}))))
            rows = [dict(store_id=store_id, cause=cause, topic=topic, webhook_id=seen.webhook_id,
                         count=seen.count, first_at=seen.first_at, last_at=seen.last_at)
                    for (store_id, cause, topic), seen in sorted(pending.items())
                    if store_id in known]
            if not rows:
                return
            insert = pg_insert if session.get_bind().dialect.name == "postgresql" \
                else sqlite_insert
            stmt = insert(WebhookRejection)
            table = WebhookRejection.__table__
            for row in rows:  # in key order: two processes lock rows in one order
                session.execute(stmt.values(row).on_conflict_do_update(
                    index_elements=["store_id", "cause", "topic"],
                    set_=dict(count=table.c.count + stmt.excluded.count,
                              last_at=stmt.excluded.last_at,
                              webhook_id=stmt.excluded.webhook_id)))

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self.flush()
            except Exception:  # the next round tries again
                log.exception("writing rejected deliveries failed")

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="bazgasht-rejections",
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        try:
            self.flush()
        except Exception:
            log.exception("writing rejected deliveries failed at shutdown")
