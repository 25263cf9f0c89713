"""Stores (tenants): creation, credentials, lookup."""

import hashlib
import secrets
import string
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.commerce.woocommerce_api import check_store_url
from app.errors import DomainError, Forbidden, NotFound
from app.outbound import UrlRefused
from app.stores.models import Store
from app.stores.schemas import SmsGatewaySettings, StoreCreate, WooCommerceApiKeys

_ALPHANUMERIC = string.ascii_letters + string.digits
API_KEY_PREFIX = "bz_"


def new_webhook_secret() -> str:
    # WooCommerce HTML-unescapes secrets before signing: anything but letters and digits
    # risks a secret that signs differently on the store than here.
    return "".join(secrets.choice(_ALPHANUMERIC) for _ in range(40))


# After a rotation the previous webhook secret verifies deliveries (and opens survey links)
# this long: time to paste the new one into WooCommerce and the companion plugin.
WEBHOOK_SECRET_GRACE = timedelta(hours=24)


def webhook_secrets(store, now: datetime) -> tuple[str, ...]:
    """The secrets a signature may be made with now (rows with .webhook_secret,
    .previous_webhook_secret and .previous_webhook_secret_until): the current one first."""
    until = store.previous_webhook_secret_until
    if store.previous_webhook_secret and until is not None and now < until:
        return store.webhook_secret, store.previous_webhook_secret
    return (store.webhook_secret,)


def rotate_webhook_secret(session: Session, *, store: Store, now: datetime) -> str:
    """A new webhook secret; the previous one keeps verifying for WEBHOOK_SECRET_GRACE. A
    one-click connected store's webhooks get the new one at the connections job's next check
    (it is due at once and sets the secret of every topic: app/connection/service.py)."""
    store.previous_webhook_secret = store.webhook_secret
    store.previous_webhook_secret_until = now + WEBHOOK_SECRET_GRACE
    store.webhook_secret = new_webhook_secret()
    store.connection_checked_at = None
    session.flush()
    return store.webhook_secret


def new_api_key() -> str:
    return API_KEY_PREFIX + "".join(secrets.choice(_ALPHANUMERIC) for _ in range(43))


def hash_api_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def webhook_url(public_url: str, store_id: int) -> str:
    return f"{public_url.rstrip('/')}/webhooks/woocommerce/{store_id}"


def create_store(session: Session, data: StoreCreate) -> tuple[Store, str]:
    """Create a store; returns it with its plain API key, which is never stored."""
    url = str(data.url).rstrip("/")
    try:
        check_store_url(url)
    except UrlRefused as exc:
        raise DomainError(exc.message, code=exc.code, status_code=422) from None
    api_key = new_api_key()
    store = Store(
        name=data.name,
        url=url,
        timezone=data.timezone,
        currency=data.currency,
        api_key_hash=hash_api_key(api_key),
        api_key_prefix=api_key[:8],
        webhook_secret=new_webhook_secret(),
        enabled=True,
    )
    session.add(store)
    session.flush()
    return store, api_key


def get_store(session: Session, store_id: int) -> Store:
    store = session.get(Store, store_id)
    if store is None:
        raise NotFound(f"no store with id {store_id}", code="store_not_found")
    return store


def ensure_accepts_webhooks(store: Store | None, store_id: int) -> Store:
    if store is None:
        raise NotFound(f"no store with id {store_id}: use the webhook URL bazgasht gave you",
                       code="store_not_found")
    if not store.enabled:
        raise Forbidden(f"store {store_id} is disabled: ask the bazgasht operator to enable it",
                        code="store_disabled")
    return store


def store_for_api_key(session: Session, api_key: str) -> Store | None:
    return session.scalar(select(Store).where(Store.api_key_hash == hash_api_key(api_key)))


def has_stores(session: Session) -> bool:
    return session.scalar(select(Store.id).limit(1)) is not None


def list_stores(session: Session) -> list[Store]:
    return list(session.scalars(select(Store).order_by(Store.id)))


def set_enabled(session: Session, store_id: int, enabled: bool) -> Store:
    store = get_store(session, store_id)
    store.enabled = enabled
    session.flush()
    return store


def set_sms_gateway(session: Session, store_id: int, settings: SmsGatewaySettings) -> Store:
    store = get_store(session, store_id)
    store.sms_provider = settings.provider
    if settings.api_key is not None:
        store.sms_api_key = settings.api_key.get_secret_value()
    if settings.sender is not None:
        store.sms_sender = settings.sender
    if settings.opt_out_text is not None:
        store.opt_out_text = settings.opt_out_text
    if settings.price_per_part is not None:
        store.sms_price_per_part = settings.price_per_part
    # New credentials deserve a new try: a pause for the old ones is rechecked at once.
    store.sending_checked_at = None
    session.flush()
    return store


def set_woocommerce_api(session: Session, store_id: int, keys: WooCommerceApiKeys) -> Store:
    """Store the WooCommerce REST keys; only for a store URL bazgasht may call."""
    store = get_store(session, store_id)
    try:
        check_store_url(store.url)
    except UrlRefused as exc:
        raise DomainError(exc.message, code=exc.code, status_code=422) from None
    store.wc_consumer_key = keys.consumer_key.get_secret_value()
    store.wc_consumer_secret = keys.consumer_secret.get_secret_value()
    session.flush()
    return store
