"""Coupons in campaign steps: a fixed code the merchant chose, or a personal single-use code
created in the store through its WooCommerce REST API.

A step's `coupon` (JSON) is one of:

    {"mode": "fixed", "code": "off5"}                 (the legacy {"code": "off5"} means the same)
    {"mode": "personal", "discount_type": "percent", "amount": "10", "expires_days": 3,
     "on_failure": "fallback", "fallback_code": "off5"}

A personal coupon is made ahead of its message by the tick's coupon phase (`prepare_coupons`,
for messages due within LEAD). Its code is chosen and committed before the store is called, and
a call whose answer was lost is followed by a lookup by code before any new create: one message,
at most one coupon, however often the tick runs. No transaction is open, and no row locked,
while the store is called. Right before sending, the guard asks `gate()`: not ready yet → the
message waits a few minutes; given up → the fallback code or a hold, as the merchant chose. The
SMS never carries a personal code the store has not confirmed.
"""

from __future__ import annotations

import logging
import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Annotated, Final, Literal
from zoneinfo import ZoneInfo

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    model_validator,
)
from pydantic_core import ErrorDetails
from sqlalchemy import ColumnElement, and_, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from app.campaigns import lifecycle
from app.campaigns.lifecycle import Move
from app.campaigns.models import (
    COUPON_CREATED,
    COUPON_DELETED,
    COUPON_DELETING,
    COUPON_FAILED,
    COUPON_KEPT,
    COUPON_PENDING,
    FAILED,
    HELD,
    SCHEDULED,
    SKIPPED,
    Campaign,
    CampaignStep,
    Coupon,
    Enrollment,
    Message,
)
from app.campaigns.reasons import Reason, detail
from app.commerce.woocommerce_api import Kind, WcCoupon, WooCommerceClient, WooCommerceError
from app.db import rowcount, unit_of_work
from app.digits import latin_digits
from app.errors import DomainError
from app.messaging.persian import jalali_date
from app.ops.fanout import DEADLINE, Deadline, fan_out
from app.stores.models import Store

log = logging.getLogger(__name__)

FIXED: Final = "fixed"
PERSONAL: Final = "personal"
# Coupons are made this long before their message is due: ready when it is, and few made for
# messages that end up skipped (the cart bought meanwhile).
LEAD = timedelta(minutes=15)
# A store that does not answer is retried this long (from the first try), then given up on.
RETRY_FOR = timedelta(hours=1)
BACKOFF = (1, 2, 4, 8, 15)  # minutes before the 1st, 2nd, … retry; then every 15
# While one call runs its coupon is leased: nobody else calls for it (calls time out sooner).
LEASE = timedelta(minutes=2)
# A message whose coupon is not ready looks again this much later.
WAIT = timedelta(minutes=2)
# A coupon expiring sooner than this when its message finally goes out is made anew.
FRESH_FOR = timedelta(hours=2)
PHASE_LIMIT = 200
# Unambiguous in upper case on any phone: no 0/O, 1/I/L. 31^8 ≈ 8.5·10^11 codes, each single-use
# and short-lived. Not bound to an email: WooCommerce's cart cannot apply an email-restricted
# code for a guest until the email is typed at checkout (the code is what keeps it personal).
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 8
META_KEY = "bazgasht_message_id"


# -- settings ----------------------------------------------------------------------------------



def _amount(value: object) -> str:
    """A plain decimal string, as WooCommerce wants amounts; Persian digits accepted."""
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise ValueError("must be a number such as \"10\" or \"50000\"")
    text = latin_digits(str(value)).strip().replace("٫", ".").replace(",", "")
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"{value!r} is not a number") from None
    if not number.is_finite() or number < 0:
        raise ValueError("must be a positive number")
    if number == number.to_integral_value():
        return str(int(number))
    return format(number.normalize(), "f")


def _code(value: object) -> str:
    if not isinstance(value, str):
        raise ValueError("must be a text")
    code = value.strip()
    if not code:
        raise ValueError("must not be empty")
    if len(code) > 50:
        raise ValueError("must be at most 50 characters")
    if re.search(r"\s", code):
        raise ValueError("must not contain spaces (customers type it as one word)")
    return code


Amount = Annotated[str, BeforeValidator(_amount)]
Code = Annotated[str, BeforeValidator(_code)]


class FixedCoupon(BaseModel):
    """The same code for everyone, made by the merchant in WooCommerce."""

    model_config = ConfigDict(extra="forbid")

    mode: Literal["fixed"] = FIXED
    code: Code


