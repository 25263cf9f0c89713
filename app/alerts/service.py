"""Telling merchants what bazgasht saw: raised where it happens, delivered later by the scheduler.

`raise_alert` records an event with its facts, in the caller's transaction; the scheduler's
alerts job (`deliver_alerts`) sends it to whichever channel the store has set: an SMS to its
alert phone through its own gateway, and a signed JSON POST to its alert webhook URL. A channel
that fails is retried with backoff; one that succeeded is never repeated.
"""

import base64
import hashlib
import hmac
import json
import logging
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jdatetime
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from app import outbound
from app.alerts.models import (
    FAILED,
    NOT_CONFIGURED,
    PENDING,
    SENT,
    SURVEY_LOW_RATING,
    WEBHOOK_ONLY,
    MerchantAlert,
)
from app.billing import service as billing
from app.contacts.names import clean_name, clean_text
from app.contacts.phones import InvalidPhone, normalize_phone
from app.db import unit_of_work
from app.digits import persian_digits
from app.messaging.gateway import ErrorKind, GatewayError
from app.messaging.segments import count_segments
from app.ops.fanout import DEADLINE, Deadline, fan_out
from app.stores.models import Store

log = logging.getLogger(__name__)

TEMPLATES = Path(__file__).resolve().parents[2] / "templates" / "alerts"

# Campaign messages use their own id as Kavenegar's localid (1, 2, 3, …, one sequence for every
# store, and stores may share an account). Kavenegar treats a send with a localid it has seen as
# a repeat and answers with the earlier message (for how long is undocumented), so alert 7 sent
# as localid 7 would silently "be" message 7. Alerts live far above: message ids would need a
# trillion sends to get here.
ALERT_LOCALID_BASE = 10**12
ALERT_BATCH = 50
ALERT_LEASE = timedelta(minutes=5)
ALERT_MAX_ROUNDS = 10  # with the backoff below: retried for about four hours, then failed
MAX_SMS_COMMENT = 120
WEBHOOK_DEADLINE = 10.0  # seconds for one post, the whole answer included
WEBHOOK_MAX_ANSWER = 64 * 1024  # bytes: only the status matters


def raise_alert(session: Session, store: Store, kind: str, details: dict[str, Any],
                now: datetime, *, answer_id: int | None = None) -> MerchantAlert:
    """Record an event for the merchant, to be delivered by the alerts job. Kept also when the
    store has set no channel (nothing to deliver then): it is the store's history. Kinds of
    WEBHOOK_ONLY are never sent by SMS."""
    sms = PENDING if store.alert_phone and kind not in WEBHOOK_ONLY else NOT_CONFIGURED
    webhook = PENDING if store.alert_webhook_url else NOT_CONFIGURED
    alert = MerchantAlert(store_id=store.id, kind=kind, answer_id=answer_id, details=details,
                          created_at=now, sms_status=sms, webhook_status=webhook, attempts=0,
                          next_attempt_at=now if PENDING in (sms, webhook) else None)
    session.add(alert)
    session.flush()
    log.info("store %s: %s alert %s raised", store.id, kind, alert.id)
    return alert


def raised_since(session: Session, store_id: int, kind: str, since: datetime) -> bool:
    return session.scalar(select(MerchantAlert.id).where(
        MerchantAlert.store_id == store_id, MerchantAlert.kind == kind,
        MerchantAlert.created_at >= since).limit(1)) is not None


# -- what the merchant reads --------------------------------------------------------------------

@lru_cache(maxsize=1)
def _templates() -> Environment:
    return Environment(loader=FileSystemLoader(TEMPLATES), autoescape=False,
                       undefined=StrictUndefined, keep_trailing_newline=False)


def _local_phone(e164: str | None) -> str:
    return "0" + e164[3:] if e164 and e164.startswith("+98") else (e164 or "")


