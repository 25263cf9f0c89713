"""One-click connect to a store's WooCommerce, and a connection that heals itself.

Connect: the merchant is sent to the store's `/wc-auth/v1/authorize` with a one-time token as
`user_id`; WooCommerce posts the new REST keys to our callback, which checks the token, tries
the keys on the store's REST API, saves them (the admin service that sets keys, which also
releases coupons held for want of them) and registers a webhook per topic of WEBHOOK_TOPICS.

Heal (the scheduler's `connections` job): every CHECK_EVERY per store, and at once for a store
whose deliveries were refused since its last check, list the store's webhooks and put each topic
right (re-create, re-activate, set the secret and delivery URL again), then back-fill: orders
and products changed since the last back-fill are stored as webhook deliveries and applied by
the normal processor. Calls to the store are made with no transaction open; each store's work
runs under `fan_out`.

Each check also decides what the merchant hears (app/alerts): the connection broke (still
failing at the next check), was healed after that, or had webhooks disabled or deleted at the
store that the check put back.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, NamedTuple
from urllib.parse import urlencode

from pydantic import SecretStr
from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from app.admin import service as admin
from app.admin.schemas import StoreSettingsPatch
from app.alerts.models import CONNECTION_BROKEN, CONNECTION_HEALED, CONNECTION_REPAIRED
from app.alerts.service import raise_alert, raised_since
from app.clock import Clock, SettableClock
from app.commerce.models import Order, Product
from app.commerce.topics import WEBHOOK_TOPICS
from app.commerce.woocommerce_api import (
    Kind,
    WcWebhook,
    WooCommerceClient,
    WooCommerceError,
    check_store_url,
)
from app.connection.models import (
    FAILED,
    HEALTHY,
    OK,
    REACTIVATED,
    RECREATED,
    REGISTERED,
    REPAIRS,
    REUSED,
    UPDATED,
    StoreWebhook,
)
from app.db import unit_of_work
from app.errors import Conflict, DomainError, Unauthorized
from app.ingest.models import WebhookRejection
from app.ingest.service import delivery_row, insert_deliveries
from app.ops.fanout import DEADLINE, Deadline, fan_out
from app.outbound import UrlRefused
from app.signing import sign
from app.stores.models import Store
from app.stores.service import get_store, webhook_url

log = logging.getLogger(__name__)

APP_NAME = "bazgasht"
TOKEN_TTL = timedelta(hours=1)
CHECK_EVERY = timedelta(minutes=15)
LEASE = timedelta(minutes=10)  # a round's hold on a store it checks
BROKEN_AFTER = timedelta(minutes=10)  # failing still at the next check: the merchant is told
# Back-fill asks for what changed after the watermark minus this: WordPress's filter is
# exclusive and to the second, and the store's clock is not ours. What comes twice is deduped.
MARGIN = timedelta(minutes=5)
BACKFILL_WEBHOOK_ID = "backfill"  # marks deliveries the back-fill stored
WEBHOOK_NAME = "bazgasht {topic}"


class TokenInvalid(Unauthorized, code="connect_token_invalid"):
    pass


class TokenExpired(Unauthorized, code="connect_token_expired"):
    pass


class TokenUsed(Conflict, code="connect_token_used"):
    pass


class WrongPermissions(DomainError, status=400, code="connect_permissions"):
    pass


class KeysRefused(DomainError, status=400, code="connect_keys_refused"):
    pass


# -- the one-time token ------------------------------------------------------------------------

def _nonce_hash(nonce: str) -> str:
    return hashlib.sha256(nonce.encode()).hexdigest()


def _signature(store: Store, body: str) -> str:
    return sign(store.webhook_secret, "bazgasht-connect.", body)


def new_token(store: Store, now: datetime) -> str:
    """`store_id.expiry.nonce.signature`, signed with the store's webhook secret; the nonce's
    hash is kept on the store (a newer token replaces an older one; a used one is cleared)."""
    nonce = secrets.token_urlsafe(18).replace(".", "_")
    expires = int((now + TOKEN_TTL).timestamp())
    body = f"{store.id}.{expires}.{nonce}"
    store.wc_connect_nonce_hash = _nonce_hash(nonce)
    return f"{body}.{_signature(store, body)}"


def authorize_url(session: Session, store: Store, *, public_url: str, now: datetime) -> str:
    try:
        base = check_store_url(store.url)
    except UrlRefused as exc:
        raise DomainError(exc.message, code=exc.code, status_code=422) from None
    token = new_token(store, now)
    session.flush()
    query = urlencode({
        "app_name": APP_NAME, "scope": "read_write", "user_id": token,
        "return_url": f"{public_url}/panel/settings?connect=done",
        "callback_url": callback_url(public_url, store.id)})
    return f"{base}/wc-auth/v1/authorize?{query}"


def callback_url(public_url: str, store_id: int) -> str:
    return f"{public_url.rstrip('/')}/connect/woocommerce/{store_id}"


def _read_token(store: Store, token: str, now: datetime) -> str:
    """The token's nonce, if the token is this store's, well signed and not expired."""
    parts = token.split(".")
    if len(parts) != 4 or parts[0] != str(store.id) or not parts[1].isdigit():
        raise TokenInvalid("user_id is not a connect token of this store: start again from "
                           "bazgasht's settings")
    body = ".".join(parts[:3])
    if not hmac.compare_digest(_signature(store, body), parts[3]):
        raise TokenInvalid("user_id's signature does not match: start again from bazgasht's "
                           "settings")
    if int(parts[1]) < now.timestamp():
        raise TokenExpired("the connect link has expired (it lasts an hour): start again from "
                           "bazgasht's settings")
    return parts[2]


def _store_or_stand_in(session: Session, store_id: int) -> Store:
    """The store, or for a missing one a stand-in whose secret nobody has: its token is refused
    as a store's would be, so trying ids tells an outsider nothing."""
    return session.get(Store, store_id) or Store(id=store_id,
                                                 webhook_secret=secrets.token_hex(20))


