"""WooCommerce webhook ingest: verify, keep durably, then apply to the mirrors.

The endpoint only verifies and writes the delivery (one short transaction), so WooCommerce
gets its answer fast; `process_pending` applies deliveries in order of arrival. A delivery that
is signed but unusable is kept as a dead letter with its reason: WooCommerce disables a webhook
after a few failed deliveries, so we must answer 2xx even for what we cannot use.
"""

import base64
import functools
import hashlib
import hmac
import json
import logging
import re
from datetime import datetime

import psycopg
from pydantic import ValidationError
from sqlalchemy import Connection, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from app.campaigns import attribution
from app.campaigns import service as campaigns
from app.commerce import service as commerce
from app.commerce.money import InvalidAmount
from app.commerce.schemas import CartPayload, Deleted, WooOrder, WooProduct
from app.commerce.topics import CART_TOPIC, WEBHOOK_TOPICS
from app.db import rowcount, unit_of_work
from app.errors import DomainError, Unauthorized
from app.ingest.models import (
    APPLIED,
    DEAD_LETTER,
    IGNORED,
    PENDING,
    WebhookDelivery,
    WebhookRejection,
)
from app.ops import metrics
from app.stores.models import Store

log = logging.getLogger(__name__)

PING_BODY = re.compile(rb"^webhook_id=\d+$")
MAX_ATTEMPTS = 5
IGNORED_RESOURCES = frozenset({"customer", "coupon"})


class Unusable(Exception):
    """A signed delivery bazgasht cannot apply; the message says why, for the operator."""


def is_ping(signature: str | None, body: bytes) -> bool:
    return signature is None and PING_BODY.match(body.strip()) is not None


class NotJson(DomainError, status=415, code="unsupported_media_type"):
    pass


def ensure_json(content_type: str) -> None:
    """A delivery is JSON, as WooCommerce sends it (checked once it is known to be signed: a
    ping is a form, and an unsigned request hears only 401)."""
    media = content_type.split(";", 1)[0].strip().lower()
    if media != "application/json":
        raise NotJson(f"a delivery is sent as application/json, not {media[:60] or 'nothing'}; "
                      "WooCommerce does so: check what posts here")


def verify_signature(secrets: tuple[str, ...], body: bytes, signature: str | None) -> None:
    """Accepts a signature made with any of the secrets (the current one, and the previous
    one while a rotation's grace lasts)."""
    if not signature:
        raise Unauthorized(
            "missing X-WC-Webhook-Signature header: deliveries must come from a WooCommerce "
            "webhook created with the secret bazgasht gave you", code="missing_signature")
    given = signature.strip().encode()
    if not any([hmac.compare_digest(given, base64.b64encode(
            hmac.new(secret.encode(), body, hashlib.sha256).digest())) for secret in secrets]):
        raise Unauthorized(
            "X-WC-Webhook-Signature does not match the body: check that the webhook's secret in "
            "WooCommerce is exactly the secret bazgasht gave you for this store",
            code="invalid_signature")


def delivery_row(*, store_id: int, topic: str, webhook_id: str, delivery_id: str,
                 body: bytes, received_at: datetime) -> dict:
    return dict(store_id=store_id, topic=topic[:200], webhook_id=webhook_id[:40],
                delivery_id=delivery_id[:80], body=body,
                body_sha256=hashlib.sha256(body).hexdigest(), status=PENDING, attempts=0,
                received_at=received_at)


# A delivery is stored once: the same body under the same topic for the same store again (a
# replay, WooCommerce's "resend", an attacker's capture) answers with the first one's id.
_SAME_DELIVERY = ("store_id", "topic", "body_sha256")


def _key(row) -> tuple:
    return tuple(row[column] for column in _SAME_DELIVERY)


def _ids_in_order(rows: list[dict], inserted: dict[tuple, int],
                  earlier: dict[tuple, int]) -> list[int]:
    return [inserted.get(_key(row)) or earlier[_key(row)] for row in rows]


