"""Template previews and test sends: the SMS a step would send now, made without writing a row.

A preview renders with `render_context(message=None)` for a real cart, order or (a
broadcast's) contact (the link is a sample of the real length that opens a sample page of its
kind, app/links/samples.py; nothing is minted; an order's product is the one its trigger would
choose), or with the built-in sample subject (templates/admin/sample_subject.json). Its figures are the ones a real send would have: the
opt-out line for promotional campaigns, GSM-7/UCS-2 parts, parts × the store's price per part.

A test send delivers a preview to one phone through the store's own gateway. Its localid lives
in a range of its own: campaign messages use their id (1, 2, 3, … well below 10**12), survey
alerts 10**12 + alert id, test sends TEST_SEND_LOCALID_BASE + test-send id. Kavenegar takes a
send with a localid it has seen as a repeat and answers with the earlier message, so a test SMS
sharing a message's localid would silently "be" that message (and never arrive), or make the
real message look sent already. Ids are per table and only grow, so no two sends share one.
"""

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.admin.models import TEST_FAILED, TEST_SENDING, TEST_SENT, TestSend
from app.billing.service import metered
from app.campaigns import checks, coupons
from app.campaigns.compose import Uncomposable, choose_variant, compose
from app.campaigns.content import render_context, sample_link, variables_for
from app.campaigns.enroll import product_of
from app.campaigns.lookup import LOOKUP_MODE
from app.campaigns.models import (
    ABANDONED_CART,
    BROADCAST,
    Campaign,
    CampaignStep,
    Enrollment,
)
from app.campaigns.presets import Preset, preset_campaign, preset_steps
from app.commerce.models import Cart, Order
from app.contacts.models import Contact
from app.contacts.phones import InvalidPhone, normalize_phone
from app.digits import persian_digits
from app.errors import Conflict, DomainError, NotFound
from app.messaging.gateway import ErrorKind, Gateway, GatewayError, Lookup, SendResult
from app.messaging.persian import jalali_date, money
from app.messaging.render import TEMPLATES
from app.messaging.segments import Segments
from app.stores.models import Store

log = logging.getLogger(__name__)

TEST_SEND_LOCALID_BASE = 2 * 10**12
TEST_SENDS_PER_HOUR = 10
# A personal coupon is made only for a real message: previews show a code of the same shape.
SAMPLE_COUPON = "K7PMX2QA"


class PreviewError(DomainError, status=422, code="invalid_preview"):
    pass


class TestSendLimited(DomainError, status=429, code="rate_limited"):
    def __init__(self, message: str, retry_after: int):
        super().__init__(message)
        self.retry_after = retry_after


class GatewayUnavailable(DomainError, status=502, code="sms_gateway_unavailable"):
    """The gateway did not answer (or not usefully): try again later."""


class GatewayRefused(DomainError, status=422, code="sms_gateway_refused"):
    """The gateway answered no: the store's account, line or the number needs fixing."""


@lru_cache(maxsize=1)
def _sample() -> dict:
    return json.loads((TEMPLATES / "admin" / "sample_subject.json").read_text(encoding="utf-8"))


def sample_context(*, store: Store, kind: str, coupon_fields: dict, now: datetime) -> dict:
    """The built-in subject: a Persian name, a cart (abandoned_cart), nothing more (a
    broadcast's contact) or an order (the others)."""
    sample = _sample()
    context = {"first_name": sample["first_name"], "last_name": sample["last_name"],
               "store_name": store.name, "today": jalali_date(now, store.timezone),
               "link": sample_link(kind), **coupon_fields}
    if kind == BROADCAST:
        return context
    if kind == ABANDONED_CART:
        context["cart_items"] = "، ".join(sample["cart_items"])
        context["cart_total"] = money(sample["cart_total_rial"], store.currency)
        return context
    context["order_number"] = persian_digits(sample["order_number"])
    context["order_total"] = money(sample["order_total_rial"], store.currency)
    context["product_names"] = "، ".join(sample["order_items"])
    if "product_name" in variables_for(kind):  # cross-sell's pick, or the product named
        context["product_name"] = sample["product_name"]
    return context