class PersonalCoupon(BaseModel):
    """A single-use code per message, created in the store before the SMS goes out."""

    model_config = ConfigDict(extra="forbid")

    mode: Literal["personal"]
    discount_type: Literal["percent", "fixed_cart", "fixed_product"]
    # percent: 1–100; fixed_*: in the store's currency, as WooCommerce shows its prices.
    amount: Amount
    expires_days: int = Field(3, ge=1, le=90)
    # The store could not make the coupon in time: send with `fallback_code`, or hold the message.
    on_failure: Literal["fallback", "hold"] = "hold"
    fallback_code: Code | None = None
    # Not combinable with other coupons.
    individual_use: bool = True
    minimum_amount: Amount | None = None

    @model_validator(mode="after")
    def _consistent(self):
        if Decimal(self.amount) <= 0:
            raise ValueError("amount: must be more than zero")
        if self.discount_type == "percent" and Decimal(self.amount) > 100:
            raise ValueError("amount: a percent discount must be at most 100")
        if self.on_failure == "fallback" and self.fallback_code is None:
            raise ValueError("fallback_code: required when on_failure is \"fallback\" "
                             "(the code sent when the store cannot make a personal one)")
        return self


CouponSettings = FixedCoupon | PersonalCoupon
_SETTINGS = TypeAdapter(Annotated[CouponSettings, Field(discriminator="mode")])
_KNOWN = {FIXED: sorted(FixedCoupon.model_fields), PERSONAL: sorted(PersonalCoupon.model_fields)}


class InvalidCouponSettings(DomainError, status=422, code="invalid_coupon"):
    def __init__(self, problems: list[str]):
        super().__init__("coupon: " + "; ".join(problems))
        self.problems = problems


def coupon_problems(value: object) -> list[str]:
    """What is wrong with a step's coupon settings, one clear sentence each; [] when fine."""
    try:
        read_coupon(value)
    except InvalidCouponSettings as exc:
        return exc.problems
    return []


def read_coupon(value: object) -> CouponSettings | None:
    """A step's coupon settings, or None for no coupon; InvalidCouponSettings if malformed."""
    if value is None or value == {}:
        return None
    if not isinstance(value, dict):
        raise InvalidCouponSettings(["must be an object such as {\"mode\": \"fixed\", "
                                     "\"code\": \"off5\"}"])
    if "mode" not in value and "code" in value:
        value = {"mode": FIXED, **value}
    mode = value.get("mode")
    if mode not in _KNOWN:
        raise InvalidCouponSettings([f"mode: must be \"{FIXED}\" (one code for everyone) or "
                                     f"\"{PERSONAL}\" (a single-use code per message)"])
    try:
        return _SETTINGS.validate_python(value)
    except ValidationError as exc:
        raise InvalidCouponSettings([_problem(err, mode) for err in exc.errors()]) from None


def _problem(err: ErrorDetails, mode: str) -> str:
    loc = err["loc"][1:] if err["loc"][:1] == (mode,) else err["loc"]  # the union's tag first
    where = ".".join(str(p) for p in loc)
    message = str(err["msg"]).removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        message = f"unknown setting for a {mode} coupon (known: {', '.join(_KNOWN[mode])})"
    elif err["type"] == "missing":
        message = "required"
    if where and not message.startswith(f"{where}:"):
        return f"{where}: {message}"
    return message


def _personal(value: object) -> bool:
    return isinstance(value, dict) and value.get("mode") == PERSONAL


# -- what the SMS says ------------------------------------------------------------------------

def display(code: str) -> str:
    """Personal codes are kept lower-case (as WooCommerce keeps them) and shown upper-case."""
    return code.upper()


def template_fields(session: Session, *, step: CampaignStep, enrollment: Enrollment,
                    store: Store) -> dict[str, str]:
    """`coupon_code` and `coupon_expires` (Jalali, Persian digits) for this step's message."""
    if not _personal(step.coupon):
        code = (step.coupon or {}).get("code", "") if isinstance(step.coupon, dict) else ""
        return {"coupon_code": str(code or ""), "coupon_expires": ""}
    coupon = session.scalar(select(Coupon).join(Message, Message.id == Coupon.message_id).where(
        Message.enrollment_id == enrollment.id, Message.step_id == step.id))
    if coupon is not None and coupon.status == COUPON_CREATED:
        return {"coupon_code": display(coupon.code),
                "coupon_expires": jalali_date(coupon.expires_at, store.timezone)}
    fallback = step.coupon.get("fallback_code") if step.coupon.get("on_failure") == "fallback" \
        else None
    if coupon is not None and coupon.status == COUPON_FAILED and fallback:
        return {"coupon_code": str(fallback), "coupon_expires": ""}
    return {"coupon_code": "", "coupon_expires": ""}  # `gate` keeps such a message from going out


def message_for_codes(session: Session, store_id: int, codes: list[str]) -> int | None:
    """The message whose personal coupon an order used (codes as orders report them)."""
    return session.scalar(select(Coupon.message_id).where(
        Coupon.store_id == store_id, Coupon.code.in_([c.lower() for c in codes]),
        Coupon.status == COUPON_CREATED).limit(1))