def claim_token(factory: sessionmaker[Session], store_id: int, token: str, now: datetime) -> None:
    """Check the token and use it up (once: a compare-and-clear of the nonce's hash)."""
    with unit_of_work(factory) as session:
        store = _store_or_stand_in(session, store_id)
        nonce = _read_token(store, token, now)
        done = session.execute(
            update(Store).where(Store.id == store_id,
                                Store.wc_connect_nonce_hash == _nonce_hash(nonce))
            .values(wc_connect_nonce_hash=None).returning(Store.id)
            .execution_options(synchronize_session=False)).first()
        if done is None:
            raise TokenUsed("this connect link was used already, or a newer one was made: "
                            "start again from bazgasht's settings")


# -- the callback ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Keys:
    consumer_key: str
    consumer_secret: str

    def __repr__(self) -> str:
        return "Keys(consumer_key='***', consumer_secret='***')"


def _client(url: str, keys: Keys, clock: Clock, verify=None) -> WooCommerceClient:
    """The store's client (app/outbound.py guards it: the store URL is the merchant's choice).
    Every call through it here is made with no transaction open: sessions are closed first."""
    return WooCommerceClient(url, keys.consumer_key, keys.consumer_secret, clock=clock,
                             verify=verify)


def connect(factory: sessionmaker[Session], store_id: int, *, token: str, keys: Keys,
            permissions: str, public_url: str, clock: Clock, verify=None) -> dict[str, str]:
    """WooCommerce's callback with the new keys: check, save, register. Returns each topic's
    status. Raises (4xx) before the keys are saved; never after."""
    now = clock.now()
    with factory() as session:
        _read_token(_store_or_stand_in(session, store_id), token, now)
    if permissions != "read_write":
        raise WrongPermissions(f"key_permissions is {permissions[:20]!r}: bazgasht needs "
                               "read_write (it registers webhooks and makes coupons)")
    claim_token(factory, store_id, token, now)
    with factory() as session:
        url = get_store(session, store_id).url
    try:
        with _client(url, keys, clock, verify) as client:
            listed = client.list_webhooks()
    except (WooCommerceError, ValueError) as exc:
        raise KeysRefused(f"the store did not accept the new keys: {exc}") from None
    with unit_of_work(factory) as session:
        store = get_store(session, store_id)
        admin.update_settings(session, store=store, now=now, patch=StoreSettingsPatch(
            wc_consumer_key=SecretStr(keys.consumer_key),
            wc_consumer_secret=SecretStr(keys.consumer_secret)))
        _start_watermarks(session, store, now)
    # The keys are saved: from here on WooCommerce must get its 200, whatever fails.
    results = _heal(factory, store_id, now, public_url=public_url, clock=clock, verify=verify,
                    listed=listed, connecting=True)
    return {topic: result.status for topic, result in results.items()}


