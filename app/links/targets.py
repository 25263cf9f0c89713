"""Where a message's link leads, and the rule that keeps it on the store's own site."""

from datetime import datetime
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from app.commerce.service import UNPAID_STATUSES
from app.links.restore import RESTORE_PARAM, restore_token


def _host(url: str) -> str:
    host = (urlsplit(url).hostname or "").lower()
    return host[4:] if host.startswith("www.") else host


def on_site(url: str, *sites: str) -> bool:
    """True when `url` is http(s) on the host of one of `sites` (www. or not)."""
    parts = urlsplit(url)
    return (parts.scheme in ("http", "https") and bool(parts.hostname)
            and _host(url) in {_host(site) for site in sites if site})


def with_params(url: str, **params: str) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in params]
    query += [(k, v) for k, v in params.items() if v is not None]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), parts.fragment))


def with_utm(url: str, *, campaign: str, step: int, variant: str | None) -> str:
    content = f"step{step}" + (f"-{variant}" if variant else "")
    return with_params(url, utm_source="sms", utm_medium="bazgasht", utm_campaign=campaign,
                       utm_content=content)


def order_target(store, order, cart, *, coupon: str | None, now: datetime) -> str:
    """Where a lost order's SMS leads: the order's own payment page while it can still be paid;
    once WooCommerce cancelled it, a cart refilled with its items (the cart it was placed from,
    restored by the plugin, or add-to-cart for a single item), else the store."""
    if order.status in UNPAID_STATUSES and order.payment_url \
            and on_site(order.payment_url, store.url):
        return order.payment_url
    if cart is not None:
        return cart_target(store, cart, coupon=coupon, now=now)
    return _add_to_cart(store, order.items) or store.url


def _add_to_cart(store, items) -> str | None:
    """WooCommerce's own add-to-cart link, for a single product (it takes one per request)."""
    items = [item for item in items or [] if item.get("product_id")]
    if len(items) != 1:
        return None
    item = items[0]
    product = item.get("variation_id") or item["product_id"]
    quantity = item.get("quantity") or 1
    quantity = int(quantity) if float(quantity).is_integer() else quantity
    return with_params(store.url.rstrip("/") + "/", **{"add-to-cart": str(product),
                                                       "quantity": str(quantity)})


def cart_target(store, cart, *, coupon: str | None, now: datetime) -> str:
    """The plugin's restore URL when it reported one (it rebuilds the cart from our token and
    applies the message's coupon); else a single-item cart goes to add-to-cart on the store,
    anything else to the cart page."""
    if cart.restore_url and on_site(cart.restore_url, store.url):
        token = restore_token(store.webhook_secret, cart_token=cart.token, items=cart.items or [],
                              coupon=coupon, now=now)
        return with_params(cart.restore_url.split("?")[0] or store.url, **{RESTORE_PARAM: token})
    if single := _add_to_cart(store, cart.items):
        return single
    if cart.cart_url and on_site(cart.cart_url, store.url):
        return cart.cart_url
    return store.url