def gate(session: Session, *, step: CampaignStep, message: Message,
         now: datetime) -> Move | None:
    """None when the message may go out as far as its coupon goes; else wait (scheduled a few
    minutes later) or hold."""
    if not _personal(step.coupon):
        return None
    try:
        settings = read_coupon(step.coupon)
    except InvalidCouponSettings as exc:
        return Move(HELD, Reason.COUPON_INVALID, detail(exc.message.removeprefix("coupon: ")))
    coupon = session.scalar(select(Coupon).where(Coupon.message_id == message.id))
    if coupon is not None and coupon.status == COUPON_CREATED:
        if coupon.expires_at > now + FRESH_FOR:
            return None
        # Held or paused past its coupon's life: a fresh coupon, never an expired code.
        _reopen(coupon, now, expires_at=_expiry(now, settings.expires_days, ZoneInfo(
            session.get_one(Store, message.store_id).timezone)))
        return Move(SCHEDULED, Reason.COUPON_RENEWED, due_at=now + WAIT)
    if coupon is not None and coupon.status == COUPON_FAILED:
        if settings.on_failure == "fallback":
            return None
        return Move(HELD, Reason.COUPON_FAILED,
                    detail(coupon.last_error or "the store could not make it"))
    why = (coupon.last_error if coupon is not None and coupon.last_error
           else "being made in the store")
    later = max(now + WAIT, coupon.retry_at if coupon is not None else now)
    return Move(SCHEDULED, Reason.COUPON_NOT_READY, detail(why), due_at=later)


def _reopen(coupon: Coupon, now: datetime, *, expires_at: datetime | None = None) -> None:
    """Back to pending with a new code (the old one may exist in the store: it stays unused)."""
    coupon.code, coupon.status, coupon.wc_id = new_code(), COUPON_PENDING, None
    coupon.attempts, coupon.first_attempt_at, coupon.retry_at = 0, None, now
    coupon.maybe_created, coupon.last_error = False, None
    if expires_at is not None:
        coupon.expires_at = expires_at


def new_code() -> str:
    """A fresh code, lower-case as the store will keep it."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH)).lower()


def _expiry(now: datetime, days: int, zone: ZoneInfo) -> datetime:
    """The end of the store's local day `days` days from now: what a person reads as the date."""
    last_day = now.astimezone(zone).date() + timedelta(days=days)
    return datetime.combine(last_day, time(23, 59, 59), tzinfo=zone)


def release_held(session: Session, *, store_id: int, now: datetime) -> int:
    """Messages held because the store could not make their coupon get another chance (say,
    after the merchant fixed the REST keys). Returns how many."""
    held = session.scalars(select(Coupon).join(Message, Message.id == Coupon.message_id).where(
        Coupon.store_id == store_id, Coupon.status == COUPON_FAILED,
        lifecycle.held_for(Reason.COUPON_FAILED))).all()
    for coupon in held:
        coupon.status, coupon.attempts, coupon.first_attempt_at = COUPON_PENDING, 0, None
        coupon.retry_at, coupon.last_error = now, None
    if held:
        lifecycle.release_held(session, Message.id.in_([c.message_id for c in held]),
                               reason=Reason.COUPON_RETRY)
    session.flush()
    return len(held)


# -- the coupon phase of the tick -------------------------------------------------------------

@dataclass(frozen=True)
class _Store:
    id: int
    url: str
    timezone: str
    consumer_key: str | None = field(repr=False)
    consumer_secret: str | None = field(repr=False)


@dataclass
class _Job:
    """One claimed coupon: what to ask the store for."""

    id: int
    message_id: int
    code: str
    expires_at: datetime
    settings: PersonalCoupon
    maybe_created: bool
    first_attempt_at: datetime


def prepare_coupons(factory: sessionmaker[Session], now: datetime, *, limit: int = PHASE_LIMIT,
                    connect_timeout: float = 5.0, read_timeout: float = 20.0,
                    deadline: Deadline = DEADLINE) -> int:
    """Make the personal coupons of messages due within LEAD; returns how many the stores
    confirmed (of the stores done within `deadline`: app/ops/fanout.py). Each store is called
    with no transaction open; stores are served side by side, one call at a time each, and a
    store still answering at the deadline finishes on its own (its coupon is leased meanwhile)."""
    _open_coupons(factory, now, limit)
    by_store, stores = _due_by_store(factory, COUPON_PENDING, now, limit)

    def serve(store_id: int) -> int:
        return _serve_store(factory, stores[store_id], by_store[store_id], now,
                            timeouts=(connect_timeout, read_timeout))

    return sum(fan_out(serve, stores, what="coupons", deadline=deadline))


def _due_by_store(factory: sessionmaker[Session], status: str, now: datetime,
                  limit: int) -> tuple[dict[int, list[int]], dict[int, _Store]]:
    """The coupons in `status` whose try is due, oldest first, by store; and those stores."""
    with factory() as session:
        due = session.execute(
            select(Coupon.id, Coupon.store_id)
            .where(Coupon.status == status, Coupon.retry_at <= now)
            .order_by(Coupon.retry_at).limit(limit)).all()
        by_store: dict[int, list[int]] = {}
        for coupon_id, store_id in due:
            by_store.setdefault(store_id, []).append(coupon_id)
        stores = {s.id: _Store(s.id, s.url, s.timezone, s.wc_consumer_key, s.wc_consumer_secret)
                  for s in session.scalars(select(Store).where(Store.id.in_(by_store)))}
    return by_store, stores