def _when(iso: str | None, tz: str) -> str:
    """«۱۴۰۵/۰۹/۱۴ ساعت ۲۱:۳۰» in the store's timezone."""
    if not iso:
        return ""
    local = datetime.fromisoformat(iso).astimezone(ZoneInfo(tz))
    stamp = jdatetime.datetime.fromgregorian(datetime=local).strftime("%Y/%m/%d ساعت %H:%M")
    return persian_digits(stamp)


def _sms_context(kind: str, store: Store, details: dict[str, Any]) -> dict[str, Any]:
    context: dict[str, Any] = {"store_name": store.name}
    if kind == SURVEY_LOW_RATING:
        order, customer = details.get("order") or {}, details.get("customer") or {}
        # What the shopper typed goes out from the store's line (or the platform's): no links,
        # no phone numbers, no direction tricks (app/contacts/names.py).
        name = " ".join(p for p in (clean_name(customer.get("first_name")),
                                    clean_name(customer.get("last_name"))) if p)
        comment = clean_text(details.get("comment"), limit=MAX_SMS_COMMENT)
        return context | {
            "rating": persian_digits(details["rating"]),
            "order_number": persian_digits(order.get("number") or order.get("id")),
            "customer": " ".join(p for p in (name, _local_phone(customer.get("phone"))) if p),
            "comment": comment}
    return context | {"cause": details.get("cause"),
                      "since": _when(details.get("broken_since"), store.timezone),
                      "topics": "، ".join(details.get("topics") or [])}


def alert_sms_text(kind: str, store: Store, details: dict[str, Any]) -> str:
    text = _templates().get_template(f"{kind}.txt").render(_sms_context(kind, store, details))
    return " ".join(text.split())


def alert_localid(alert_id: int) -> int:
    return ALERT_LOCALID_BASE + alert_id