def _sample_coupon(step: CampaignStep, store: Store, now: datetime) -> dict:
    try:
        settings = coupons.read_coupon(step.coupon)
    except coupons.InvalidCouponSettings:
        settings = None
    if isinstance(settings, coupons.PersonalCoupon):
        expires = now + timedelta(days=settings.expires_days)
        return {"coupon_code": SAMPLE_COUPON,
                "coupon_expires": jalali_date(expires, store.timezone)}
    return {"coupon_code": settings.code if settings else "", "coupon_expires": ""}


@dataclass(frozen=True)
class Rendered:
    text: str
    segments: Segments
    subject: str
    variant: str | None
    opt_out_line: bool
    lookup: Lookup | None
    price_per_part: int
    # What the merchant should know before saving this text (app/campaigns/checks.py): a
    # coupon it quotes without one (refused when saved), no link, many parts.
    problems: tuple[checks.TextProblem, ...] = ()
    warnings: tuple[checks.TextWarning, ...] = ()

    @property
    def cost_estimate(self) -> int:
        return self.segments.parts * self.price_per_part


def _subject_kind(campaign: Campaign) -> str:
    """What the campaign's messages are about: a broadcast's a contact, an abandoned cart's a
    cart, the others' an order."""
    if campaign.kind == BROADCAST:
        return "contact"
    return "cart" if campaign.kind == ABANDONED_CART else "order"


def _real_subject(session: Session, *, store: Store, campaign: Campaign, cart_id: int | None,
                  order_id: int | None, contact_id: int | None,
                  now: datetime) -> tuple[Contact, Enrollment]:
    """The store's cart, order or contact named, as an enrollment the trigger would have made
    (never added to the session): for an order, with the product the trigger would choose."""
    wanted = _subject_kind(campaign)
    given = {"cart": cart_id, "order": order_id, "contact": contact_id}
    if [kind for kind, value in given.items() if value is not None] != [wanted]:
        raise PreviewError(f"a {campaign.kind} campaign's messages are about {wanted}s: give "
                           f"{wanted}_id", code="subject_mismatch")
    subject_id = given[wanted]
    if wanted == "contact":
        contact = session.scalar(select(Contact).where(Contact.id == subject_id,
                                                       Contact.store_id == store.id))
        if contact is None:
            raise NotFound(f"no contact with id {subject_id}", code="contact_not_found")
        return contact, Enrollment(store_id=store.id, campaign_id=campaign.id,
                                   subject_type="contact", subject_id=contact.id,
                                   contact_id=contact.id, anchor_at=now, status="active")
    subject: Cart | Order | None = (
        session.scalar(select(Cart).where(Cart.id == subject_id, Cart.store_id == store.id))
        if wanted == "cart" else
        session.scalar(select(Order).where(Order.id == subject_id, Order.store_id == store.id)))
    if subject is None:
        raise NotFound(f"no {wanted} with id {subject_id}", code=f"{wanted}_not_found")
    found = session.get(Contact, subject.contact_id) if subject.contact_id else None
    if found is None:  # never added to the session: nothing is written
        found = Contact(store_id=store.id, phone="", first_name=subject.first_name or "",
                        last_name=subject.last_name or "", email="")
    product = product_of(session, campaign, subject, now) if isinstance(subject, Order) else None
    return found, Enrollment(store_id=store.id, campaign_id=campaign.id, subject_type=wanted,
                             subject_id=subject.id, contact_id=subject.contact_id,
                             anchor_at=now, status="active", product_wc_id=product)