def _open_coupons(factory: sessionmaker[Session], now: datetime, limit: int) -> None:
    """Give every message due soon whose step wants a personal coupon a pending coupon row,
    its code chosen now: the code is known before the store is ever asked."""
    with factory() as session:  # most ticks find nothing: no write transaction for that
        # Not for paused campaigns or stores: their messages will be held, and a coupon made
        # now would be stale by the time they go out.
        wanted = session.scalars(
            select(Message.id)
            .join(CampaignStep, CampaignStep.id == Message.step_id)
            .join(Campaign, Campaign.id == Message.campaign_id)
            .join(Store, Store.id == Message.store_id)
            # Nor for the control group: its messages are never sent (app/campaigns/guard.py).
            .join(Enrollment, Enrollment.id == Message.enrollment_id)
            .outerjoin(Coupon, Coupon.message_id == Message.id)
            .where(Message.status == SCHEDULED, Message.due_at <= now + LEAD,
                   Coupon.id.is_(None), CampaignStep.coupon["mode"].as_string() == PERSONAL,
                   Campaign.active.is_(True), Store.sending_paused_at.is_(None),
                   Enrollment.control.is_(False))
            .order_by(Message.due_at).limit(limit)).all()
    if not wanted:
        return
    with unit_of_work(factory) as session:
        rows = session.execute(
            select(Message, CampaignStep.coupon, Store.timezone)
            .join(CampaignStep, CampaignStep.id == Message.step_id)
            .join(Store, Store.id == Message.store_id)
            .outerjoin(Coupon, Coupon.message_id == Message.id)
            .where(Message.id.in_(wanted), Message.status == SCHEDULED, Coupon.id.is_(None))
            .order_by(Message.due_at)).all()
        for message, raw, tz in rows:
            try:
                settings = read_coupon(raw)
            except InvalidCouponSettings:
                continue  # `gate` holds the message, saying why
            for _ in range(3):
                try:
                    with session.begin_nested():
                        session.add(Coupon(
                            store_id=message.store_id, message_id=message.id, code=new_code(),
                            status=COUPON_PENDING, discount_type=settings.discount_type,
                            amount=settings.amount, attempts=0, retry_at=now,
                            maybe_created=False,
                            expires_at=_expiry(now, settings.expires_days, ZoneInfo(tz))))
                        session.flush()
                    break
                except IntegrityError:
                    # Another tick opened this message's coupon (done), or the code is taken.
                    if session.scalar(select(Coupon.id).where(Coupon.message_id == message.id)):
                        break


def _serve_store(factory: sessionmaker[Session], store: _Store, coupon_ids: list[int],
                 now: datetime, *, timeouts: tuple[float, float]) -> int:
    outcomes = _each_coupon(factory, store, coupon_ids, now, timeouts=timeouts, claim=_claim,
                            attempt=_attempt, finish=_finish, unexpected=_unexpected_making)
    return sum(isinstance(outcome, WcCoupon) for outcome in outcomes)


def _unexpected_making(job: _Job, exc: Exception) -> WooCommerceError:
    job.maybe_created = True  # the call may have made it: look it up before making another
    return WooCommerceError(Kind.RETRY, f"unexpected {type(exc).__name__}", ambiguous=True)


def _each_coupon(factory: sessionmaker[Session], store: _Store, coupon_ids: list[int],
                 now: datetime, *, timeouts: tuple[float, float], claim, attempt, finish,
                 unexpected) -> list:
    """The store's coupons one after another through one client: each claimed (skipped when
    someone else has it), tried with `attempt`, recorded with `finish`; the outcomes. A store
    that cannot be asked (no keys) records that on each; once it fails to answer, the rest of
    its coupons wait with it. A bug in one coupon must not stall the others: it is retried."""
    try:
        if not (store.consumer_key and store.consumer_secret):
            raise ValueError("the store has no WooCommerce REST API keys (set them with PUT "
                             f"/platform/v1/stores/{store.id}/woocommerce-api)")
        client = WooCommerceClient(store.url, store.consumer_key, store.consumer_secret,
                                   connect_timeout=timeouts[0], read_timeout=timeouts[1])
    except ValueError as exc:
        problem = WooCommerceError(Kind.INVALID, str(exc))
        for coupon_id in coupon_ids:
            if (job := claim(factory, coupon_id, now)) is not None:
                finish(factory, job, now, problem, store_id=store.id)
        return []
    outcomes: list = []
    down: WooCommerceError | None = None
    with client:
        for coupon_id in coupon_ids:
            job = claim(factory, coupon_id, now)
            if job is None:
                continue
            if down is not None:
                finish(factory, job, now, down, store_id=store.id, tried=False)
                continue
            try:
                outcome = attempt(client, job)
            except WooCommerceError as exc:
                outcome = exc
            except Exception as exc:
                log.exception("store %s: coupon %s: unexpected error", store.id, job.id)
                outcome = unexpected(job, exc)
            finish(factory, job, now, outcome, store_id=store.id)
            outcomes.append(outcome)
            if isinstance(outcome, WooCommerceError) and outcome.kind is Kind.RETRY:
                down = outcome
    return outcomes