def _earlier_query(missing: list[dict]):
    table = WebhookDelivery.__table__
    return select(table.c.id, table.c.store_id, table.c.topic, table.c.body_sha256).where(
        table.c.store_id.in_({row["store_id"] for row in missing}),
        table.c.body_sha256.in_({row["body_sha256"] for row in missing}))


def insert_deliveries(conn: Connection, rows: list[dict]) -> list[int]:
    """Store deliveries (from `delivery_row`) as received, in one statement; their ids in order
    (a replay's is its first delivery's)."""
    if not rows:
        return []
    table = WebhookDelivery.__table__
    insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    stmt = insert(table).on_conflict_do_nothing(index_elements=list(_SAME_DELIVERY)).returning(
        table.c.id, *(table.c[column] for column in _SAME_DELIVERY))
    inserted = {tuple(found[1:]): found[0] for found in conn.execute(stmt, rows)}
    missing = [row for row in rows if _key(row) not in inserted]
    earlier = {tuple(found[1:]): found[0]
               for found in conn.execute(_earlier_query(missing))} if missing else {}
    return _ids_in_order(rows, inserted, earlier)


_DELIVERY_COLUMNS = ("store_id", "topic", "webhook_id", "delivery_id", "body", "body_sha256",
                     "status", "attempts", "received_at")


@functools.lru_cache(maxsize=64)
def _pg_insert_deliveries(n: int) -> str:
    # The statement SQLAlchemy renders for sort_by_parameter_order, but with PostgreSQL's own
    # $n placeholders: psycopg neither parses it (a raw cursor) nor SQLAlchemy rebuilds it, and
    # the same text per batch size lets the server prepare it. Both cost more per row than the
    # insert itself at the batch sizes ingest sees.
    k, columns = len(_DELIVERY_COLUMNS), ", ".join(_DELIVERY_COLUMNS)
    values = ", ".join(
        "(" + ", ".join(f"${i * k + j + 1}" for j in range(k)) + f", {i})" for i in range(n))
    return (f"INSERT INTO {WebhookDelivery.__tablename__} ({columns}) SELECT {columns} "
            f"FROM (VALUES {values}) AS v({columns}, n) ORDER BY n "
            f"ON CONFLICT ({', '.join(_SAME_DELIVERY)}) DO NOTHING "
            f"RETURNING id, {', '.join(_SAME_DELIVERY)}")


_PG_EARLIER = (f"SELECT id, {', '.join(_SAME_DELIVERY)} FROM {WebhookDelivery.__tablename__} "
               "WHERE store_id = ANY($1) AND body_sha256 = ANY($2)")


async def insert_deliveries_psycopg(conn: psycopg.AsyncConnection, rows: list[dict]) -> list[int]:
    """`insert_deliveries` on a psycopg connection in autocommit mode: one statement, so one
    transaction, committed when it returns, in a single round trip (two when a replay is in
    the batch: its first delivery's id is read).

    Values go in as they are: the columns' bind processing is the identity on PostgreSQL
    (received_at is already aware UTC).
    """
    if not rows:
        return []
    params = [row[column] for row in rows for column in _DELIVERY_COLUMNS]
    async with psycopg.AsyncRawCursor(conn) as cursor:
        await cursor.execute(_pg_insert_deliveries(len(rows)), params)
        inserted = {tuple(found[1:]): found[0] for found in await cursor.fetchall()}
        missing = [row for row in rows if _key(row) not in inserted]
        earlier: dict[tuple, int] = {}
        if missing:
            await cursor.execute(_PG_EARLIER, [list({row["store_id"] for row in missing}),
                                               list({row["body_sha256"] for row in missing})])
            earlier = {tuple(found[1:]): found[0] for found in await cursor.fetchall()}
    return _ids_in_order(rows, inserted, earlier)