def _start_watermarks(session: Session, store: Store, now: datetime) -> None:
    """Back-fill starts from the newest change bazgasht applied, or from now (a new connection
    does not replay the store's history into the campaigns)."""
    for model, column in ((Order, "orders_synced_to"), (Product, "products_synced_to")):
        if getattr(store, column) is None:
            newest = session.scalar(select(func.max(model.modified_gmt))
                                    .where(model.store_id == store.id))
            setattr(store, column, min(newest, now) if newest is not None else now)


# -- putting the webhooks right ----------------------------------------------------------------

class Result(NamedTuple):
    status: str
    wc_id: int | None       # the webhook's id at the store
    error: str | None = None
    cause: str | None = None  # of a failure: KEYS_REFUSED, STORE_UNREACHABLE or STORE_REFUSED


# Why a check failed, as the merchant's alert says it.
KEYS_REFUSED, STORE_UNREACHABLE, STORE_REFUSED = "keys_refused", "store_unreachable", "store_refused"


def _failed(exc: Exception, wc_id: int | None) -> Result:
    kind = getattr(exc, "kind", None)
    cause = (KEYS_REFUSED if kind == Kind.AUTH else STORE_UNREACHABLE if kind == Kind.RETRY
             else STORE_REFUSED)
    return Result(FAILED, wc_id, str(exc)[:300], cause)


def _pick(listed: list[WcWebhook], topic: str, known: int | None,
          delivery_url: str) -> WcWebhook | None:
    same = [w for w in listed if w.topic == topic]
    for match in (lambda w: w.id == known, lambda w: w.delivery_url == delivery_url,
                  lambda w: w.name == WEBHOOK_NAME.format(topic=topic)):
        found = sorted((w for w in same if match(w)), key=lambda w: (w.status != "active", w.id))
        if found:
            return found[0]
    return None


def sync_webhooks(client: WooCommerceClient, listed: list[WcWebhook], *, delivery_url: str,
                  secret: str, known: dict[str, int | None], suspect: set[str],
                  connecting: bool) -> dict[str, Result]:
    """Each needed topic's webhook put right: created when missing, set active, its delivery URL
    and secret set again when they may have drifted (`suspect`: deliveries of the topic were
    refused). A topic that fails does not stop the others."""
    results: dict[str, Result] = {}
    for topic in WEBHOOK_TOPICS:
        mine = _pick(listed, topic, known.get(topic), delivery_url)
        try:
            if mine is None:
                made = client.create_webhook(WEBHOOK_NAME.format(topic=topic), topic,
                                             delivery_url, secret)
                status = RECREATED if known.get(topic) and not connecting else REGISTERED
                results[topic] = Result(status, made.id)
                continue
            fields: dict[str, str] = {}
            if mine.status != "active":
                fields["status"] = "active"
            if mine.delivery_url != delivery_url:
                fields["delivery_url"] = delivery_url
            if fields or connecting or topic in suspect:
                fields["secret"] = secret
                client.update_webhook(mine.id, **fields)
            status = (REACTIVATED if "status" in fields else REUSED if connecting
                      else UPDATED if fields else OK)
            results[topic] = Result(status, mine.id)
        except WooCommerceError as exc:
            results[topic] = _failed(exc, mine.id if mine else known.get(topic))
    return results


def _suspect_topics(session: Session, store: Store) -> set[str]:
    """Topics whose deliveries were refused since the last check ("": all of them); all of
    them after the webhook secret was rotated (the rotation made the store due at once)."""
    if store.connection_checked_at is None and store.previous_webhook_secret_until is not None:
        return set(WEBHOOK_TOPICS)
    query = select(WebhookRejection.topic).where(WebhookRejection.store_id == store.id)
    if store.connection_checked_at is not None:
        query = query.where(WebhookRejection.last_at > store.connection_checked_at)
    topics = set(session.scalars(query))
    return set(WEBHOOK_TOPICS) if "" in topics else topics


def _record(session: Session, store_id: int, results: dict[str, Result], now: datetime) -> None:
    rows = {r.topic: r for r in session.scalars(
        select(StoreWebhook).where(StoreWebhook.store_id == store_id))}
    for topic, result in results.items():
        row = rows.get(topic) or StoreWebhook(store_id=store_id, topic=topic)
        row.status, row.wc_webhook_id, row.error = result.status, result.wc_id, result.error
        row.checked_at = now
        session.add(row)
    store = get_store(session, store_id)
    store.connection_checked_at = now
    _tell_the_merchant(session, store, results, now)


