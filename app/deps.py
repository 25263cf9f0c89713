"""Request-scoped dependencies shared by the routers."""

import hmac
from collections.abc import Iterator
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Path, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from app import server_key
from app.clock import Clock
from app.config import Settings
from app.db import unit_of_work
from app.errors import Forbidden, Unauthorized
from app.ratelimit import MERCHANT_API, limit
from app.stores.models import Store
from app.stores.service import store_for_api_key
from app.types import MAX_ID, MAX_SMALL_ID


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_session(request: Request) -> Iterator[Session]:
    """One transaction per request, committed here and never by service code.

    Used with scope="function": the commit happens before the response is sent, so a client
    never sees a success that was not stored.
    """
    with unit_of_work(request.app.state.sessionmaker) as session:
        yield session


def get_clock(request: Request) -> Clock:
    """The app's one clock (set by create_app; tests set it to their story's time)."""
    return request.app.state.clock


def get_now(clock: Annotated[Clock, Depends(get_clock)]) -> datetime:
    """The time of this request: read once, the same for everything the request does."""
    return clock.now()


ClockDep = Annotated[Clock, Depends(get_clock)]
NowDep = Annotated[datetime, Depends(get_now)]


def get_server_key(request: Request) -> bytes:
    """The installation's key (app/server_key.py). Its first load may write it: list this
    before the route's session, so that it is loaded before the request's transaction holds
    the database (SQLite has one writer)."""
    return server_key.of_app(request.app)


ServerKeyDep = Annotated[bytes, Depends(get_server_key)]


_bearer = HTTPBearer(auto_error=False)


def require_admin(
    settings: Annotated[Settings, Depends(get_settings)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    token = settings.bazgasht_admin_token
    if token is None or not token.get_secret_value():
        raise Forbidden("the platform API is disabled: set BAZGASHT_ADMIN_TOKEN to enable it",
                        code="platform_api_disabled")
    if credentials is None:
        raise Unauthorized("send the operator token as 'Authorization: Bearer <token>'",
                           code="missing_token")
    if not hmac.compare_digest(credentials.credentials.encode(), token.get_secret_value().encode()):
        raise Unauthorized("the operator token is not valid", code="invalid_token")


SessionDep = Annotated[Session, Depends(get_session, scope="function")]
SettingsDep = Annotated[Settings, Depends(get_settings)]
AdminDep = Depends(require_admin)


def require_store(
    request: Request,
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Store:
    """The store whose API key the request carries (within its rate limit)."""
    if credentials is None:
        raise Unauthorized("send the store's API key as 'Authorization: Bearer <key>'",
                           code="missing_api_key")
    store = store_for_api_key(session, credentials.credentials)
    if store is None:
        raise Unauthorized("the API key is not valid", code="invalid_api_key")
    if not store.enabled:
        raise Forbidden("this store is disabled", code="store_disabled")
    limit(request, MERCHANT_API, str(store.id))
    return store


StoreDep = Annotated[Store, Depends(require_store)]


# Path ids: anything larger than the column holds is malformed (422), never a database error.
SmallPathId = Annotated[int, Path(ge=1, le=MAX_SMALL_ID)]
PathId = Annotated[int, Path(ge=1, le=MAX_ID)]
StoreId = SmallPathId
