"""The merchant's own store settings and API key: the rules the admin API and the panel apply
before they write."""

from datetime import datetime

from sqlalchemy.orm import Session

from app.admin.schemas import StoreSettingsPatch
from app.campaigns import coupons
from app.commerce.woocommerce_api import check_store_url
from app.contacts.phones import InvalidPhone, normalize_phone
from app.errors import DomainError
from app.messaging.providers import PROVIDERS
from app.outbound import UrlRefused, check_url
from app.stores.models import Store
from app.stores.service import hash_api_key, new_api_key


class InvalidSettings(DomainError, status=422, code="invalid_settings"):
    pass


# -- store settings ---------------------------------------------------------------------------

_SMS_CREDENTIALS = {"sms_provider", "sms_api_key", "sms_sender"}
_SECRETS = ("sms_api_key", "sms_fallback_api_key", "wc_consumer_key", "wc_consumer_secret")


def update_settings(session: Session, *, store: Store, patch: StoreSettingsPatch,
                    now: datetime) -> Store:
    """Apply the fields the merchant sent, after checking them against what they do not change."""
    changes = patch.model_dump(exclude_unset=True)
    merged = {name: changes.get(name, getattr(store, name))
              for name in ("send_from_minute", "send_until_minute", "cap_per_day", "cap_per_week")}
    if merged["send_from_minute"] >= merged["send_until_minute"]:
        raise InvalidSettings(
            f"send_from_minute ({merged['send_from_minute']}) must be before send_until_minute "
            f"({merged['send_until_minute']}): the window is one stretch of a day, e.g. 540–1260 "
            "for 09:00–21:00", code="invalid_sending_window")
    if merged["cap_per_week"] < merged["cap_per_day"]:
        raise InvalidSettings(f"cap_per_week ({merged['cap_per_week']}) must be at least "
                              f"cap_per_day ({merged['cap_per_day']})")

    api_key = store.sms_api_key
    if "sms_api_key" in changes:
        api_key = changes["sms_api_key"].get_secret_value() if changes["sms_api_key"] else None
    provider = changes.get("sms_provider", store.sms_provider)
    switched = store.sms_provider in PROVIDERS and provider != store.sms_provider
    if provider in PROVIDERS and (not api_key or (switched and "sms_api_key" not in changes)):
        raise InvalidSettings(f"sms_api_key is required for sms_provider {provider} (the key "
                              f"of the store's own {provider} account)")

    _check_fallback(store, changes, provider)

    keys = {"wc_consumer_key", "wc_consumer_secret"} & changes.keys()
    if keys:
        if len(keys) == 1 or ((changes["wc_consumer_key"] is None)
                              != (changes["wc_consumer_secret"] is None)):
            raise InvalidSettings("wc_consumer_key and wc_consumer_secret go together: send "
                                  "both (or both null to remove them)")
        wc_set = changes["wc_consumer_key"] is not None
    else:
        wc_set = bool(store.wc_consumer_key and store.wc_consumer_secret)
    url = str(changes["url"]).rstrip("/") if changes.get("url") is not None else store.url
    if "url" in changes or (wc_set and keys):
        try:
            check_store_url(url)
        except UrlRefused as exc:
            raise InvalidSettings(exc.message, code=exc.code) from None
    if changes.get("alert_webhook_url") is not None:
        try:
            check_url(str(changes["alert_webhook_url"]), what="alert_webhook_url",
                      https_only=True)
        except UrlRefused as exc:
            raise InvalidSettings(exc.message, code=exc.code) from None

    alert_phone = changes.get("alert_phone")
    if alert_phone is not None:
        try:
            changes["alert_phone"] = normalize_phone(alert_phone).e164
        except InvalidPhone as exc:
            raise InvalidSettings(f"alert_phone: {exc.reason} (a mobile number, any digits)",
                                  code="invalid_phone") from None

    for name, value in changes.items():
        if name in _SECRETS:
            value = value.get_secret_value() if value is not None else None
        elif name in ("url", "alert_webhook_url") and value is not None:
            value = str(value).rstrip("/") if name == "url" else str(value)
        setattr(store, name, value)
    if _SMS_CREDENTIALS & changes.keys():
        # New credentials deserve a new try: a pause for the old ones is rechecked at once.
        store.sending_checked_at = None
    session.flush()
    if keys and wc_set:
        # New keys deserve a new try: messages held for want of a coupon are tried again.
        coupons.release_held(session, store_id=store.id, now=now)
    return store


def _check_fallback(store: Store, changes: dict, provider: str) -> None:
    """A second provider is another provider than the first, with its own key."""
    second = changes.get("sms_fallback_provider", store.sms_fallback_provider)
    if second is None:
        if "sms_fallback_provider" in changes:  # removed: its key and line go with it
            changes |= {"sms_fallback_api_key": None, "sms_fallback_sender": None}
        return
    if second == provider or provider not in PROVIDERS:
        raise InvalidSettings(f"sms_fallback_provider ({second}) must be another provider than "
                              f"sms_provider ({provider}), which must be a store's own account")
    key = (changes["sms_fallback_api_key"].get_secret_value()
           if changes.get("sms_fallback_api_key") is not None
           else None if "sms_fallback_api_key" in changes else store.sms_fallback_api_key)
    switched = store.sms_fallback_provider is not None and second != store.sms_fallback_provider
    if not key or (switched and "sms_fallback_api_key" not in changes):
        raise InvalidSettings(f"sms_fallback_api_key is required for sms_fallback_provider "
                              f"{second} (the key of the store's own {second} account)")


def rotate_api_key(session: Session, *, store: Store) -> str:
    """A new API key for the store; the old one stops working when this commits."""
    api_key = new_api_key()
    store.api_key_hash = hash_api_key(api_key)
    store.api_key_prefix = api_key[:8]
    session.flush()
    return api_key