def _tell_the_merchant(session: Session, store: Store, results: dict[str, Result],
                       now: datetime) -> None:
    """Alert the merchant when the connection breaks (a check still fails BROKEN_AFTER after
    the first failure: one blip is not worth an SMS), again when it is healed, and when a check
    found webhooks disabled or deleted at the store and put them back."""
    failed = [r for r in results.values() if r.status == FAILED]
    since = store.connection_broken_at
    if failed:
        if since is None:
            store.connection_broken_at = now
        elif now - since >= BROKEN_AFTER and not raised_since(session, store.id,
                                                               CONNECTION_BROKEN, since):
            causes = {r.cause for r in failed}
            cause = next(c for c in (KEYS_REFUSED, STORE_REFUSED, STORE_UNREACHABLE)
                         if c in causes)
            raise_alert(session, store, CONNECTION_BROKEN, {
                "cause": cause, "broken_since": since.isoformat(),
                "topics": [t for t, r in results.items() if r.status == FAILED]}, now)
        return
    store.connection_broken_at = None
    if since is not None and raised_since(session, store.id, CONNECTION_BROKEN, since):
        raise_alert(session, store, CONNECTION_HEALED, {
            "broken_since": since.isoformat(),
            "topics": [t for t, r in results.items() if r.status in REPAIRS]}, now)
        return
    put_back = [t for t, r in results.items() if r.status in (REACTIVATED, RECREATED)]
    if put_back:
        raise_alert(session, store, CONNECTION_REPAIRED, {"topics": put_back}, now)


def _heal(factory: sessionmaker[Session], store_id: int, now: datetime, *, public_url: str,
          clock: Clock, verify=None, listed: list[WcWebhook] | None = None,
          connecting: bool = False) -> dict[str, Result]:
    """Check and repair one store's webhooks, then back-fill; every call with no transaction
    open. Records each topic's result and when."""
    with factory() as session:
        store = get_store(session, store_id)
        keys = Keys(store.wc_consumer_key or "", store.wc_consumer_secret or "")
        url, secret = store.url, store.webhook_secret
        known = {r.topic: r.wc_webhook_id for r in session.scalars(
            select(StoreWebhook).where(StoreWebhook.store_id == store_id))}
        suspect = _suspect_topics(session, store)
    delivery_url = webhook_url(public_url, store_id)
    results: dict[str, Result]
    try:
        client = _client(url, keys, clock, verify)
    except ValueError as exc:
        results = {t: _failed(exc, known.get(t)) for t in WEBHOOK_TOPICS}
    else:
        with client:
            try:
                if listed is None:
                    listed = client.list_webhooks()
            except WooCommerceError as exc:
                results = {t: _failed(exc, known.get(t)) for t in WEBHOOK_TOPICS}
            else:
                results = sync_webhooks(client, listed, delivery_url=delivery_url,
                                        secret=secret, known=known, suspect=suspect,
                                        connecting=connecting)
            with unit_of_work(factory) as session:
                _record(session, store_id, results, now)
            if all(result.status in HEALTHY for result in results.values()):
                try:
                    backfill(factory, client, store_id, now)
                except WooCommerceError as exc:
                    log.warning("store %s: back-fill stopped: %s", store_id, exc)
        return results
    with unit_of_work(factory) as session:
        _record(session, store_id, results, now)
    return results


# -- back-fill ---------------------------------------------------------------------------------

def _modified(raw: dict[str, Any]) -> datetime | None:
    """`date_modified_gmt`: UTC without a zone."""
    try:
        parsed = datetime.fromisoformat(str(raw.get("date_modified_gmt") or ""))
    except ValueError:
        return None
    return parsed.replace(tzinfo=timezone.utc) if parsed.tzinfo is None else parsed


