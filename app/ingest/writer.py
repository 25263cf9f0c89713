"""Group commit for webhook deliveries: many waiting requests, one transaction.

Each delivery must be durable before WooCommerce gets its 200 (it never retries), but a commit
per request caps ingest at the database's commit rate. Requests queue here; a batch is verified
and written with a single SELECT, INSERT and COMMIT, and every request in it is answered once
that commit returns. Under load batches grow by themselves; idle, a batch is one.

Two batches are in flight at a time on PostgreSQL, each on its own connection: while one waits
for its commit, the next is verified and sent, so neither the database's round trips nor the
thread hand-offs leave the process idle. Their ids may interleave, which is fine: ids order
deliveries only roughly by arrival anyway. SQLite has a single writer, so there it is one.
"""

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, select

from app.errors import DomainError
from app.ingest import service
from app.stores.models import Store
from app.stores.service import ensure_accepts_webhooks

log = logging.getLogger(__name__)


class Unavailable(DomainError):
    status_code = 503
    code = "unavailable"


@dataclass(frozen=True)
class Incoming:
    store_id: int
    body: bytes
    signature: str | None
    topic: str
    webhook_id: str
    delivery_id: str


# Answers are JSON bytes, made once here rather than serialized per request by the framework.
Result = bytes | DomainError
PING_ANSWER = b'{"ok":true,"ping":true}'


def write_batch(conn: Connection, items: list[Incoming]) -> list[Result]:
    """Verify and store a batch; one result (answer or error) per item, in order.

    Core, not the ORM: this runs for every delivery, and rows are all it needs.
    """
    ids = {item.store_id for item in items}
    stores = {row.id: row for row in conn.execute(
        select(Store.id, Store.enabled, Store.webhook_secret).where(Store.id.in_(ids)))}
    results: list[Result] = []
    rows, slots = [], []
    for item in items:
        try:
            store = ensure_accepts_webhooks(stores.get(item.store_id), item.store_id)
            if service.is_ping(item.signature, item.body):
                results.append(PING_ANSWER)
                continue
            service.verify_signature(store.webhook_secret, item.body, item.signature)
        except DomainError as exc:
            results.append(exc)
            continue
        slots.append(len(results))
        results.append(b"")
        rows.append(service.delivery_row(store_id=store.id, topic=item.topic, body=item.body,
                                         webhook_id=item.webhook_id, delivery_id=item.delivery_id))
    for slot, delivery_id in zip(slots, service.insert_deliveries(conn, rows), strict=True):
        results[slot] = b'{"ok":true,"delivery_id":%d}' % delivery_id
    return results


class DeliveryWriter:
    def __init__(self, engine: Engine, on_written: Callable[[], None], *, max_batch: int = 500,
                 in_flight: int | None = None):
        self._engine = engine
        self._on_written = on_written
        self._max_batch = max_batch
        self._in_flight = in_flight or (1 if engine.dialect.name == "sqlite" else 2)
        self._queue: asyncio.Queue | None = None
        self._tasks: list[asyncio.Task] = []

    async def submit(self, item: Incoming) -> bytes:
        if len(self._tasks) < self._in_flight or any(task.done() for task in self._tasks):
            self._start()
        future = asyncio.get_running_loop().create_future()
        self._queue.put_nowait((item, future))
        result = await future
        if isinstance(result, DomainError):
            raise result
        return result

    def _start(self) -> None:
        if self._queue is None:
            self._queue = asyncio.Queue()
        for task in self._tasks:
            if task.done() and not task.cancelled() and task.exception():
                log.error("delivery writer stopped", exc_info=task.exception())
        self._tasks = [task for task in self._tasks if not task.done()]
        while len(self._tasks) < self._in_flight:
            self._tasks.append(asyncio.create_task(self._run(), name="bazgasht-delivery-writer"))

    async def stop(self) -> None:
        """Finish the batches being written, answer them, and turn away what still waits."""
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        while self._queue is not None and not self._queue.empty():
            _, future = self._queue.get_nowait()
            if not future.done():
                future.set_result(Unavailable("bazgasht is shutting down; WooCommerce will show "
                                              "this delivery as failed"))

    def _write(self, items: list[Incoming]) -> list[Result]:
        with self._engine.begin() as conn:
            return write_batch(conn, items)

    async def _store(self, items: list[Incoming]) -> list[Result]:
        try:
            return await asyncio.to_thread(self._write, items)
        except Exception:
            log.exception("could not store %d webhook deliveries", len(items))
            error = Unavailable("bazgasht could not store the delivery right now; "
                                "WooCommerce will show this delivery as failed")
            return [error] * len(items)

    def _answer(self, batch: list, results: list[Result]) -> None:
        for (_, future), result in zip(batch, results, strict=True):
            if not future.done():
                future.set_result(result)
        if any(isinstance(r, bytes) and r != PING_ANSWER for r in results):
            try:
                self._on_written()
            except Exception:  # the rows are stored; the processor will find them anyway
                log.exception("on_written callback failed")

    async def _run(self) -> None:
        queue = self._queue
        while True:
            batch = [await queue.get()]
            while len(batch) < self._max_batch and not queue.empty():
                batch.append(queue.get_nowait())
            write = asyncio.ensure_future(self._store([item for item, _ in batch]))
            try:
                results = await asyncio.shield(write)
            except asyncio.CancelledError:
                # stop(): the thread cannot be interrupted, and its commit may already be done;
                # wait for it so that every request in the batch gets its true answer.
                self._answer(batch, await write)
                raise
            self._answer(batch, results)
