"""The operator's API for stores (`/platform/v1/stores`).

Opening a store and saving its WooCommerce keys also do what is the campaign engine's (the
campaigns a store starts with, coupons held for want of keys): create_app hands those functions
over (app.state.open_store, app.state.release_coupon_holds), because app/campaigns imports
app/stores and dependencies point one way.
"""

from fastapi import APIRouter, Request

from app.deps import AdminDep, NowDep, SessionDep, SettingsDep, StoreDep, StoreId
from app.errors import api_errors, platform_errors
from app.stores import plugin, service
from app.stores.models import Store
from app.stores.schemas import (
    SmsGatewaySettings,
    StoreCreate,
    StoreCreated,
    StoreOut,
    WebhookSecretRotated,
    WooCommerceApiKeys,
)

router = APIRouter(prefix="/platform/v1/stores", tags=["platform"], dependencies=[AdminDep],
                   responses=platform_errors())


# The merchant's own (its API key): rotating the webhook secret.
merchant_router = APIRouter(tags=["admin: store"], responses=api_errors())


@merchant_router.post("/api/v1/store/webhook-secret/rotate", response_model=WebhookSecretRotated,
                      summary="Rotate the webhook secret: the previous one verifies for 24 h more")
def rotate_webhook_secret(store: StoreDep, session: SessionDep, settings: SettingsDep,
                          now: NowDep) -> dict:
    service.rotate_webhook_secret(session, store=store, now=now)
    return rotated(store, settings.public_url)


def rotated(store: Store, public_url: str) -> dict:
    return {"webhook_secret": store.webhook_secret,
            "previous_valid_until": store.previous_webhook_secret_until,
            "plugin_connection_code": plugin.connection_code(
                store, service.webhook_url(public_url, store.id))}


def store_out(store: Store, public_url: str) -> dict:
    return dict(id=store.id, name=store.name, url=store.url, timezone=store.timezone,
                currency=store.currency, enabled=store.enabled, created_at=store.created_at,
                webhook_url=service.webhook_url(public_url, store.id),
                sms_provider=store.sms_provider, sms_sender=store.sms_sender,
                sms_api_key_set=bool(store.sms_api_key),
                woocommerce_api_set=bool(store.wc_consumer_key and store.wc_consumer_secret),
                sending_paused_reason=store.sending_paused_reason)


@router.post("", status_code=201, response_model=StoreCreated,
             summary="Create a store (and its first panel owner, owner_phone); the API key "
                     "and webhook secret are shown in the answer")
def create_store(data: StoreCreate, request: Request, session: SessionDep,
                 settings: SettingsDep, now: NowDep) -> dict:
    # app.onboarding's: also the store's first panel owner when owner_phone is given.
    store, api_key = request.app.state.open_store(session, data, now=now)
    url = service.webhook_url(settings.public_url, store.id)
    return store_out(store, settings.public_url) | {
        "api_key": api_key, "webhook_secret": store.webhook_secret,
        "plugin_connection_code": plugin.connection_code(store, url)}


@router.get("/{store_id}", response_model=StoreOut, responses=platform_errors(404))
def get_store(store_id: StoreId, session: SessionDep, settings: SettingsDep) -> dict:
    return store_out(service.get_store(session, store_id), settings.public_url)


@router.post("/{store_id}/disable", response_model=StoreOut, responses=platform_errors(404),
             summary="Stop accepting the store's webhooks (they get 403)")
def disable_store(store_id: StoreId, session: SessionDep, settings: SettingsDep) -> dict:
    return store_out(service.set_enabled(session, store_id, False), settings.public_url)


@router.post("/{store_id}/enable", response_model=StoreOut, responses=platform_errors(404))
def enable_store(store_id: StoreId, session: SessionDep, settings: SettingsDep) -> dict:
    return store_out(service.set_enabled(session, store_id, True), settings.public_url)


@router.put("/{store_id}/sms-gateway", response_model=StoreOut, responses=platform_errors(404),
            summary="Set the store's SMS gateway (the API key is write-only)")
def set_sms_gateway(store_id: StoreId, data: SmsGatewaySettings, session: SessionDep,
                    settings: SettingsDep) -> dict:
    return store_out(service.set_sms_gateway(session, store_id, data), settings.public_url)


@router.put("/{store_id}/woocommerce-api", response_model=StoreOut,
            responses=platform_errors(404),
            summary="Set the store's WooCommerce REST keys for personal coupons (write-only)")
def set_woocommerce_api(store_id: StoreId, data: WooCommerceApiKeys, request: Request,
                        session: SessionDep, settings: SettingsDep, now: NowDep) -> dict:
    store = service.set_woocommerce_api(session, store_id, data)
    # New keys deserve a new try: messages held for want of a coupon are tried again
    # (app.campaigns.coupons.release_held).
    request.app.state.release_coupon_holds(session, store_id=store.id, now=now)
    return store_out(store, settings.public_url)
