"""Where a message's link leads, and the rule that keeps it on the store's own site."""

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

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
    return urlunsplit(parts._replace(query=urlencode(query)))


def with_utm(url: str, *, campaign: str, step: int, variant: str | None) -> str:
    content = f"step{step}" + (f"-{variant}" if variant else "")
    return with_params(url, utm_source="sms", utm_medium="bazgasht", utm_campaign=campaign,
                       utm_content=content)


def cart_target(store, cart, message_id: int) -> str:
    """The plugin's restore URL when it reported one (it rebuilds the cart from our token);
    else a single-item cart goes to add-to-cart on the store, anything else to the cart page."""
    if cart.restore_url and on_site(cart.restore_url, store.url):
        token = restore_token(store.webhook_secret, cart_id=cart.id, message_id=message_id)
        return with_params(cart.restore_url.split("?")[0] or store.url, **{RESTORE_PARAM: token})
    items = [item for item in cart.items or [] if item.get("product_id")]
    if len(items) == 1:
        item = items[0]
        product = item.get("variation_id") or item["product_id"]
        quantity = item.get("quantity") or 1
        quantity = int(quantity) if float(quantity).is_integer() else quantity
        return with_params(store.url.rstrip("/") + "/", **{"add-to-cart": str(product),
                                                           "quantity": str(quantity)})
    if cart.cart_url and on_site(cart.cart_url, store.url):
        return cart.cart_url
    return store.url