def _claim(factory: sessionmaker[Session], coupon_id: int, now: datetime) -> _Job | None:
    """Lease one pending coupon whose try is due; None if someone else has it (or it is done).

    The lease also marks it `maybe_created` before the call: a worker that dies mid-call leaves
    a coupon the next try looks up before creating."""
    with unit_of_work(factory) as session:
        row = session.execute(
            select(Coupon, CampaignStep.coupon, Message.status)
            .join(Message, Message.id == Coupon.message_id)
            .join(CampaignStep, CampaignStep.id == Message.step_id)
            .where(Coupon.id == coupon_id)).one_or_none()
        if row is None:
            return None
        coupon, raw, message_status = row
        if coupon.status != COUPON_PENDING or coupon.retry_at > now:
            return None
        if message_status in (SKIPPED, FAILED):  # never going out: nothing to make
            return None
        try:
            settings = read_coupon(raw)
        except InvalidCouponSettings:
            settings = None
        if not isinstance(settings, PersonalCoupon):
            # The merchant changed the step meanwhile: nothing to make (gate decides the rest).
            coupon.status, coupon.last_error = COUPON_FAILED, "the step no longer asks for it"
            return None
        claimed = rowcount(session.execute(
            update(Coupon).where(Coupon.id == coupon.id, Coupon.status == COUPON_PENDING,
                                 Coupon.retry_at == coupon.retry_at)
            .values(retry_at=now + LEASE, attempts=Coupon.attempts + 1, maybe_created=True,
                    first_attempt_at=coupon.first_attempt_at or now)
            .execution_options(synchronize_session=False)))
        if not claimed:
            return None
        return _Job(id=coupon.id, message_id=coupon.message_id, code=coupon.code,
                    expires_at=coupon.expires_at, settings=settings,
                    maybe_created=coupon.maybe_created,
                    first_attempt_at=coupon.first_attempt_at or now)


class _Taken:
    """The code belongs to a coupon that is not this message's (the merchant's own, say)."""


def _attempt(client: WooCommerceClient, job: _Job) -> WcCoupon | _Taken:
    """Make the coupon in the store, or find the one an earlier, unanswered call made.

    Raises WooCommerceError; `job.maybe_created` is kept true while the store may hold it."""
    if job.maybe_created:
        found = client.find_coupon(job.code)
        if found is not None:
            return found if _ours(found, job.message_id) else _Taken()
        job.maybe_created = False
    try:
        return client.create_coupon(_fields(job))
    except WooCommerceError as exc:
        if exc.kind is not Kind.EXISTS:
            job.maybe_created = exc.ambiguous
            raise
    job.maybe_created = True  # the code is in the store: whose, the lookup tells
    found = client.find_coupon(job.code)
    return found if found is not None and _ours(found, job.message_id) else _Taken()


def _ours(found: WcCoupon, message_id: int) -> bool:
    return str(found.meta.get(META_KEY)) == str(message_id) or \
        found.description == _description(message_id)


def _description(message_id: int) -> str:
    return f"bazgasht message {message_id}"


def _fields(job: _Job) -> dict:
    settings = job.settings
    fields = {
        "code": job.code, "discount_type": settings.discount_type, "amount": settings.amount,
        "individual_use": settings.individual_use, "usage_limit": 1, "usage_limit_per_user": 1,
        "date_expires_gmt": expires_gmt(job.expires_at),
        "description": _description(job.message_id),
        "meta_data": [{"key": META_KEY, "value": str(job.message_id)}],
    }
    if settings.minimum_amount:
        fields["minimum_amount"] = settings.minimum_amount
    return fields


def expires_gmt(at: datetime) -> str:
    """The expiry as WooCommerce's `date_expires_gmt` wants it: UTC, without a zone.

    Never `date_expires` with an offset: WordPress reads "+HHMM" but not "+HH:MM" (it takes
    "+03:30" for +3 hours, so a coupon would live until 00:29:59 the next day), and a zoneless
    `date_expires` is read in the site's timezone, which we cannot see."""
    return at.astimezone(timezone.utc).replace(tzinfo=None).isoformat(timespec="seconds")