def _subject_context(session: Session, *, store: Store, campaign: Campaign, step: CampaignStep,
                     cart_id: int | None, order_id: int | None, contact_id: int | None,
                     now: datetime) -> tuple[dict, str]:
    if cart_id is None and order_id is None and contact_id is None:
        return sample_context(store=store, kind=campaign.kind,
                              coupon_fields=_sample_coupon(step, store, now), now=now), "sample"
    contact, enrollment = _real_subject(session, store=store, campaign=campaign,
                                        cart_id=cart_id, order_id=order_id,
                                        contact_id=contact_id, now=now)
    context = render_context(session, campaign=campaign, step=step, store=store, contact=contact,
                             enrollment=enrollment, now=now, message=None)
    if context is None:
        raise PreviewError(f"order {enrollment.subject_id} has nothing to recommend: its "
                           "message would be skipped", code="nothing_to_send")
    if not context.get("coupon_code"):
        sample = _sample_coupon(step, store, now)
        if sample["coupon_code"] == SAMPLE_COUPON:
            context.update(sample)
    return context, f"{enrollment.subject_type} {enrollment.subject_id}"


def _template_of(step: CampaignStep, template: str | None,
                 variant: str | None) -> tuple[str | None, str]:
    """(variant name, template) to preview: a draft template, a named variant, or what the step
    says by default (app/campaigns/compose.py choose_variant)."""
    if template is not None:
        problem = checks.text_problem(template)
        if problem:
            raise checks.TextRefused(problem, "template")
        return None, template
    try:
        return choose_variant(step, name=variant)
    except KeyError:
        names = ", ".join(repr(v.get("name")) for v in step.variants or []) or "none"
        raise PreviewError(f"variant: step {step.id} has no variant {variant!r} (its variants: "
                           f"{names})", code="unknown_variant") from None


def preview(session: Session, *, store: Store, campaign: Campaign, step: CampaignStep,
            template: str | None = None, variant: str | None = None,
            cart_id: int | None = None, order_id: int | None = None,
            contact_id: int | None = None, now: datetime) -> Rendered:
    """The step's SMS for the sample subject or a real one (a cart, an order, a broadcast's
    contact), as it would go out now: composed by the same code as the send. `step` may be a
    saved step or an unsaved one (never added to the session)."""
    variant_name, source = _template_of(step, template, variant)
    context, subject = _subject_context(session, store=store, campaign=campaign, step=step,
                                        cart_id=cart_id, order_id=order_id,
                                        contact_id=contact_id, now=now)
    try:
        sms = compose(store=store, campaign=campaign, step=step, source=source,
                      variant=variant_name, context=context)
    except Uncomposable as exc:
        code = "invalid_lookup" if exc.where.startswith("lookup") else "invalid_template"
        raise PreviewError(str(exc), code=code) from None
    coupon_problem = checks.coupon_problem(source, step.coupon)
    return Rendered(text=sms.text, segments=sms.segments, subject=subject, variant=sms.variant,
                    opt_out_line=sms.opt_out_line, lookup=sms.lookup,
                    price_per_part=store.sms_price_per_part,
                    problems=(coupon_problem,) if coupon_problem else (),
                    warnings=tuple(checks.text_warnings(source, coupon=step.coupon,
                                                        parts=sms.segments.parts)))


def preset_preview(session: Session, *, store: Store, preset: Preset,
                   now: datetime) -> Rendered | None:
    """The preset's first SMS as the store's customer would read it (the gallery's): its
    default text and coupon rendered on the built-in sample subject with the store's name,
    money and opt-out line, by the code a step's preview and its send use. Nothing is written."""
    steps = preset_steps(preset)
    if not steps:
        return None
    return preview(session, store=store, campaign=preset_campaign(store.id, preset, active=False),
                   step=steps[0], now=now)


# -- test sends -------------------------------------------------------------------------------

@dataclass(frozen=True)
class TestTicket:
    """A recorded test send, ready for the gateway (which is called with no transaction open)."""

    id: int
    localid: int
    receptor: str
    text: str
    lookup: Lookup | None