def _decode(body: bytes) -> dict:
    try:
        payload = json.loads(body)
        # \ud800-style escapes (or UTF-8 of a surrogate, which json.loads lets through) decode
        # to half a UTF-16 pair: no text a database can store, wherever it lands.
        json.dumps(payload, ensure_ascii=False).encode()
    except UnicodeEncodeError:
        raise Unusable("body has a lone UTF-16 surrogate (\\ud800-\\udfff): not text") from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise Unusable(f"body is not JSON: {exc}") from None
    except RecursionError:
        raise Unusable("body is nested too deeply to be a WooCommerce resource") from None
    if not isinstance(payload, dict):
        raise Unusable(f"body is a JSON {type(payload).__name__}, expected an object")
    if "id" not in payload and {"code", "message"} <= payload.keys():
        raise Unusable(f"WooCommerce sent an error instead of a resource: "
                       f"{payload.get('code')}: {payload.get('message')}")
    return payload


def _parse(model, payload: dict):
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in exc.errors()[:5])
        raise Unusable(f"payload does not fit {model.__name__}: {problems}") from None


def apply_delivery(session: Session, store: Store, delivery: WebhookDelivery, now: datetime) -> str:
    """Apply one delivery to the mirrors; returns its outcome, raises Unusable."""
    topic = delivery.topic
    resource, _, event = topic.partition(".")
    if not topic:
        raise Unusable("missing X-WC-Webhook-Topic header")
    if resource in IGNORED_RESOURCES:
        return IGNORED
    if topic == "action.woocommerce_add_to_cart":
        raise Unusable("WooCommerce's add-to-cart action carries only a cart item key, no "
                       "customer or product: install the bazgasht companion plugin for carts")
    key = dict(store_id=store.id, body_sha256=delivery.body_sha256, now=now)
    if resource == "order" and event in ("created", "updated", "restored"):
        data = _parse(WooOrder, _decode(delivery.body))
        outcome = commerce.apply_order(session, data=data, **key)
        if outcome == APPLIED:
            campaigns.on_order(session, store_id=store.id, wc_id=data.id, now=now)
            attribution.attribute_order(session, store_id=store.id, wc_id=data.id, now=now)
        return outcome
    if resource == "order" and event == "deleted":
        data = _parse(Deleted, _decode(delivery.body))
        outcome = commerce.delete_order(session, wc_id=data.id, **key)
        if outcome == APPLIED:
            attribution.attribute_order(session, store_id=store.id, wc_id=data.id, now=now)
        return outcome
    if resource == "product" and event in ("created", "updated", "restored"):
        data = _parse(WooProduct, _decode(delivery.body))
        return commerce.apply_product(session, currency=store.currency, data=data, **key)
    if resource == "product" and event == "deleted":
        data = _parse(Deleted, _decode(delivery.body))
        return commerce.delete_product(session, wc_id=data.id, **key)
    if resource == "bazgasht_cart" and event in ("created", "updated"):
        data = _parse(CartPayload, _decode(delivery.body))
        return commerce.apply_cart(session, data=data, **key)
    raise Unusable(f"topic {topic!r} is not one bazgasht handles")


def _storable(reason: str | None) -> str | None:
    """A reason can quote the body; stored as it is, a NUL (PostgreSQL) or a lone surrogate
    (any database) would fail the commit of the whole batch, and every later one."""
    if reason is None:
        return None
    return reason.replace("\x00", "\\x00").encode("utf-8", "backslashreplace").decode()


