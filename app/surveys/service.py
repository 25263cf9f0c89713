"""Post-purchase surveys: signed survey links, one answer per order, alerts for low ratings.

The survey link is `{public_url}/survey/{token}`. The token is the survey message's id followed by
a 96-bit HMAC-SHA256 tag, base64url without padding (about 20 characters):

- stateless: nothing to store or look up but the message row itself, and a retried send renders
  the same URL (the SMS text stays identical, as localid deduplication expects);
- unforgeable and unguessable: a 96-bit tag cannot be found by guessing over HTTP, and the key is
  per store, so a token of one store says nothing about another's;
- the key is derived from the store's webhook secret under a label of its own, so a survey tag can
  never double as a WooCommerce body signature or the reverse. Rotating that secret invalidates
  the links already sent; the merchant, who knows the secret, could forge links to their own
  store's surveys only, which gains them nothing they cannot do in their own shop.

Through the message the token reaches its enrollment, whose subject is the order being rated:
the campaign engine answers that (app.campaigns.service.message_subject), handed over by the
edge, because the engine imports surveys and dependencies point one way.
"""

import base64
import binascii
import hashlib
import hmac
import json
import logging
import re
from collections.abc import Callable, Mapping
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from app.commerce.models import Order, Product
from app.contacts.models import Contact
from app.contacts.phones import InvalidPhone, normalize_phone
from app.db import unit_of_work
from app.digits import latin_digits, persian_digits
from app.errors import Conflict, DomainError, NotFound
from app.http import tls
from app.messaging.gateway import ErrorKind, GatewayError
from app.ops.fanout import DEADLINE, Deadline, fan_out
from app.stores.models import Store
from app.surveys.models import (
    FAILED,
    NOT_CONFIGURED,
    PENDING,
    SENT,
    SurveyAlert,
    SurveyAnswer,
)

log = logging.getLogger(__name__)

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"

TAG_BYTES = 12
_KEY_LABEL = b"bazgasht/survey-link/v1"
_TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{16,32}")
MAX_ID_BYTES = 7  # ids below 2**56: never near BIGINT's limit, so a lookup cannot overflow

MAX_COMMENT = 500  # characters, after line endings are folded to one character
LOW_RATING = 2     # at or below: the merchant is alerted
HIGH_RATING = 4    # at or above: the customer is asked for a public review
MAX_REVIEW_LINKS = 3

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
WEBHOOK_TIMEOUT = httpx.Timeout(10.0, connect=5.0)


class SurveyNotFound(NotFound):
    code = "survey_not_found"


class InvalidAnswer(DomainError):
    """The form was not a valid answer; `codes` name every problem (the page words them)."""

    status_code = 422
    code = "invalid_answer"

    def __init__(self, codes: list[str], *, rating: int | None, comment: str):
        super().__init__(", ".join(codes))
        self.codes, self.rating, self.comment = codes, rating, comment


class AlreadyAnswered(Conflict):
    code = "survey_already_answered"

    def __init__(self, answer: SurveyAnswer):
        super().__init__("this order's survey was already answered")
        self.answer = answer


# -- links ------------------------------------------------------------------------------------

def _tag(store: Store, payload: bytes) -> bytes:
    key = hmac.new(store.webhook_secret.encode(), _KEY_LABEL, hashlib.sha256).digest()
    return hmac.new(key, payload, hashlib.sha256).digest()[:TAG_BYTES]


