"""Dependencies of the admin routers."""

import threading
from typing import Annotated

from fastapi import Depends, Request

from app.messaging.gateway import Gateways

_lock = threading.Lock()


def get_gateways(request: Request) -> Gateways:
    """The app's per-store gateways for test sends, made once per app (they keep HTTP clients)."""
    state = request.app.state
    gateways = getattr(state, "admin_gateways", None)
    if gateways is None:
        with _lock:
            gateways = getattr(state, "admin_gateways", None)
            if gateways is None:
                settings = state.settings
                key = settings.platform_kavenegar_api_key
                gateways = Gateways(state.sessionmaker,
                                    kavenegar_base_url=settings.kavenegar_base_url,
                                    platform_key=key.get_secret_value() if key else None,
                                    platform_sender=settings.platform_sms_sender)
                state.admin_gateways = gateways
    return gateways


GatewaysDep = Annotated[Gateways, Depends(get_gateways)]