def sign_webhook(body: bytes, secret: str) -> str:
    """Like WooCommerce's own: base64 of HMAC-SHA256 of the raw body with the webhook secret."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


# -- delivery -----------------------------------------------------------------------------------

@dataclass
class AlertReport:
    claimed: int = 0
    sms_sent: int = 0
    webhooks_sent: int = 0
    retrying: int = 0
    failed: int = 0


@dataclass
class _Job:
    alert_id: int
    kind: str
    attempts: int
    store: Store
    sms_status: str
    webhook_status: str
    details: dict[str, Any]
    result: dict = field(default_factory=dict)
    charge_parts: int | None = None  # pay as you go: the parts of an SMS sent, to be charged

    @property
    def payload(self) -> dict[str, Any]:
        store = self.store
        return {"event": self.kind, "alert_id": self.alert_id,
                "store": {"id": store.id, "name": store.name, "url": store.url}, **self.details}


def _backoff(attempts: int) -> timedelta:
    return timedelta(minutes=min(2 ** max(attempts - 1, 0), 60))


def _claim(factory: sessionmaker[Session], now: datetime, limit: int) -> list[int]:
    with unit_of_work(factory) as session:
        due = session.scalars(select(MerchantAlert.id)
                              .where(MerchantAlert.next_attempt_at <= now)
                              .order_by(MerchantAlert.next_attempt_at).limit(limit)).all()
        if not due:
            return []
        # Re-checked under the row lock: a concurrent deliverer that claimed first has moved
        # next_attempt_at a lease ahead, so the row no longer matches here.
        return list(session.scalars(
            update(MerchantAlert)
            .where(MerchantAlert.id.in_(due), MerchantAlert.next_attempt_at <= now)
            .values(next_attempt_at=now + ALERT_LEASE, attempts=MerchantAlert.attempts + 1)
            .returning(MerchantAlert.id)
            .execution_options(synchronize_session=False)))


def _load_jobs(factory: sessionmaker[Session], ids: list[int]) -> list[_Job]:
    with factory() as session:
        rows = session.execute(
            select(MerchantAlert, Store).join(Store, Store.id == MerchantAlert.store_id)
            .where(MerchantAlert.id.in_(ids)).order_by(MerchantAlert.id)).all()
    return [_Job(alert_id=alert.id, kind=alert.kind, attempts=alert.attempts, store=store,
                 sms_status=alert.sms_status, webhook_status=alert.webhook_status,
                 details=alert.details or {}) for alert, store in rows]


def _send_sms(job: _Job, gateways, now: datetime) -> None:
    store, out = job.store, job.result
    if not store.alert_phone:  # removed since the alert was raised
        out.update(sms_status=NOT_CONFIGURED)
        return
    try:
        receptor = normalize_phone(store.alert_phone).e164
    except InvalidPhone as exc:
        out.update(sms_status=FAILED, sms_error=f"the store's alert phone: {exc.reason}")
        return
    gateway = gateways.for_store(store)
    localid = alert_localid(job.alert_id)
    out["sms_to"] = receptor
    text = alert_sms_text(job.kind, store, job.details)
    parts = count_segments(text).parts
    try:
        # A later round may follow a send whose answer (or deliverer) was lost: ask first.
        found = (gateway.accepted([(localid, receptor, text)]).get(localid)
                 if job.attempts > 1 else None)
        if found is None and not billing.can_afford(store, parts):
            # Pay as you go: the platform's account sends nothing the balance does not pay for.
            out.update(sms_status=FAILED, sms_error="the prepaid balance does not cover "
                       f"this SMS ({parts} part(s) at {store.sms_price_per_part} Rial)")
            return
        result = found or gateway.send(localid=localid, receptor=receptor, text=text)
    except GatewayError as exc:
        log.warning("alert %s: SMS failed: %s", job.alert_id, exc)
        final = exc.kind in (ErrorKind.RECIPIENT, ErrorKind.INVALID)
        out.update(sms_status=FAILED if final or job.attempts >= ALERT_MAX_ROUNDS else PENDING,
                   sms_error=str(exc)[:300])
        return
    out.update(sms_status=SENT, sms_gateway_id=result.gateway_id, sms_sent_at=now, sms_error=None)
    if billing.metered(store):
        job.charge_parts = parts


def _post_webhook(job: _Job, http: outbound.Client, now: datetime) -> None:
    """Through the guarded client for tenant URLs (app/outbound.py), with no transaction open.
    What is recorded of a failure is the HTTP status or our own words: nothing of the answer,
    nor of the URL (it may carry the merchant's token)."""
    store, out = job.store, job.result
    url = store.alert_webhook_url
    if not url:
        out.update(webhook_status=NOT_CONFIGURED)
        return
    out["webhook_url"] = url
    try:
        outbound.check_url(url, what="the alert webhook URL", https_only=True)
    except outbound.UrlRefused as exc:  # saved before the rule, or under the development setting
        out.update(webhook_status=FAILED, webhook_error=exc.message)
        return
    body = json.dumps(job.payload, ensure_ascii=False, separators=(",", ":")).encode()
    headers = {"Content-Type": "application/json; charset=utf-8",
               "User-Agent": "bazgasht-alerts/1",
               "X-Bazgasht-Event": job.kind,
               "X-Bazgasht-Delivery": str(job.alert_id),
               "X-Bazgasht-Signature": sign_webhook(body, store.webhook_secret)}
    try:
        answer = http.request("POST", url, content=body, headers=headers)
    except outbound.OutboundError as exc:
        error = str(exc)
        out["webhook_response"] = exc.status
        final = exc.failure == outbound.Failure.REFUSED
    else:
        out["webhook_response"] = answer.status
        if 200 <= answer.status < 300:
            out.update(webhook_status=SENT, webhook_sent_at=now, webhook_error=None)
            return
        error, final = f"HTTP {answer.status}", False
    log.warning("alert %s: webhook failed: %s", job.alert_id, error)
    out.update(webhook_status=FAILED if final or job.attempts >= ALERT_MAX_ROUNDS else PENDING,
               webhook_error=error[:300])


def deliver_alerts(factory: sessionmaker[Session], gateways, now: datetime, *,
                   http: outbound.Client | None = None, limit: int = ALERT_BATCH,
                   deadline: Deadline = DEADLINE) -> AlertReport:
    """Tell merchants what was raised: an SMS to the store's alert phone through its gateway
    (`gateways.for_store(store)`), and a signed JSON POST to its alert webhook URL.

    Called by the scheduler's alerts job. Claims due alerts, delivers with no transaction open,
    records each channel's outcome; a failed channel is retried with backoff (1, 2, 4 … 60
    minutes) for ALERT_MAX_ROUNDS rounds, a delivered one is never repeated. Stores are served
    side by side, each store's alerts one after another and then recorded in a transaction of
    their own; the report counts the stores done within `deadline` (app/ops/fanout.py).
    A store still busy then records its alerts when it is done; one that never is leaves them
    claimed until the lease runs out, and a later round asks its gateway before sending again.
    """
    report = AlertReport()
    ids = _claim(factory, now, limit)
    if not ids:
        return report
    report.claimed = len(ids)
    by_store: dict[int, list[_Job]] = {}
    for job in _load_jobs(factory, ids):
        by_store.setdefault(job.store.id, []).append(job)

    def serve(store_id: int) -> AlertReport:
        jobs = by_store[store_id]
        with _webhook_client(http, jobs) as client:
            for job in jobs:
                _deliver(job, gateways, client, now)
        return _record(factory, jobs, now)

    for done in fan_out(serve, by_store, what="merchant alerts", deadline=deadline):
        report.sms_sent += done.sms_sent
        report.webhooks_sent += done.webhooks_sent
        report.retrying += done.retrying
        report.failed += done.failed
    return report


def _webhook_client(http: outbound.Client | None, jobs: list[_Job]):
    """The caller's client, else one of the store's own when one of its alerts has a webhook
    to post (closed when the store is done, late or not)."""
    if http is not None or not any(j.webhook_status == PENDING for j in jobs):
        return nullcontext(http)
    # One immediate retry of a failed connection (nothing was sent); the rest waits for the
    # next round.
    return outbound.Client(deadline=WEBHOOK_DEADLINE, max_body=WEBHOOK_MAX_ANSWER, retries=1)


def _deliver(job: _Job, gateways, http: outbound.Client | None, now: datetime) -> None:
    try:
        if job.sms_status == PENDING:
            _send_sms(job, gateways, now)
        if job.webhook_status == PENDING and http is not None:
            _post_webhook(job, http, now)
    except Exception:  # a bug in one alert must not stop the others; the lease retries it
        log.exception("alert %s: delivery failed", job.alert_id)
        job.result.clear()
        job.result["crashed"] = True


def _record(factory: sessionmaker[Session], jobs: list[_Job], now: datetime) -> AlertReport:
    """What one store's alerts came to, written while each claim is still ours."""
    report = AlertReport()
    with unit_of_work(factory) as session:
        for job in jobs:
            values = dict(job.result)
            if values.pop("crashed", False):
                continue  # its lease runs out and a later round tries again
            if job.charge_parts:  # charged once per alert, even if our claim was lost
                billing.charge_alert(session, job.store.id, job.alert_id, job.charge_parts, now)
            sms = values.get("sms_status", job.sms_status)
            webhook = values.get("webhook_status", job.webhook_status)
            waiting = PENDING in (sms, webhook)
            values["next_attempt_at"] = now + _backoff(job.attempts) if waiting else None
            # Only while our claim holds (nobody re-claimed after the lease ran out).
            session.execute(update(MerchantAlert)
                            .where(MerchantAlert.id == job.alert_id,
                                   MerchantAlert.attempts == job.attempts)
                            .values(**values).execution_options(synchronize_session=False))
            report.sms_sent += values.get("sms_status") == SENT
            report.webhooks_sent += values.get("webhook_status") == SENT
            report.retrying += waiting
            report.failed += FAILED in (values.get("sms_status"), values.get("webhook_status"))
    return report