def _finish(factory: sessionmaker[Session], job: _Job, now: datetime,
            outcome: WcCoupon | _Taken | WooCommerceError, *, store_id: int,
            tried: bool = True) -> None:
    """Record one try; only while the coupon is still pending (and so still ours)."""
    with unit_of_work(factory) as session:
        coupon = session.get(Coupon, job.id)
        if coupon is None or coupon.status != COUPON_PENDING or coupon.code != job.code:
            return
        if isinstance(outcome, WcCoupon):
            coupon.status, coupon.wc_id, coupon.last_error = COUPON_CREATED, outcome.id, None
            coupon.maybe_created = False
            coupon.discount_type, coupon.amount = outcome.discount_type, job.settings.amount
            coupon.expires_at = outcome.date_expires_gmt or job.expires_at
            return
        if isinstance(outcome, _Taken):
            coupon.code, coupon.maybe_created, coupon.retry_at = new_code(), False, now
            coupon.last_error = "the code was taken in the store: a new one was chosen"
            return
        error = outcome
        # Tried: what the call left us knowing. Not tried: as before the lease.
        coupon.maybe_created = job.maybe_created
        if not tried:
            coupon.attempts -= 1  # leased, never called
        reason = str(error)[:250]
        given_up = error.kind is not Kind.RETRY or now - job.first_attempt_at >= RETRY_FOR
        if given_up:
            coupon.status = COUPON_FAILED
            coupon.last_error = (reason if error.kind is not Kind.RETRY else
                                 f"store unreachable for {_minutes(now - job.first_attempt_at)} "
                                 f"min: {reason}")[:300]
            log.warning("store %s: gave up on the coupon of message %s: %s", store_id,
                        job.message_id, coupon.last_error)
            return
        wait = BACKOFF[min(max(coupon.attempts, 1), len(BACKOFF)) - 1]
        coupon.retry_at = now + timedelta(minutes=wait)
        coupon.last_error = reason
        log.info("store %s: coupon of message %s not made yet (try %s): %s", store_id,
                 job.message_id, coupon.attempts, reason)


