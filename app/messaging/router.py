"""The operator's check of a store's SMS gateway (`/platform/v1/stores/{id}/gateway-check`)."""

from fastapi import APIRouter, Request

from app.deps import AdminDep, StoreId
from app.errors import platform_errors
from app.messaging.deps import GatewaysDep
from app.messaging.gateway_check import gateway_check as check_gateway
from app.stores.service import get_store

router = APIRouter(tags=["ops"])


@router.get("/platform/v1/stores/{store_id}/gateway-check", dependencies=[AdminDep],
            tags=["platform"], responses=platform_errors(404),
            summary="Ask the store's SMS gateway for its credit: reachable, refused, or down")
def gateway_check(store_id: StoreId, request: Request, gateways: GatewaysDep) -> dict:
    """`ok` with the `credit` (Rial; null for the console), or `ok: false` with the error
    classified (`kind`: retry = unreachable or failing for now, store = the account refuses).
    The gateway is asked with no database transaction open; the API key is never shown."""
    state = request.app.state
    with state.sessionmaker() as session:
        store = get_store(session, store_id)
    return check_gateway(gateways, store)