def _process_one(session: Session, delivery: WebhookDelivery, now: datetime) -> None:
    store = session.get(Store, delivery.store_id)
    delivery.attempts += 1
    try:
        with session.begin_nested():
            status, reason = apply_delivery(session, store, delivery, now), None
    except (Unusable, InvalidAmount) as exc:
        status, reason = DEAD_LETTER, str(exc)
    except IntegrityError:
        # Another processor inserted the same order/contact a moment ago: try again later.
        if delivery.attempts < MAX_ATTEMPTS:
            return
        status, reason = DEAD_LETTER, "conflicting concurrent writes; gave up after retries"
    except Exception as exc:  # a bug of ours must not block the deliveries behind it
        log.exception("applying webhook delivery %s failed", delivery.id)
        status, reason = DEAD_LETTER, f"internal error while applying: {type(exc).__name__}"
    delivery.status, delivery.reason, delivery.processed_at = status, _storable(reason), now
    metrics.WEBHOOK_PROCESSED.labels(metrics.topic_label(delivery.topic), status).inc()  # ops


def process_pending(factory: sessionmaker[Session], *, now: datetime, batch: int = 200) -> int:
    """Apply waiting deliveries, oldest first, as of `now`; returns how many were handled."""
    handled = 0
    while True:
        with unit_of_work(factory) as session:
            deliveries = session.scalars(
                select(WebhookDelivery)
                .where(WebhookDelivery.status == PENDING)
                .order_by(WebhookDelivery.id)
                .limit(batch)
                .with_for_update(skip_locked=True)
            ).all()
            for delivery in deliveries:
                _process_one(session, delivery, now)
        handled += len(deliveries)
        if len(deliveries) < batch:
            return handled


def forget_bodies(session: Session, *, before: datetime, limit: int = 5000) -> int:
    """Empty the bodies of deliveries received before `before` and done with (applied,
    duplicate, stale, ignored or dead letters), at most `limit` of them; returns how many.
    A pending one keeps its body until it is applied."""
    due = (select(WebhookDelivery.id)
           .where(WebhookDelivery.received_at < before, WebhookDelivery.status != PENDING,
                  func.length(WebhookDelivery.body) > 0)
           .order_by(WebhookDelivery.id).limit(limit))
    return rowcount(session.execute(
        update(WebhookDelivery).where(WebhookDelivery.id.in_(due.scalar_subquery()))
        .values(body=b"").execution_options(synchronize_session=False)))


def list_deliveries(session: Session, *, store_id: int, status: str | None, limit: int,
                    before_id: int | None = None) -> list[WebhookDelivery]:
    query = select(WebhookDelivery).where(WebhookDelivery.store_id == store_id)
    if status:
        query = query.where(WebhookDelivery.status == status)
    if before_id:
        query = query.where(WebhookDelivery.id < before_id)
    return list(session.scalars(query.order_by(WebhookDelivery.id.desc()).limit(limit)))


def count_by_status(session: Session, *, store_id: int) -> dict[str, int]:
    rows = session.execute(
        select(WebhookDelivery.status, func.count())
        .where(WebhookDelivery.store_id == store_id)
        .group_by(WebhookDelivery.status)
    )
    return {status: n for status, n in rows}



def connection_health(session: Session, *, store_id: int) -> dict:
    """What the store's WooCommerce delivered: each topic bazgasht needs, with its last delivery,
    and the deliveries refused for their signature."""
    last = []
    for topic in WEBHOOK_TOPICS + (CART_TOPIC,):  # one index probe each (ix_webhook_deliveries_store_id_topic_received_at)
        at = session.scalar(select(func.max(WebhookDelivery.received_at)).where(
            WebhookDelivery.store_id == store_id, WebhookDelivery.topic == topic))
        last.append(dict(topic=topic, last_delivery_at=at))
    return dict(topics=last, rejected=rejections(session, store_id=store_id))


def rejections(session: Session, *, store_id: int,
               since: datetime | None = None) -> list[WebhookRejection]:
    """Deliveries refused for their signature (per cause and topic), the latest first; with
    `since`, only those refused again since then."""
    query = select(WebhookRejection).where(WebhookRejection.store_id == store_id)
    if since is not None:
        query = query.where(WebhookRejection.last_at > since)
    return list(session.scalars(query.order_by(WebhookRejection.last_at.desc())))