def _minutes(span: timedelta) -> int:
    return int(span.total_seconds() // 60)


# -- coupons of messages that never went out ----------------------------------------------------

# A store that cannot delete is asked again after 1, 2, 4, … minutes, then hourly, for a week.
DELETE_BACKOFF = (1, 2, 4, 8, 15, 30, 60)
DELETE_FOR = timedelta(days=7)


def _never_sent() -> ColumnElement[bool]:
    """Messages that will never reach the customer: skipped, or failed before the gateway took
    them (a message the gateway may have taken keeps its coupon)."""
    return or_(Message.status == SKIPPED, and_(Message.status == FAILED, Message.sent_at.is_(None)))


@dataclass
class _Deletion:
    id: int
    message_id: int
    code: str
    first_attempt_at: datetime


@dataclass(frozen=True)
class _Done:
    """How a deletion ended: `status` deleted or kept, with the particulars."""

    status: str
    note: str | None = None


def delete_unsent_coupons(factory: sessionmaker[Session], now: datetime, *,
                          limit: int = PHASE_LIMIT, connect_timeout: float = 5.0,
                          read_timeout: float = 20.0, deadline: Deadline = DEADLINE) -> int:
    """Delete from the stores the personal coupons of messages that never went out (skipped,
    or failed before the gateway took them); returns how many the stores confirmed gone.

    Like their making: each store called with no transaction open, each coupon leased while its
    call runs, a store that does not answer retried later. A coupon an order used is kept."""
    _mark_for_deletion(factory, now, limit)
    by_store, stores = _due_by_store(factory, COUPON_DELETING, now, limit)

    def serve(store_id: int) -> int:
        return _delete_for_store(factory, stores[store_id], by_store[store_id], now,
                                 timeouts=(connect_timeout, read_timeout))

    return sum(fan_out(serve, stores, what="coupon deletions", deadline=deadline))


def _mark_for_deletion(factory: sessionmaker[Session], now: datetime, limit: int) -> None:
    """Coupons whose message will never go out: those the store has (or may have) are to be
    deleted; one never made there is done with at once. A coupon whose making is under way
    (leased) waits for its answer."""
    found = Coupon.status == COUPON_CREATED
    maybe = Coupon.status.in_([COUPON_PENDING, COUPON_FAILED]) & Coupon.maybe_created.is_(True)
    never = (Coupon.status == COUPON_PENDING) & Coupon.maybe_created.is_(False)
    with factory() as session:  # most rounds find nothing: no write transaction for that
        ids = session.scalars(
            select(Coupon.id).join(Message, Message.id == Coupon.message_id)
            .where(_never_sent(), Coupon.retry_at <= now, found | maybe | never)
            .limit(limit)).all()
    if not ids:
        return
    with unit_of_work(factory) as session:
        mine = [Coupon.id.in_(ids), Coupon.retry_at <= now]
        session.execute(
            update(Coupon).where(*mine, found | maybe)
            .values(status=COUPON_DELETING, retry_at=now, attempts=0, first_attempt_at=None,
                    last_error=None)
            .execution_options(synchronize_session=False))
        session.execute(
            update(Coupon).where(*mine, never)
            .values(status=COUPON_DELETED, last_error="never made in the store")
            .execution_options(synchronize_session=False))


def _delete_for_store(factory: sessionmaker[Session], store: _Store, coupon_ids: list[int],
                      now: datetime, *, timeouts: tuple[float, float]) -> int:
    outcomes = _each_coupon(
        factory, store, coupon_ids, now, timeouts=timeouts, claim=_claim_deletion,
        attempt=_delete, finish=_finish_deletion,
        unexpected=lambda job, exc: WooCommerceError(Kind.RETRY,
                                                     f"unexpected {type(exc).__name__}"))
    return sum(isinstance(o, _Done) and o.status == COUPON_DELETED for o in outcomes)


def _claim_deletion(factory: sessionmaker[Session], coupon_id: int,
                    now: datetime) -> _Deletion | None:
    with unit_of_work(factory) as session:
        coupon = session.get(Coupon, coupon_id)
        if coupon is None or coupon.status != COUPON_DELETING or coupon.retry_at > now:
            return None
        claimed = rowcount(session.execute(
            update(Coupon).where(Coupon.id == coupon.id, Coupon.status == COUPON_DELETING,
                                 Coupon.retry_at == coupon.retry_at)
            .values(retry_at=now + LEASE, attempts=Coupon.attempts + 1,
                    first_attempt_at=coupon.first_attempt_at or now)
            .execution_options(synchronize_session=False)))
        if not claimed:
            return None
        return _Deletion(id=coupon.id, message_id=coupon.message_id, code=coupon.code,
                         first_attempt_at=coupon.first_attempt_at or now)


def _delete(client: WooCommerceClient, job: _Deletion) -> _Done:
    """Look the code up (the store says whose it is and whether an order used it), then delete
    it for good. Asking again after a lost answer is harmless: a deleted code is not found."""
    found = client.find_coupon(job.code)
    if found is None:
        return _Done(COUPON_DELETED, "not in the store")
    if not _ours(found, job.message_id):
        return _Done(COUPON_DELETED, "the store's coupon with this code is not ours: left alone")
    if found.usage_count > 0:
        return _Done(COUPON_KEPT, f"used in {found.usage_count} order(s): not deleted")
    client.delete_coupon(found.id)
    return _Done(COUPON_DELETED)


def _finish_deletion(factory: sessionmaker[Session], job: _Deletion, now: datetime,
                     outcome: _Done | WooCommerceError, *, store_id: int,
                     tried: bool = True) -> None:
    with unit_of_work(factory) as session:
        coupon = session.get(Coupon, job.id)
        if coupon is None or coupon.status != COUPON_DELETING:
            return
        if isinstance(outcome, _Done):
            coupon.status, coupon.last_error = outcome.status, outcome.note
            log.info("store %s: coupon of message %s %s%s", store_id, job.message_id,
                     outcome.status, f" ({outcome.note})" if outcome.note else "")
            return
        if not tried:
            coupon.attempts -= 1  # leased, never called
        reason = str(outcome)[:250]
        if now - job.first_attempt_at >= DELETE_FOR:
            coupon.status = COUPON_KEPT
            coupon.last_error = f"could not be deleted for {DELETE_FOR.days} days: {reason}"
            log.warning("store %s: gave up deleting the coupon of message %s: %s", store_id,
                        job.message_id, reason)
            return
        wait = DELETE_BACKOFF[min(max(coupon.attempts, 1), len(DELETE_BACKOFF)) - 1]
        coupon.retry_at, coupon.last_error = now + timedelta(minutes=wait), reason


# -- fixed codes: the store must have them --------------------------------------------------------

# Held messages ask again on minutes divisible by this (a merchant may fix the code in WooCommerce
# without touching bazgasht); messages due soon are checked every round.
RECHECK_HELD_MINUTES = 5


class CouponNotInStore(DomainError, status=422, code="coupon_not_in_store"):
    """A fixed code the store does not have, or will not accept."""


def static_codes(value: object) -> list[tuple[str, str]]:
    """The codes a step's SMS may quote as they are, with their field: the fixed code, or a
    personal coupon's fallback code."""
    try:
        settings = read_coupon(value)
    except InvalidCouponSettings:
        return []
    if isinstance(settings, FixedCoupon):
        return [("code", settings.code)]
    if isinstance(settings, PersonalCoupon) and settings.on_failure == "fallback" and \
            settings.fallback_code:
        return [("fallback_code", settings.fallback_code)]
    return []


def _fixed_code(value: object) -> str | None:
    """The fixed code a step's SMS quotes (checked before each send), or None."""
    try:
        settings = read_coupon(value)
    except InvalidCouponSettings:
        return None
    return settings.code if isinstance(settings, FixedCoupon) else None


def store_code_problem(found: WcCoupon | None, now: datetime) -> str | None:
    """Why a shopper could not use this code at checkout, as the store holds it; None if fine."""
    if found is None:
        return "does not exist in the store"
    if found.status != "publish":
        return f"is not published in the store (its status is {found.status!r})"
    if found.date_expires_gmt is not None and found.date_expires_gmt <= now:
        return f"expired in the store on {found.date_expires_gmt:%Y-%m-%d %H:%M} UTC"
    if found.usage_limit and found.usage_count >= found.usage_limit:
        return f"is used up in the store ({found.usage_count} of {found.usage_limit} uses)"
    return None


def can_check(store: Store) -> bool:
    """Whether bazgasht can look the store's coupons up (it has the REST keys)."""
    return bool(store.wc_consumer_key and store.wc_consumer_secret)


def check_codes_in_store(store: Store, coupon: object, now: datetime, *,
                         timeouts: tuple[float, float] = (5.0, 10.0)) -> bool:
    """Before a step is saved: every code its SMS may quote as it is exists in the store and can
    be used (CouponNotInStore, naming the code and what is wrong, if not). Returns whether the
    codes were checked: False when the store has no REST keys or did not answer (accepted; the
    panel warns, and each send checks again). Call it holding no row lock: it calls the store."""
    codes = static_codes(coupon)
    if not codes or not can_check(store):
        return False
    try:
        client = WooCommerceClient(store.url, store.wc_consumer_key or "",
                                   store.wc_consumer_secret or "",
                                   connect_timeout=timeouts[0], read_timeout=timeouts[1])
    except ValueError:
        return False
    with client:
        for name, code in codes:
            try:
                found = client.find_coupon(code)
            except WooCommerceError as exc:
                log.info("store %s: could not check coupon code %r: %s", store.id, code, exc)
                return False
            problem = store_code_problem(found, now)
            if problem:
                raise CouponNotInStore(
                    f"coupon.{name}: {code!r} {problem}; create it in WooCommerce (Marketing → "
                    "Coupons) or fix it there, or choose another code")
    return True


def check_fixed_codes(factory: sessionmaker[Session], now: datetime, *,
                      limit: int = 2000, connect_timeout: float = 5.0,
                      read_timeout: float = 20.0, deadline: Deadline = DEADLINE) -> int:
    """Before messages with a fixed code go out: the store still has the code and would accept
    it. Messages due within LEAD whose code it does not are held (COUPON_NOT_IN_STORE) until it
    does; held ones are asked about again (every RECHECK_HELD_MINUTES) and released once their
    code is usable, their step no longer quotes one, or the store has no keys to ask with.
    One lookup per store and code per round; no transaction open while a store is called. A
    store that does not answer holds nothing back. Returns how many messages were held."""
    recheck = int(now.timestamp() // 60) % RECHECK_HELD_MINUTES == 0
    with factory() as session:
        due = [Message.status == SCHEDULED, Message.due_at <= now + LEAD]
        held = [lifecycle.held_for(Reason.COUPON_NOT_IN_STORE)]
        rows = session.execute(
            select(Message.id, Message.status, Message.store_id, CampaignStep.coupon)
            .join(CampaignStep, CampaignStep.id == Message.step_id)
            .where(or_(and_(*due), *held) if recheck else and_(*due))
            .order_by(Message.due_at).limit(limit)).all()
        wanted: dict[int, dict[str, list[tuple[int, str]]]] = {}  # store → code → messages
        unchecked: list[int] = []  # held, though nothing (left) to check
        for message_id, status, store_id, raw in rows:
            code = _fixed_code(raw)
            if code is None:
                if status == HELD:
                    unchecked.append(message_id)
                continue
            wanted.setdefault(store_id, {}).setdefault(code.lower(), []).append(
                (message_id, status))
        stores = {s.id: _Store(s.id, s.url, s.timezone, s.wc_consumer_key, s.wc_consumer_secret)
                  for s in session.scalars(select(Store).where(Store.id.in_(wanted)))}
    for store_id in list(wanted):
        store = stores[store_id]
        if not (store.consumer_key and store.consumer_secret):  # nothing to ask with: accepted
            unchecked += [m for found in wanted.pop(store_id).values() for m, s in found
                          if s == HELD]

    def ask(store_id: int) -> tuple[int, dict[str, str | None]]:
        """code → what is wrong with it (None: fine); codes the store did not answer for are
        left out."""
        store, verdicts = stores[store_id], {}
        try:
            client = WooCommerceClient(store.url, store.consumer_key or "",
                                       store.consumer_secret or "",
                                       connect_timeout=connect_timeout, read_timeout=read_timeout)
        except ValueError:
            return store_id, {}
        with client:
            for code in wanted[store_id]:
                try:
                    verdicts[code] = store_code_problem(client.find_coupon(code), now)
                except WooCommerceError as exc:
                    log.info("store %s: could not check coupon code %r: %s", store_id, code, exc)
                    if exc.kind is Kind.RETRY:
                        break
        return store_id, verdicts

    answers = dict(fan_out(ask, wanted, what="coupon code checks", deadline=deadline))
    held_now = 0
    with unit_of_work(factory) as session:
        if unchecked:
            lifecycle.release_held(session, Message.id.in_(unchecked),
                                   lifecycle.held_for(Reason.COUPON_NOT_IN_STORE),
                                   reason=Reason.COUPON_IN_STORE)
        for store_id, verdicts in answers.items():
            for code, problem in verdicts.items():
                ids = [m for m, _ in wanted[store_id][code]]
                if problem is None:
                    lifecycle.release_held(session, Message.id.in_(ids),
                                           lifecycle.held_for(Reason.COUPON_NOT_IN_STORE),
                                           reason=Reason.COUPON_IN_STORE)
                    continue
                why = detail(f"{code!r} {problem}")
                count = lifecycle.hold_pending(session, Message.id.in_(ids),
                                               reason=Reason.COUPON_NOT_IN_STORE,
                                               reason_detail=why)
                held_now += count
                if count:
                    log.warning("store %s: messages held: coupon code %r %s", store_id, code,
                                problem)
    return held_now