def survey_token(store: Store, message_id: int) -> str:
    if not 0 < message_id < 2 ** (8 * MAX_ID_BYTES):
        raise ValueError(f"message id out of range: {message_id}")
    payload = message_id.to_bytes((message_id.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(payload + _tag(store, payload)).rstrip(b"=").decode()


def survey_url(public_url: str, store: Store, message_id: int) -> str:
    """The link a survey SMS carries: `{public_url}/survey/{token}`."""
    return f"{public_url.rstrip('/')}/survey/{survey_token(store, message_id)}"


def _parse_token(token: str) -> tuple[int, bytes, bytes] | None:
    """(message id, payload, tag) of a well-formed token, or None. Says nothing of validity."""
    if not _TOKEN_SHAPE.fullmatch(token):
        return None
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError):
        return None
    payload, tag = raw[:-TAG_BYTES], raw[-TAG_BYTES:]
    if not 1 <= len(payload) <= MAX_ID_BYTES or payload[0] == 0:
        return None
    # One token per message: reject other spellings of the same bytes (unused trailing bits).
    if base64.urlsafe_b64encode(raw).rstrip(b"=").decode() != token:
        return None
    return int.from_bytes(payload, "big"), payload, tag


# -- the survey page --------------------------------------------------------------------------

@dataclass
class Survey:
    token: str
    store: Store
    order: Order
    message_id: int
    answer: SurveyAnswer | None

    @property
    def order_number(self) -> str:
        return persian_digits(self.order.number or self.order.wc_id)

    @property
    def product_names(self) -> list[str]:
        return [i["name"] for i in self.order.items or [] if i.get("name")]


@dataclass(frozen=True)
class ReviewLink:
    url: str
    product_name: str | None = None  # None: the store's home page, no product known


# (store id, subject type, subject id) of a message id, or None.
MessageSubject = Callable[..., tuple[int, str, int] | None]


def open_survey(session: Session, *, token: str, message_subject: MessageSubject) -> Survey:
    """The survey a token opens; SurveyNotFound for anything forged, garbled or gone."""
    parsed = _parse_token(token)
    if parsed is None:
        raise SurveyNotFound("no such survey")
    message_id, payload, tag = parsed
    found = message_subject(session, message_id=message_id)
    store = session.get(Store, found[0]) if found else None
    if found is None or store is None or not hmac.compare_digest(tag, _tag(store, payload)):
        raise SurveyNotFound("no such survey")
    _, subject_type, subject_id = found
    order = session.get(Order, subject_id) if subject_type == "order" else None
    if order is None or order.store_id != store.id:
        raise SurveyNotFound("the survey's order is gone")
    answer = session.scalar(select(SurveyAnswer).where(SurveyAnswer.order_id == order.id))
    return Survey(token=token, store=store, order=order, message_id=message_id, answer=answer)


# Controls other than tab and newline: NUL is refused by PostgreSQL, the rest are noise.
_CONTROLS = dict.fromkeys(c for c in range(32) if c not in (9, 10)) | {127: None}


def _rating(raw: str | None) -> int | None:
    value = latin_digits((raw or "").strip())
    return int(value) if value in {"1", "2", "3", "4", "5"} else None


def _comment(raw: str | None) -> str:
    # Browsers send a textarea's line breaks as CRLF but count them as one toward maxlength.
    return (raw or "").replace("\r\n", "\n").replace("\r", "\n").translate(_CONTROLS).strip()


def submit_answer(session: Session, *, survey: Survey, form: Mapping[str, str],
                  now: datetime) -> SurveyAnswer:
    """Record the customer's answer; a low rating also records an alert for the merchant.

    Raises AlreadyAnswered when the order has its answer (also when a concurrent submit got there
    first: the unique order_id decides), InvalidAnswer when the form is not a valid answer.
    """
    if survey.answer is not None:
        raise AlreadyAnswered(survey.answer)
    rating, comment = _rating(form.get("rating")), _comment(form.get("comment"))
    problems = []
    if rating is None:
        problems.append("rating_missing" if not (form.get("rating") or "").strip()
                        else "rating_invalid")
    if len(comment) > MAX_COMMENT:
        problems.append("comment_too_long")
    if problems:
        raise InvalidAnswer(problems, rating=rating, comment=comment)

    answer = SurveyAnswer(store_id=survey.store.id, order_id=survey.order.id,
                          message_id=survey.message_id, rating=rating, comment=comment or None,
                          answered_at=now)
    try:
        with session.begin_nested():
            session.add(answer)
    except IntegrityError:
        existing = session.scalar(select(SurveyAnswer).where(
            SurveyAnswer.order_id == survey.order.id))
        if existing is None:  # not a duplicate: the order (or message) vanished meanwhile
            raise SurveyNotFound("the survey's order is gone") from None
        raise AlreadyAnswered(existing) from None
    if rating <= LOW_RATING:
        store = survey.store
        sms = PENDING if store.alert_phone else NOT_CONFIGURED
        webhook = PENDING if store.alert_webhook_url else NOT_CONFIGURED
        session.add(SurveyAlert(store_id=store.id, answer_id=answer.id, created_at=now,
                                sms_status=sms, webhook_status=webhook, attempts=0,
                                next_attempt_at=now if PENDING in (sms, webhook) else None))
        session.flush()
    return answer


def _same_site(url: str, site: str) -> bool:
    """Whether `url` is an http(s) page of the store's own site (www. or not)."""
    target, home = urlsplit(url), urlsplit(site)
    if target.scheme not in ("http", "https") or not target.hostname or not home.hostname:
        return False
    return target.hostname.removeprefix("www.") == home.hostname.removeprefix("www.")


def review_links(session: Session, survey: Survey) -> list[ReviewLink]:
    """Where a happy customer can review what they bought: each known product's reviews,
    else the store's home page."""
    store = survey.store
    ids = list(dict.fromkeys(i.get("product_id") for i in survey.order.items or []
                             if i.get("product_id")))
    products = {p.wc_id: p for p in session.scalars(select(Product).where(
        Product.store_id == store.id, Product.wc_id.in_(ids), Product.deleted_at.is_(None)))
        } if ids else {}
    links = []
    for wc_id in ids:
        product = products.get(wc_id)
        if product is not None and product.permalink and _same_site(product.permalink, store.url):
            links.append(ReviewLink(url=product.permalink.split("#")[0] + "#reviews",
                                    product_name=product.name or None))
        if len(links) == MAX_REVIEW_LINKS:
            break
    return links or [ReviewLink(url=store.url)]


# -- merchant alerts --------------------------------------------------------------------------

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
    attempts: int
    store: Store
    sms_status: str
    webhook_status: str
    payload: dict
    sms_context: dict
    result: dict = field(default_factory=dict)


@lru_cache(maxsize=1)
def _alert_template():
    env = Environment(loader=FileSystemLoader(TEMPLATES / "surveys"), autoescape=False,
                      undefined=StrictUndefined, keep_trailing_newline=False)
    return env.get_template("alert_sms.txt")


def alert_sms_text(context: dict) -> str:
    return " ".join(_alert_template().render(context).split())


def alert_localid(alert_id: int) -> int:
    return ALERT_LOCALID_BASE + alert_id


def sign_webhook(body: bytes, secret: str) -> str:
    """Like WooCommerce's own: base64 of HMAC-SHA256 of the raw body with the webhook secret."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def _backoff(attempts: int) -> timedelta:
    return timedelta(minutes=min(2 ** max(attempts - 1, 0), 60))


def _local_phone(e164: str | None) -> str:
    return "0" + e164[3:] if e164 and e164.startswith("+98") else (e164 or "")


def _claim(factory: sessionmaker[Session], now: datetime, limit: int) -> list[int]:
    with unit_of_work(factory) as session:
        due = session.scalars(select(SurveyAlert.id)
                              .where(SurveyAlert.next_attempt_at <= now)
                              .order_by(SurveyAlert.next_attempt_at).limit(limit)).all()
        if not due:
            return []
        # Re-checked under the row lock: a concurrent deliverer that claimed first has moved
        # next_attempt_at a lease ahead, so the row no longer matches here.
        return list(session.scalars(
            update(SurveyAlert)
            .where(SurveyAlert.id.in_(due), SurveyAlert.next_attempt_at <= now)
            .values(next_attempt_at=now + ALERT_LEASE, attempts=SurveyAlert.attempts + 1)
            .returning(SurveyAlert.id)
            .execution_options(synchronize_session=False)))


def _load_jobs(factory: sessionmaker[Session], ids: list[int]) -> list[_Job]:
    with factory() as session:
        rows = session.execute(
            select(SurveyAlert, SurveyAnswer, Order, Store, Contact.phone)
            .join(SurveyAnswer, SurveyAnswer.id == SurveyAlert.answer_id)
            .join(Order, Order.id == SurveyAnswer.order_id)
            .join(Store, Store.id == SurveyAlert.store_id)
            .outerjoin(Contact, Contact.id == Order.contact_id)
            .where(SurveyAlert.id.in_(ids)).order_by(SurveyAlert.id)).all()
    jobs = []
    for alert, answer, order, store, phone in rows:
        phone = phone or order.phone_raw or None
        name = " ".join(p for p in (order.first_name, order.last_name) if p)
        payload = {
            "event": "survey.low_rating",
            "alert_id": alert.id,
            "store": {"id": store.id, "name": store.name, "url": store.url},
            "order": {"id": order.wc_id, "number": order.number},
            "rating": answer.rating,
            "comment": answer.comment,
            "answered_at": answer.answered_at.isoformat(),
            "customer": {"first_name": order.first_name, "last_name": order.last_name,
                         "phone": phone},
        }
        comment = answer.comment or ""
        if len(comment) > MAX_SMS_COMMENT:
            comment = comment[:MAX_SMS_COMMENT - 1].rstrip() + "…"
        sms_context = {"store_name": store.name, "rating": persian_digits(answer.rating),
                       "order_number": persian_digits(order.number or order.wc_id),
                       "customer": " ".join(p for p in (name, _local_phone(phone)) if p),
                       "comment": comment}
        jobs.append(_Job(alert_id=alert.id, attempts=alert.attempts, store=store,
                         sms_status=alert.sms_status, webhook_status=alert.webhook_status,
                         payload=payload, sms_context=sms_context))
    return jobs


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
    try:
        # A later round may follow a send whose answer (or deliverer) was lost: ask first.
        found = gateway.accepted([localid]).get(localid) if job.attempts > 1 else None
        result = found or gateway.send(localid=localid, receptor=receptor,
                                       text=alert_sms_text(job.sms_context))
    except GatewayError as exc:
        log.warning("survey alert %s: SMS failed: %s", job.alert_id, exc)
        final = exc.kind in (ErrorKind.RECIPIENT, ErrorKind.INVALID)
        out.update(sms_status=FAILED if final or job.attempts >= ALERT_MAX_ROUNDS else PENDING,
                   sms_error=str(exc)[:300])
        return
    out.update(sms_status=SENT, sms_gateway_id=result.gateway_id, sms_sent_at=now, sms_error=None)


def _post_webhook(job: _Job, http: httpx.Client, now: datetime) -> None:
    store, out = job.store, job.result
    url = store.alert_webhook_url
    if not url:
        out.update(webhook_status=NOT_CONFIGURED)
        return
    out["webhook_url"] = url
    if urlsplit(url).scheme not in ("http", "https"):
        out.update(webhook_status=FAILED, webhook_error="the alert webhook URL is not http(s)")
        return
    body = json.dumps(job.payload, ensure_ascii=False, separators=(",", ":")).encode()
    headers = {"Content-Type": "application/json; charset=utf-8",
               "User-Agent": "bazgasht-alerts/1",
               "X-Bazgasht-Event": "survey.low_rating",
               "X-Bazgasht-Delivery": str(job.alert_id),
               "X-Bazgasht-Signature": sign_webhook(body, store.webhook_secret)}
    try:
        response = http.post(url, content=body, headers=headers)
    except httpx.HTTPError as exc:
        # The exception's text, never the URL: a webhook URL may carry the merchant's token.
        error = f"{type(exc).__name__}: {exc}"
        out["webhook_response"] = None
    else:
        out["webhook_response"] = response.status_code
        if response.is_success:
            out.update(webhook_status=SENT, webhook_sent_at=now, webhook_error=None)
            return
        error = f"HTTP {response.status_code}"
    log.warning("survey alert %s: webhook failed: %s", job.alert_id, error)
    out.update(webhook_status=FAILED if job.attempts >= ALERT_MAX_ROUNDS else PENDING,
               webhook_error=error[:300])


def deliver_alerts(factory: sessionmaker[Session], gateways, now: datetime, *,
                   http: httpx.Client | None = None, limit: int = ALERT_BATCH,
                   deadline: Deadline = DEADLINE) -> AlertReport:
    """Tell merchants about low ratings: an SMS to the store's alert phone through its gateway
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

    for done in fan_out(serve, by_store, what="survey alerts", deadline=deadline):
        report.sms_sent += done.sms_sent
        report.webhooks_sent += done.webhooks_sent
        report.retrying += done.retrying
        report.failed += done.failed
    return report


def _webhook_client(http: httpx.Client | None, jobs: list[_Job]):
    """The caller's client, else one of the store's own when one of its alerts has a webhook
    to post (closed when the store is done, late or not)."""
    if http is not None or not any(j.webhook_status == PENDING for j in jobs):
        return nullcontext(http)
    # One immediate retry of a failed connection (nothing was sent); the rest waits for the
    # next round.
    return httpx.Client(timeout=WEBHOOK_TIMEOUT, follow_redirects=False,
                        transport=httpx.HTTPTransport(retries=1, verify=tls()))


def _deliver(job: _Job, gateways, http: httpx.Client | None, now: datetime) -> None:
    try:
        if job.sms_status == PENDING:
            _send_sms(job, gateways, now)
        if job.webhook_status == PENDING and http is not None:
            _post_webhook(job, http, now)
    except Exception:  # a bug in one alert must not stop the others; the lease retries it
        log.exception("survey alert %s: delivery failed", job.alert_id)
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
            sms = values.get("sms_status", job.sms_status)
            webhook = values.get("webhook_status", job.webhook_status)
            waiting = PENDING in (sms, webhook)
            values["next_attempt_at"] = now + _backoff(job.attempts) if waiting else None
            # Only while our claim holds (nobody re-claimed after the lease ran out).
            session.execute(update(SurveyAlert)
                            .where(SurveyAlert.id == job.alert_id,
                                   SurveyAlert.attempts == job.attempts)
                            .values(**values).execution_options(synchronize_session=False))
            report.sms_sent += values.get("sms_status") == SENT
            report.webhooks_sent += values.get("webhook_status") == SENT
            report.retrying += waiting
            report.failed += FAILED in (values.get("sms_status"), values.get("webhook_status"))
    return report
