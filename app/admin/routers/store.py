"""The store's own settings and API key."""

from fastapi import APIRouter

from app.admin import service
from app.admin.schemas import ApiKeyRotated, StoreSettings, StoreSettingsPatch
from app.deps import NowDep, ServerKeyDep, SessionDep, SettingsDep, StoreDep
from app.errors import api_errors
from app.messaging.kavenegar_push import receive_url_for
from app.stores.models import Store
from app.stores.service import webhook_url

router = APIRouter(prefix="/api/v1/store", tags=["admin: store"], responses=api_errors())


def settings_out(store: Store, public_url: str, key: bytes) -> dict:
    return dict(
        id=store.id, name=store.name, url=store.url, timezone=store.timezone,
        currency=store.currency, webhook_url=webhook_url(public_url, store.id),
        api_key_prefix=store.api_key_prefix, created_at=store.created_at,
        send_from_minute=store.send_from_minute, send_until_minute=store.send_until_minute,
        send_weekdays=store.send_weekdays, cap_per_day=store.cap_per_day,
        cap_per_week=store.cap_per_week, attribution_window_days=store.attribution_window_days,
        opt_out_text=store.opt_out_text, sms_provider=store.sms_provider,
        sms_api_key_set=bool(store.sms_api_key), sms_sender=store.sms_sender,
        sms_fallback_provider=store.sms_fallback_provider,
        sms_fallback_api_key_set=bool(store.sms_fallback_api_key),
        sms_fallback_sender=store.sms_fallback_sender,
        kavenegar_receive_url=receive_url_for(store, public_url, key),
        sms_template_mode=store.sms_template_mode, sms_price_per_part=store.sms_price_per_part,
        woocommerce_api_set=bool(store.wc_consumer_key and store.wc_consumer_secret),
        alert_phone=store.alert_phone, alert_webhook_url=store.alert_webhook_url,
        sending_paused_reason=store.sending_paused_reason)


@router.get("", response_model=StoreSettings, summary="The store's settings (no secrets)")
def get_store_settings(key: ServerKeyDep, store: StoreDep, settings: SettingsDep) -> dict:
    return settings_out(store, settings.public_url, key)


@router.patch("", response_model=StoreSettings,
              summary="Change some settings (secrets are write-only)")
def patch_store_settings(key: ServerKeyDep, patch: StoreSettingsPatch, store: StoreDep,
                         session: SessionDep, settings: SettingsDep, now: NowDep) -> dict:
    service.update_settings(session, store=store, patch=patch, now=now)
    return settings_out(store, settings.public_url, key)


@router.post("/api-key", response_model=ApiKeyRotated,
             summary="Rotate the API key: the new key is shown once, the old one stops working")
def rotate_api_key(store: StoreDep, session: SessionDep) -> dict:
    api_key = service.rotate_api_key(session, store=store)
    return dict(api_key=api_key, api_key_prefix=store.api_key_prefix)
