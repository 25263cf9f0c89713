"""The app's SMS gateways as a request dependency, for the routers that send or check. Here
rather than in app/deps.py, which the routers of every package import: that one imports no
domain package but stores (the store behind an API key)."""

from typing import Annotated

from fastapi import Depends, Request

from app.messaging.gateway import Gateways


def get_gateways(request: Request) -> Gateways:
    """The app's per-store SMS gateways (made once in create_app: they keep HTTP clients)."""
    return request.app.state.gateways


GatewaysDep = Annotated[Gateways, Depends(get_gateways)]
