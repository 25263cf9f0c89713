"""Credit a purchase to the one message that brought it back.

In order of certainty: the order is itself a lost order we reminded (left unpaid at the bank's
page, then paid after our messages); the order carries the cart token of an abandoned cart we
reminded (the plugin copies it into the order); the order used a personal coupon one message
carried; the contact clicked a message's link (the last such click wins); the order bought the
product a cross-sell message recommended. Always within the store's window, only for purchased
orders; cancelling, refunding, failing or trashing the order removes the credit, and a partial
refund takes what it gave back off the credited revenue.

A credit made, removed, restored or cut marks its message's day for the reports' rollup
(app/report_marks) in the same transaction.

The window ends when the order was placed, except for a lost order's own messages: they went out
after it was placed (that is what made it lost), so for them it ends when it was paid.
"""

from datetime import datetime, timedelta

from sqlalchemy import desc, func, select
from sqlalchemy.orm import Session

from app.campaigns.coupons import message_for_codes
from app.campaigns.models import (
    DELIVERED,
    ORDER_LOST,
    SENT,
    Attribution,
    Campaign,
    Enrollment,
    Message,
)
from app.commerce.models import Cart, Order
from app.links.models import Click, Link
from app.report_marks.marks import mark_dirty, mark_messages
from app.stores.models import Store


def _sent_between(since: datetime, until: datetime):
    return (Message.status.in_([SENT, DELIVERED]), Message.sent_at >= since,
            Message.sent_at <= until)


def _by_lost_order(session: Session, order: Order, since, until) -> Message | None:
    """The latest message of the lost-order sequence this very order was enrolled in."""
    # Through the store's lost-order campaign: enrollments are indexed by campaign, then subject.
    return session.scalar(
        select(Message).join(Enrollment, Enrollment.id == Message.enrollment_id)
        .join(Campaign, Campaign.id == Enrollment.campaign_id)
        .where(Campaign.store_id == order.store_id, Campaign.trigger == ORDER_LOST,
               Enrollment.subject_type == "order", Enrollment.subject_id == order.id,
               *_sent_between(since, until))
        .order_by(desc(Message.sent_at), desc(Message.id)).limit(1))


def _by_cart_token(session: Session, order: Order, since, until) -> Message | None:
    if not order.cart_token:
        return None
    return session.scalar(
        select(Message).join(Enrollment, Enrollment.id == Message.enrollment_id)
        .join(Cart, (Cart.id == Enrollment.subject_id) & (Enrollment.subject_type == "cart"))
        .where(Cart.store_id == order.store_id, Cart.token == order.cart_token,
               *_sent_between(since, until))
        .order_by(desc(Message.sent_at)).limit(1))


def _by_coupon(session: Session, order: Order, since, until) -> Message | None:
    message_id = (message_for_codes(session, order.store_id, order.coupon_codes)
                  if order.coupon_codes else None)
    message = session.get(Message, message_id) if message_id else None
    if message is None or message.sent_at is None or not since <= message.sent_at <= until:
        return None
    return message


def _by_click(session: Session, order: Order, since, until) -> Message | None:
    if order.contact_id is None:
        return None
    last_click = func.max(Click.clicked_at)
    row = session.execute(
        select(Message.id, last_click)
        .join(Link, Link.message_id == Message.id)
        .join(Click, Click.link_id == Link.id)
        .where(Message.contact_id == order.contact_id, Message.store_id == order.store_id,
               Click.bot.is_(False), Click.clicked_at >= since, Click.clicked_at <= until)
        .group_by(Message.id).order_by(desc(last_click)).limit(1)).first()
    return session.get(Message, row[0]) if row else None


def _bought_products(order: Order) -> set[int]:
    return {item["product_id"] for item in order.items or [] if item.get("product_id")}


def _by_cross_sell(session: Session, order: Order, since, until) -> Message | None:
    bought = _bought_products(order)
    if order.contact_id is None or not bought:
        return None
    return session.scalar(
        select(Message).join(Link, Link.message_id == Message.id)
        .where(Message.contact_id == order.contact_id, Message.store_id == order.store_id,
               Link.kind == "product", Link.product_wc_id.in_(bought),
               *_sent_between(since, until))
        .order_by(desc(Message.sent_at)).limit(1))


RULES = (("cart_token", _by_cart_token), ("coupon", _by_coupon), ("click", _by_click),
         ("cross_sell", _by_cross_sell))


def _credited_message(session: Session, order: Order, store: Store,
                      now: datetime) -> tuple[str, Message] | None:
    """The message the order is credited to, and why; None when no rule finds one."""
    window = timedelta(days=store.attribution_window_days)
    # A lost order's messages went out after it was placed, and count until it was paid. An order
    # on hold (a bank transfer waiting for its money) has no payment date: it became a purchase
    # by now.
    paid = order.paid_gmt or now
    message = _by_lost_order(session, order, paid - window, paid)
    if message is not None:
        return "lost_order", message
    until = order.created_gmt or now
    for basis, rule in RULES:
        message = rule(session, order, until - window, until)
        if message is not None:
            return basis, message
    return None


def _is_cross_sell_purchase(session: Session, order: Order, message: Message) -> bool:
    link = session.scalar(select(Link).where(Link.message_id == message.id))
    return bool(link and link.kind == "product" and link.product_wc_id in _bought_products(order))


def _net(order: Order) -> tuple[int, int]:
    """(revenue, refunded): the order's total less what its refunds gave back, and that."""
    total = order.total or 0
    refunded = min(order.refunded or 0, total)
    return total - refunded, refunded


def attribute_order(session: Session, *, store_id: int, wc_id: int,
                    now: datetime) -> Attribution | None:
    """Bring the order's credit up to date after it changed; returns its attribution."""
    order = session.scalar(select(Order).where(Order.store_id == store_id, Order.wc_id == wc_id))
    if order is None:
        return None
    credit = session.scalar(select(Attribution).where(Attribution.order_id == order.id))
    if not order.purchased or order.deleted_at is not None:
        if credit is not None and credit.removed_at is None:
            credit.removed_at = now
            credit.removed_reason = "order deleted" if order.deleted_at else f"order {order.status}"
            mark_messages(session, [credit.message_id])
        return credit
    if credit is not None:  # once credited, a later update never moves the credit
        counted = (credit.removed_at is None, credit.revenue, credit.refunded)
        credit.removed_at = credit.removed_reason = None
        credit.revenue, credit.refunded = _net(order)
        if (True, credit.revenue, credit.refunded) != counted:
            mark_messages(session, [credit.message_id])
        return credit
    found = _credited_message(session, order, session.get_one(Store, store_id), now)
    if found is None:
        return None
    basis, message = found
    revenue, refunded = _net(order)
    credit = Attribution(
        store_id=store_id, order_id=order.id, message_id=message.id,
        campaign_id=message.campaign_id, step_id=message.step_id,
        variant=message.variant, basis=basis, revenue=revenue, refunded=refunded,
        cross_sell_purchase=_is_cross_sell_purchase(session, order, message),
        attributed_at=now)
    session.add(credit)
    mark_dirty(session, [(store_id, message.sent_at)])
    session.flush()
    return credit
