"""Group commit for webhook deliveries: many waiting requests, one transaction.

Each delivery must be durable before WooCommerce gets its 200 (it never retries), but a commit
per request caps ingest at the database's commit rate. Requests queue here; a batch is verified
against one SELECT of its stores and written with one INSERT and one commit, and every request
in it is answered once that commit returns. Under load batches grow by themselves; idle, a batch
is one.

On PostgreSQL (psycopg) two batches are in flight, each written from the event loop on a
connection of the writer's own, in two round trips: while one waits for its commit the next is
verified and sent. The loop rather than a thread, because a thread costs more than it saves:
every round trip hands the GIL back and forth with the loop that serves HTTP. Ids of the two
batches may interleave, which is fine: ids order deliveries only roughly by arrival anyway.
Any other database (SQLite, the embedded default) goes through the SQLAlchemy engine in a
thread, one batch at a time: SQLite has a single writer anyway.
"""

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import psycopg
from psycopg.rows import namedtuple_row
from sqlalchemy import Connection, Engine, select

from app.errors import DomainError
from app.ingest import service
from app.stores.models import Store
from app.stores.service import ensure_accepts_webhooks, webhook_secrets

log = logging.getLogger(__name__)


class Unavailable(DomainError, status=503, code="unavailable"):
    pass


@dataclass(frozen=True)
class Incoming:
    store_id: int
    body: bytes
    signature: str | None
    topic: str
    webhook_id: str
    delivery_id: str
    received_at: datetime
    content_type: str = "application/json"


# Answers are JSON bytes, made once here rather than serialized per request by the framework.
Result = bytes | DomainError
PING_ANSWER = b'{"ok":true,"ping":true}'


def check_batch(items: list[Incoming],
                stores: dict) -> tuple[list[Result], list[dict], list[int]]:
    """Verify each item against its store (by id: rows with .id, .enabled, .webhook_secret).

    Returns one result per item (final for pings and rejections), the rows to insert, and for
    each row the index of its item, whose answer needs the row's id.
    """
    results: list[Result] = []
    rows, slots = [], []
    for item in items:
        # An outsider learns nothing by trying ids: a missing or disabled store answers a ping
        # and an unsigned or badly signed delivery as a working one does. Only who holds the
        # store's secret hears that it is disabled.
        store = stores.get(item.store_id)
        try:
            if service.is_ping(item.signature, item.body):
                results.append(PING_ANSWER)
                continue
            service.verify_signature(webhook_secrets(store, item.received_at) if store else (),
                                     item.body, item.signature)
            store = ensure_accepts_webhooks(store, item.store_id)
            service.ensure_json(item.content_type)
        except DomainError as exc:
            results.append(exc)
            continue
        slots.append(len(results))
        results.append(b"")
        rows.append(service.delivery_row(store_id=store.id, topic=item.topic, body=item.body,
                                         webhook_id=item.webhook_id, delivery_id=item.delivery_id,
                                         received_at=item.received_at))
    return results, rows, slots


def _answered(results: list[Result], slots: list[int], ids: list[int]) -> list[Result]:
    for slot, delivery_id in zip(slots, ids, strict=True):
        results[slot] = b'{"ok":true,"delivery_id":%d}' % delivery_id
    return results


def write_batch(conn: Connection, items: list[Incoming]) -> list[Result]:
    """Verify and store a batch through SQLAlchemy; one result per item, in order.

    Core, not the ORM: this runs for every delivery, and rows are all it needs.
    """
    ids = {item.store_id for item in items}
    stores = {row.id: row for row in conn.execute(
        select(Store.id, Store.enabled, Store.webhook_secret, Store.previous_webhook_secret,
               Store.previous_webhook_secret_until).where(Store.id.in_(ids)))}
    results, rows, slots = check_batch(items, stores)
    return _answered(results, slots, service.insert_deliveries(conn, rows))


_PG_SELECT_STORES = ("SELECT id, enabled, webhook_secret, previous_webhook_secret, "
                     f"previous_webhook_secret_until FROM {Store.__tablename__} "
                     f"WHERE id = ANY(%s)")


class _EngineWriter:
    """Any database SQLAlchemy supports: a pooled connection per batch, in a thread."""

    def __init__(self, engine: Engine):
        self._engine = engine

    async def write(self, items: list[Incoming]) -> list[Result]:
        return await asyncio.to_thread(self._write, items)

    def _write(self, items: list[Incoming]) -> list[Result]:
        with self._engine.begin() as conn:
            return write_batch(conn, items)

    async def close(self) -> None:
        pass


class _PsycopgWriter:
    """PostgreSQL: one autocommit connection of its own, used from the event loop. A batch is
    two round trips: the stores' SELECT, then one INSERT of every row, its own transaction."""

    def __init__(self, engine: Engine):
        # The engine's URL, as the engine's own dialect turns it into psycopg's arguments.
        self._connect_args = engine.dialect.create_connect_args(engine.url)[1]
        self._conn: psycopg.AsyncConnection | None = None

    async def write(self, items: list[Incoming]) -> list[Result]:
        ids = list({item.store_id for item in items})
        try:
            stores = await self._stores(ids)
        except psycopg.OperationalError:
            if self._conn is None or not self._conn.broken:
                raise
            # The connection died while idle (a restart, a timeout): nothing of this batch was
            # written, so try once on a fresh one, as the engine's pool would after its ping.
            await self.close()
            stores = await self._stores(ids)
        results, rows, slots = check_batch(items, stores)
        return _answered(results, slots,
                         await service.insert_deliveries_psycopg(self._conn, rows))

    async def _stores(self, ids: list[int]) -> dict:
        if self._conn is None:
            self._conn = await psycopg.AsyncConnection.connect(autocommit=True,
                                                               **self._connect_args)
        async with self._conn.cursor(row_factory=namedtuple_row) as cursor:
            await cursor.execute(_PG_SELECT_STORES, [ids])
            return {row.id: row for row in await cursor.fetchall()}

    async def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            await conn.close()


class DeliveryWriter:
    def __init__(self, engine: Engine, on_written: Callable[[], None], *, max_batch: int = 500):
        self._engine = engine
        self._on_written = on_written
        self._max_batch = max_batch
        self._psycopg = engine.dialect.driver == "psycopg"
        self._in_flight = 2 if self._psycopg else 1
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

    async def _run(self) -> None:
        queue = self._queue
        writer = _PsycopgWriter(self._engine) if self._psycopg else _EngineWriter(self._engine)
        try:
            while True:
                batch = [await queue.get()]
                while len(batch) < self._max_batch and not queue.empty():
                    batch.append(queue.get_nowait())
                write = asyncio.ensure_future(self._write(writer, [item for item, _ in batch]))
                try:
                    results = await asyncio.shield(write)
                except asyncio.CancelledError:
                    # stop(): the batch may be committed already; let it finish so that every
                    # request in it gets its true answer.
                    self._answer(batch, await write)
                    raise
                self._answer(batch, results)
        finally:
            await writer.close()

    @staticmethod
    async def _write(writer, items: list[Incoming]) -> list[Result]:
        try:
            return await writer.write(items)
        except Exception:
            log.exception("could not store %d webhook deliveries", len(items))
            await writer.close()  # its connection is in an unknown state: start afresh
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