def backfill(factory: sessionmaker[Session], client: WooCommerceClient, store_id: int,
             now: datetime) -> int:
    """Orders and products changed since the store's watermarks, stored as deliveries (topic
    `order.updated`/`product.updated`, webhook id "backfill") for the normal processor, which
    applies them exactly as WooCommerce's own; what bazgasht already has at that modified date
    is left out. Returns how many were stored."""
    stored = 0
    kinds: tuple[tuple[str, Any, Callable[..., Iterator[dict[str, Any]]]], ...] = (
        ("orders_synced_to", Order, client.orders_modified_since),
        ("products_synced_to", Product, client.products_modified_since))
    for column, model, walk in kinds:
        with factory() as session:
            after = getattr(get_store(session, store_id), column)
        if after is None:  # no watermark yet: from now on
            with unit_of_work(factory) as session:
                session.execute(update(Store).where(Store.id == store_id)
                                .values({column: now}))
            continue
        found = list(walk(after - MARGIN))
        if not found:
            continue
        topic = "order.updated" if model is Order else "product.updated"
        newest = max((m for m in map(_modified, found) if m is not None), default=after)
        with unit_of_work(factory) as session:
            have: dict[int, datetime | None] = dict(session.execute(select(model.wc_id, model.modified_gmt).where(
                model.store_id == store_id, model.wc_id.in_([r["id"] for r in found]))).all())
            rows = []
            for raw in found:
                modified, held = _modified(raw), have.get(raw["id"])
                if held is not None and modified is not None and modified <= held:
                    continue  # applied already (from its webhook, or an earlier back-fill)
                body = json.dumps(raw, ensure_ascii=False, separators=(",", ":")).encode()
                rows.append(delivery_row(store_id=store_id, topic=topic,
                                         webhook_id=BACKFILL_WEBHOOK_ID,
                                         delivery_id=f"backfill {raw['id']}", body=body,
                                         received_at=now))
            insert_deliveries(session.connection(), rows)
            session.execute(update(Store).where(
                Store.id == store_id,
                or_(getattr(Store, column).is_(None), getattr(Store, column) < newest))
                .values({column: newest}))
            stored += len(rows)
    if stored:
        log.info("store %s: back-filled %d changes", store_id, stored)
    return stored


# -- the scheduler's job -----------------------------------------------------------------------

def due_stores(session: Session, now: datetime, every: timedelta = CHECK_EVERY) -> list[int]:
    """Stores with REST keys not checked for `every`, or with a delivery refused since, that no
    round holds right now."""
    refused = select(WebhookRejection.id).where(
        WebhookRejection.store_id == Store.id,
        WebhookRejection.last_at > Store.connection_checked_at).exists()
    return list(session.scalars(select(Store.id).where(
        Store.enabled, Store.wc_consumer_key.is_not(None), Store.wc_consumer_secret.is_not(None),
        or_(Store.connection_leased_until.is_(None), Store.connection_leased_until <= now),
        or_(Store.connection_checked_at.is_(None), Store.connection_checked_at <= now - every,
            refused)).order_by(Store.connection_checked_at.is_not(None),
                               Store.connection_checked_at, Store.id)))


def check_connections(factory: sessionmaker[Session], now: datetime, *, public_url: str,
                      deadline: Deadline = DEADLINE, verify=None, limit: int = 200) -> int:
    """One round of the `connections` job: each due store checked, healed and back-filled side
    by side (fan_out); returns how many were done within the deadline."""
    with unit_of_work(factory) as session:
        ids = _lease(session, due_stores(session, now)[:limit], now)

    def serve(store_id: int) -> dict[str, Result]:
        try:
            return _heal(factory, store_id, now, public_url=public_url,
                         clock=SettableClock(now), verify=verify)
        finally:
            with unit_of_work(factory) as session:
                session.execute(update(Store).where(Store.id == store_id)
                                .values(connection_leased_until=None))

    return len(fan_out(serve, ids, what="connections", deadline=deadline))


def _lease(session: Session, ids: list[int], now: datetime) -> list[int]:
    """The stores of `ids` this round takes: each leased for LEASE, so a round running at the
    same time (no lock is held while stores are called) leaves them alone; a round that dies
    leaves them to the next once the lease runs out."""
    if not ids:
        return []
    taken = set(session.scalars(
        update(Store).where(Store.id.in_(ids), or_(Store.connection_leased_until.is_(None),
                                                   Store.connection_leased_until <= now))
        .values(connection_leased_until=now + LEASE).returning(Store.id)
        .execution_options(synchronize_session=False)))
    return [i for i in ids if i in taken]


def topic_results(session: Session, store_id: int) -> list[StoreWebhook]:
    order = {t: i for i, t in enumerate(WEBHOOK_TOPICS)}
    rows = session.scalars(select(StoreWebhook).where(StoreWebhook.store_id == store_id)).all()
    return sorted(rows, key=lambda r: order.get(r.topic, len(order)))
