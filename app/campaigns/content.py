"""The template variables of a message: the subject's details and its short link (the SMS itself
is composed from them in app/campaigns/compose.py)."""

from datetime import datetime
from functools import partial

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.campaigns.coupons import template_fields as coupon_fields
from app.campaigns.models import (
    ABANDONED_CART,
    BROADCAST,
    CROSS_SELL,
    LOST_ORDER,
    POST_PURCHASE_SURVEY,
    REPLENISHMENT,
    SURVEY_REWARD,
    THANK_YOU,
    Campaign,
    CampaignStep,
    Enrollment,
    Message,
)
from app.campaigns.recommend import recommend
from app.commerce.models import Cart, Order, Product
from app.config import get_settings
from app.contacts.models import Contact
from app.digits import persian_digits
from app.links.samples import sample_url
from app.links.service import mint
from app.links.targets import cart_target, on_site, order_target, with_utm
from app.messaging.persian import jalali_date, money
from app.stores.models import Store
from app.surveys.service import survey_url

# The kind of link each campaign's SMS carries (render_context below): a preview of the built-in
# sample subject carries the sample of that kind (app/links/samples.py).
LINK_KIND = {ABANDONED_CART: "cart", POST_PURCHASE_SURVEY: "survey", CROSS_SELL: "product",
             LOST_ORDER: "order", THANK_YOU: "product", SURVEY_REWARD: "store",
             REPLENISHMENT: "product", BROADCAST: "store"}
# Kinds whose messages name one product of the order ({{ product_name }}).
_NAMES_A_PRODUCT = frozenset({CROSS_SELL, THANK_YOU, REPLENISHMENT})


def sample_link(campaign_kind: str) -> str:
    """A preview's link: the sample page of its kind, as long as a real short link."""
    return sample_url(get_settings().public_url, LINK_KIND.get(campaign_kind, "store"))

# The variables render_context gives every message, then those of its subject (a cart, or an
# order; a cross-sell's recommended product too; a broadcast's contact has none of its own).
# Others render empty.
_EVERY_MESSAGE = ("first_name", "last_name", "store_name", "link", "coupon_code",
                  "coupon_expires", "today")
_CART = ("cart_items", "cart_total")
_ORDER = ("order_number", "order_total", "product_names")


def variables_for(kind: str) -> tuple[str, ...]:
    """The variables a campaign of this kind has a value for, in the order the panel offers."""
    if kind == ABANDONED_CART:
        return _EVERY_MESSAGE + _CART
    if kind == BROADCAST:  # about the contact alone: no cart, no order
        return _EVERY_MESSAGE
    return _EVERY_MESSAGE + _ORDER + (("product_name",) if kind in _NAMES_A_PRODUCT else ())


def _link(session: Session, *, store: Store, campaign: Campaign, step: CampaignStep,
          message: Message | None, kind: str, target: str, now: datetime,
          product_wc_id: int | None = None) -> str:
    """The message's short link to `target`; off-site targets fall back to the store's home."""
    public_url = get_settings().public_url
    if kind != "survey":
        if not on_site(target, store.url):
            kind, target, product_wc_id = "store", store.url, None
        target = with_utm(target, campaign=campaign.kind, step=step.position,
                          variant=message.variant if message else None)
    if message is None:  # a preview: what a link costs in characters, and a page to open
        return sample_url(public_url, kind)
    return mint(session, public_url=public_url, store_id=store.id, message_id=message.id,
                kind=kind, target=target, now=now, product_wc_id=product_wc_id)


def _cart_with_token(session: Session, store_id: int, token: str | None) -> Cart | None:
    """The cart an order was placed from (the plugin copies its token into the order)."""
    if not token:
        return None
    return session.scalars(select(Cart).where(Cart.store_id == store_id,
                                              Cart.token == token)).first()


def render_context(session: Session, *, campaign: Campaign, step: CampaignStep, store: Store,
                   contact: Contact, enrollment: Enrollment, now: datetime,
                   message: Message | None = None) -> dict | None:
    """The template variables for one message; None when there is nothing worth sending.

    With a message, its short link is minted (or reused); without one (a preview), the link
    is a sample of the same length.
    """
    link = partial(_link, session, store=store, campaign=campaign, step=step, message=message,
                   now=now)
    context = {"first_name": contact.first_name, "last_name": contact.last_name,
               "store_name": store.name,
               # ---- coupons (app/campaigns/coupons.py): coupon_code, coupon_expires ----
               **coupon_fields(session, step=step, enrollment=enrollment, store=store),
               "today": jalali_date(now, store.timezone)}
    if enrollment.subject_type == "contact":  # a broadcast: the store's home page
        context["link"] = link(kind="store", target=store.url)
        return context
    if enrollment.subject_type == "cart":
        cart = session.get(Cart, enrollment.subject_id)
        target = cart_target(store, cart, coupon=context["coupon_code"], now=now)
        context["link"] = link(kind="cart", target=target)
        context["cart_items"] = "، ".join(item["name"] for item in cart.items if item.get("name"))
        context["cart_total"] = money(cart.total, store.currency)
        return context
    order = session.get_one(Order, enrollment.subject_id)  # an order subject: never deleted
    context["order_number"] = persian_digits(order.number)
    context["order_total"] = money(order.total, store.currency)
    context["product_names"] = "، ".join(i["name"] for i in order.items if i.get("name"))
    if campaign.kind == CROSS_SELL:
        product = recommend(session, order)
        if product is None:
            return None
        context["product_name"] = product.name
        context["link"] = link(kind="product", target=product.permalink or store.url,
                               product_wc_id=product.wc_id)
    elif campaign.kind == POST_PURCHASE_SURVEY:
        context["link"] = link(kind="survey", target=survey_url(
            get_settings().public_url, store, message.id if message else 0))
    elif campaign.kind == LOST_ORDER:
        context["link"] = link(kind="order", target=order_target(
            store, order, _cart_with_token(session, store.id, order.cart_token),
            coupon=context["coupon_code"], now=now))
    elif campaign.kind in (THANK_YOU, REPLENISHMENT):
        wc_id, name, page = _product_of(session, store, order, enrollment.product_wc_id)
        context["product_name"] = name
        if page:
            # A replenishment's link credits a purchase of the product it names (attribution's
            # product rule); a thank-you's only opens the page for its care tips, so it is
            # credited by a tap alone (no product on the link), never by being sent.
            context["link"] = link(kind="product", target=page,
                                   product_wc_id=wc_id if campaign.kind == REPLENISHMENT
                                   else None)
        else:
            context["link"] = link(kind="store", target=store.url)
    else:
        context["link"] = link(kind="store", target=store.url)
    return context


def _product_of(session: Session, store: Store, order: Order,
                wc_id: int | None) -> tuple[int | None, str, str]:
    """(id, name, page) of the product a message names: the one its enrollment is about, else
    the order's first; the name as the store lists it now, else as the order had it; no page
    for a product the store deleted."""
    items = [i for i in order.items or [] if isinstance(i, dict) and i.get("product_id")]
    item = next((i for i in items if i["product_id"] == wc_id), items[0] if items else None)
    if item is not None:
        wc_id = item["product_id"]
    product = session.scalar(select(Product).where(Product.store_id == store.id,
                                                   Product.wc_id == wc_id)) \
        if wc_id is not None else None
    name = product.name if product is not None and product.name else ""
    if not name and item is not None:
        name = item.get("name") or ""
    page = product.permalink if product is not None and product.deleted_at is None else ""
    return wc_id, name, page
