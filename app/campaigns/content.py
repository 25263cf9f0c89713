"""What a message says: the step's template (or its A/B variant) with the subject's details."""

import random
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.campaigns.models import CROSS_SELL, Campaign, CampaignStep, Enrollment, Message
from app.commerce.models import Cart, Order, Product
from app.contacts.models import Contact
from app.messaging.persian import jalali_date, money, persian_digits
from app.messaging.render import render
from app.stores.models import Store


def pick_variant(step: CampaignStep, message_id: int) -> tuple[str | None, str]:
    """A weighted choice, seeded by the message id so a retried send says the same thing."""
    variants = [v for v in step.variants or [] if v.get("weight", 0) > 0]
    if not variants:
        return None, step.template
    chosen = random.Random(message_id).choices(variants, weights=[v["weight"] for v in variants])[0]
    return chosen.get("name"), chosen["template"]


def recommend(session: Session, order: Order) -> Product | None:
    """The first in-stock cross-sell, then upsell, of what was bought, not bought already."""
    bought = {item["product_id"] for item in order.items or []}
    products = session.scalars(select(Product).where(
        Product.store_id == order.store_id, Product.wc_id.in_(bought))).all()
    for field in ("cross_sell_ids", "upsell_ids"):
        candidates = [pid for p in products for pid in getattr(p, field) or [] if pid not in bought]
        if not candidates:
            continue
        found = {p.wc_id: p for p in session.scalars(select(Product).where(
            Product.store_id == order.store_id, Product.wc_id.in_(candidates),
            Product.deleted_at.is_(None), Product.stock_status != "outofstock"))}
        for pid in candidates:
            if pid in found:
                return found[pid]
    return None


def render_context(session: Session, *, campaign: Campaign, step: CampaignStep, store: Store,
                   contact: Contact, enrollment: Enrollment, now: datetime) -> dict | None:
    """The template variables for one message; None when there is nothing worth sending."""
    context = {"first_name": contact.first_name, "last_name": contact.last_name,
               "store_name": store.name, "link": store.url,
               "coupon_code": (step.coupon or {}).get("code", ""),
               "today": jalali_date(now, store.timezone)}
    if enrollment.subject_type == "cart":
        cart = session.get(Cart, enrollment.subject_id)
        context["link"] = cart.restore_url or cart.cart_url or store.url
        context["cart_items"] = "، ".join(item["name"] for item in cart.items if item.get("name"))
        context["cart_total"] = money(cart.total, store.currency)
        return context
    order = session.get(Order, enrollment.subject_id)
    context["order_number"] = persian_digits(order.number)
    context["order_total"] = money(order.total, store.currency)
    context["product_names"] = "، ".join(i["name"] for i in order.items if i.get("name"))
    if campaign.kind == CROSS_SELL:
        product = recommend(session, order)
        if product is None:
            return None
        context["product_name"] = product.name
        context["link"] = product.permalink or store.url
    return context


def message_text(session: Session, *, message: Message, campaign: Campaign, store: Store,
                 contact: Contact, enrollment: Enrollment, now: datetime) -> str | None:
    """The rendered text, or None when there is nothing worth sending."""
    step = session.get(CampaignStep, message.step_id)
    context = render_context(session, campaign=campaign, step=step, store=store, contact=contact,
                             enrollment=enrollment, now=now)
    if context is None:
        return None
    message.variant, template = pick_variant(step, message.id)
    return render(template, context)
