"""One-click connect: the merchant's `POST /api/v1/store/connect` (where to send the browser)
and WooCommerce's callback with the new keys (`POST /connect/woocommerce/{store_id}`)."""

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field, SecretStr
from starlette.concurrency import run_in_threadpool

from app.connection import service
from app.deps import NowDep, SessionDep, SettingsDep, StoreDep, StoreId
from app.errors import api_errors

router = APIRouter()


class ConnectStarted(BaseModel):
    authorize_url: str = Field(description="send the merchant's browser here: WooCommerce asks "
                                           "them to approve bazgasht, then posts the keys to "
                                           "bazgasht and returns to the panel")


@router.post("/api/v1/store/connect", response_model=ConnectStarted, tags=["admin: store"],
             responses=api_errors(400),
             summary="Start one-click connect: the store's WooCommerce authorisation URL")
def start_connect(store: StoreDep, session: SessionDep, settings: SettingsDep,
                  now: NowDep) -> dict:
    return {"authorize_url": service.authorize_url(session, store, public_url=settings.public_url,
                                                   now=now)}


class WooCommerceKeys(BaseModel):
    """What WooCommerce's WC_Auth posts to the callback_url."""

    model_config = ConfigDict(extra="ignore")

    key_id: int | None = None
    user_id: str = Field(min_length=1, max_length=300)
    consumer_key: SecretStr = Field(min_length=8, max_length=200)
    consumer_secret: SecretStr = Field(min_length=8, max_length=200)
    key_permissions: str = Field(max_length=40)


class Connected(BaseModel):
    topics: dict[str, str] = Field(description="each webhook topic's result: registered, reused, "
                                               "reactivated, updated, recreated, ok or failed")


@router.post("/connect/woocommerce/{store_id}", response_model=Connected, tags=["webhooks"],
             responses=api_errors(400, 404, 409),
             summary="WooCommerce's one-click callback: the store's new REST keys")
async def woocommerce_callback(store_id: StoreId, data: WooCommerceKeys,
                               request: Request) -> dict:
    """Called by WooCommerce, not by people: refuses a bad, expired or used token and keys that
    are not read_write or that the store's REST API does not accept (WooCommerce then deletes
    them); once the keys are saved it answers 200, and each topic's result says how the
    webhooks went."""
    key, secret = data.consumer_key.get_secret_value(), data.consumer_secret.get_secret_value()
    if not (key.startswith("ck_") and key[3:].isalnum() and secret.startswith("cs_")
            and secret[3:].isalnum()):
        raise service.KeysRefused("consumer_key/consumer_secret are not WooCommerce keys "
                                  "(ck_…/cs_…)")
    state = request.app.state
    topics = await run_in_threadpool(
        service.connect, state.sessionmaker, store_id, token=data.user_id,
        keys=service.Keys(key, secret), permissions=data.key_permissions,
        public_url=state.settings.public_url, clock=state.clock)
    return {"topics": topics}