def open_test_send(session: Session, *, store: Store, step: CampaignStep, phone: str,
                   rendered: Rendered, now: datetime) -> TestTicket:
    """Check the phone and the hourly limit, and record the send before the gateway is called."""
    try:
        e164 = normalize_phone(phone).e164
    except InvalidPhone as exc:
        raise DomainError(f"phone: {exc.reason} (a mobile number, any digits)",
                          code="invalid_phone", status_code=422) from None
    if metered(store):
        # The ledger charges messages only: a test SMS through the platform's account would be
        # free, and ten an hour per store is a free SMS service for anyone with a store.
        raise Conflict("test sends are not available for stores paying as they go through the "
                       "platform's account yet: the preview shows the text and its cost",
                       code="test_send_unavailable")
    if store.sms_template_mode == LOOKUP_MODE and rendered.lookup is None:
        raise PreviewError(f"the store sends in lookup mode and step {step.id} has no lookup "
                           "template: set the step's lookup first", code="lookup_missing")
    opted_out = session.scalar(select(Contact.opted_out_at).where(Contact.store_id == store.id,
                                                                  Contact.phone == e164))
    if opted_out is not None:
        raise Conflict(f"{e164} opted out of this store's SMS: bazgasht sends it nothing, tests "
                       "included", code="phone_opted_out")
    # The store's row lock makes count-then-insert one step when requests race (PostgreSQL;
    # SQLite runs one writing transaction at a time anyway).
    session.execute(select(Store.id).where(Store.id == store.id).with_for_update())
    since = now - timedelta(hours=1)
    recent = session.execute(select(func.count(), func.min(TestSend.created_at)).where(
        TestSend.store_id == store.id, TestSend.created_at > since)).one()
    if recent[0] >= TEST_SENDS_PER_HOUR:
        retry_after = max(1, int((recent[1] + timedelta(hours=1) - now).total_seconds()) + 1)
        raise TestSendLimited(f"at most {TEST_SENDS_PER_HOUR} test SMS per hour: the next one "
                              f"can go in {(retry_after + 59) // 60} minutes", retry_after)
    row = TestSend(store_id=store.id, step_id=step.id, phone=e164, status=TEST_SENDING,
                   text=rendered.lookup.readable() if rendered.lookup else rendered.text,
                   created_at=now)
    session.add(row)
    session.flush()
    return TestTicket(id=row.id, localid=TEST_SEND_LOCALID_BASE + row.id, receptor=e164,
                      text=rendered.text, lookup=rendered.lookup)


def deliver_test_send(gateway: Gateway, ticket: TestTicket) -> SendResult | GatewayError:
    """Send it; touches no database of ours (the console gateway writes its own record)."""
    try:
        if ticket.lookup is not None:
            [result] = gateway.lookup_many([(ticket.localid, ticket.receptor, ticket.lookup)])
            return result
        return gateway.send(localid=ticket.localid, receptor=ticket.receptor, text=ticket.text)
    except GatewayError as exc:
        return exc
    except Exception as exc:  # the row must not stay "sending"; the merchant gets an answer
        log.exception("test send %s: unexpected gateway error", ticket.id)
        return GatewayError(ErrorKind.RETRY, f"unexpected {type(exc).__name__}")


def close_test_send(session: Session, *, ticket: TestTicket,
                    outcome: SendResult | GatewayError) -> TestSend:
    row = session.get(TestSend, ticket.id)
    if isinstance(outcome, SendResult):
        row.status, row.gateway_id = TEST_SENT, outcome.gateway_id
    else:
        row.status, row.error = TEST_FAILED, str(outcome)[:300]
    session.flush()
    return row


def has_sent_test(session: Session, *, store_id: int) -> bool:
    """Whether a test SMS of the store ever reached its gateway."""
    return session.scalar(select(TestSend.id).where(
        TestSend.store_id == store_id, TestSend.status == TEST_SENT).limit(1)) is not None


def test_send_failure(outcome: GatewayError) -> DomainError:
    """The error a failed test send answers with."""
    if outcome.kind is ErrorKind.RETRY or outcome.ambiguous:
        return GatewayUnavailable(f"the SMS gateway did not take the test SMS, try again later: "
                                  f"{outcome}")
    return GatewayRefused(f"the SMS gateway refused the test SMS: {outcome}")
