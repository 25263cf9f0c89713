"""Panel sessions: a merchant signs in with the store's API key and gets a signed cookie.

The cookie holds the store id, a fingerprint of the current API key, a random session id and
when it was issued — never the key. It is signed with the installation's secret key
(app/server_key.py), which is in no store row, so:

- a cookie minted for one store says nothing about another store's (the store id is signed);
- rotating the API key changes the fingerprint: every panel session of the store ends at once;
- signing out records the session id until the cookie would have expired anyway
  (panel_sign_outs), so a copy of the cookie is worth nothing afterwards.

Every POST carries a CSRF token (a hidden field, or the X-CSRF-Token header of the preview
fetch) derived from the session and the secret key: a page of another site can neither read
nor forge it. The sign-in form, before any session exists, uses a double-submit cookie instead.
"""

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Annotated
from urllib.parse import parse_qsl, urlsplit

from fastapi import Depends, Request
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import delete, select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from app import server_key
from app.dashboard.models import PanelSignOut
from app.deps import SessionDep
from app.stores.models import Store
from app.stores.service import store_for_api_key

COOKIE = "bazgasht_panel"
LOGIN_COOKIE = "bazgasht_panel_login"
COOKIE_PATH = "/panel"
MAX_AGE = 7 * 24 * 3600  # a merchant signs in about once a week
_SALT = "bazgasht.panel.session"


class LoginRequired(Exception):
    """No valid session: the handler sends the browser to the sign-in page with this reason."""

    def __init__(self, reason: str = "required"):
        super().__init__(reason)
        self.reason = reason


class PanelNotFound(Exception):
    """A page or id the store does not have (another store's ids included)."""


class CsrfFailed(Exception):
    pass


def fingerprint(store: Store) -> str:
    """Names the API key in force without revealing anything usable about it."""
    return hashlib.sha256(f"bazgasht.panel.fp:{store.api_key_hash}".encode()).hexdigest()[:16]


def _serializer(key: bytes) -> URLSafeSerializer:
    return URLSafeSerializer(key, salt=_SALT)


def session_cookie(key: bytes, store: Store, *, now: datetime) -> str:
    payload = {"s": store.id, "fp": fingerprint(store), "n": secrets.token_urlsafe(12),
               "iat": int(now.timestamp())}
    return f"{store.id}.{_serializer(key).dumps(payload)}"


@dataclass(frozen=True)
class Panel:
    """The signed-in store, this session's id (until when it is valid) and CSRF token."""

    store: Store
    csrf: str
    session_id: str
    expires_at: datetime


def _csrf_token(key: bytes, store: Store, session_id: str) -> str:
    return hmac.new(key, f"csrf:{store.id}:{session_id}".encode(),
                    hashlib.sha256).hexdigest()[:32]


def _payload(key: bytes, store_id: int, signed: str) -> tuple[str, datetime, str]:
    """(fingerprint, issued at, session id) of a cookie signed with this key for this store."""
    try:
        payload = _serializer(key).loads(signed)
    except BadSignature:
        raise LoginRequired("invalid") from None
    if not isinstance(payload, dict) or payload.get("s") != store_id:
        raise LoginRequired("invalid")
    issued, session_id = payload.get("iat"), payload.get("n")
    if not isinstance(issued, int) or not isinstance(session_id, str) or not session_id:
        raise LoginRequired("invalid")
    return str(payload.get("fp", "")), datetime.fromtimestamp(issued, timezone.utc), session_id


def read_session(session: Session, key: bytes, cookie: str | None, *, now: datetime) -> Panel:
    """The panel of a session cookie, or LoginRequired saying why not."""
    if not cookie:
        raise LoginRequired()
    store_id, _, signed = cookie.partition(".")
    if not store_id.isascii() or not store_id.isdigit() or len(store_id) > 12 or not signed:
        raise LoginRequired("invalid")
    fp, issued, session_id = _payload(key, int(store_id), signed)
    expires_at = issued + timedelta(seconds=MAX_AGE)
    if now >= expires_at:
        raise LoginRequired("expired")
    store = session.get(Store, int(store_id))
    if store is None:
        raise LoginRequired("invalid")
    if not hmac.compare_digest(fp, fingerprint(store)):
        raise LoginRequired("key_changed")
    if session.get(PanelSignOut, session_id) is not None:
        raise LoginRequired("signed_out")
    if not store.enabled:
        raise LoginRequired("disabled")
    return Panel(store=store, csrf=_csrf_token(key, store, session_id), session_id=session_id,
                 expires_at=expires_at)


def sign_out(session: Session, current: Panel, *, now: datetime) -> None:
    """End this session for good; sessions past their expiry need no record any more."""
    session.execute(delete(PanelSignOut).where(PanelSignOut.expires_at <= now))
    if session.scalar(select(PanelSignOut.session_id)
                      .where(PanelSignOut.session_id == current.session_id)) is None:
        session.add(PanelSignOut(session_id=current.session_id, expires_at=current.expires_at))
    session.flush()


def sign_in(session, api_key: str) -> Store | None:
    """The enabled store whose API key this is (None: no such key)."""
    key = api_key.strip()
    if not key or len(key) > 200:
        return None
    return store_for_api_key(session, key)


def _same_origin(request: Request) -> bool:
    """A browser's POST names the page it came from; one from another site is refused.
    (Requests without Origin — old browsers, curl — still need the CSRF token.)"""
    origin = request.headers.get("origin")
    if origin is None:
        return True
    # The host asked for, or the public URL (a proxy in front may pass another Host).
    public = urlsplit(request.app.state.settings.public_url)
    return (origin.split("://", 1)[-1] == request.headers.get("host", "")
            or origin == f"{public.scheme}://{public.netloc}")


MAX_FORM_BYTES = 256 * 1024


async def form_data(request: Request) -> FormData:
    """The posted form (application/x-www-form-urlencoded, as every panel form and the preview
    fetch send it), read once per request."""
    cached = getattr(request.state, "panel_form", None)
    if cached is not None:
        return cached
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    pairs: list[tuple[str, str]] = []
    if media_type == "application/x-www-form-urlencoded":
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_FORM_BYTES:
                raise FormTooLarge()
        pairs = parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True,
                          max_num_fields=2000)
    request.state.panel_form = FormData(pairs)
    return request.state.panel_form


class FormTooLarge(Exception):
    pass


FormDep = Annotated[FormData, Depends(form_data)]


def secret_key(request: Request) -> bytes:
    """The installation's key, resolved before the request's transaction begins."""
    return server_key.of_app(request.app)


KeyDep = Annotated[bytes, Depends(secret_key)]


def panel(request: Request, key: KeyDep, session: SessionDep) -> Panel:
    return read_session(session, key, request.cookies.get(COOKIE),
                        now=request.app.state.clock.now())


async def checked_panel(request: Request, current: Annotated[Panel, Depends(panel)],
                        form: FormDep) -> Panel:
    """The panel of a POST whose CSRF token and origin check out."""
    token = request.headers.get("x-csrf-token") or form.get("csrf") or ""
    if not _same_origin(request) or not hmac.compare_digest(token.encode(),
                                                            current.csrf.encode()):
        raise CsrfFailed()
    return current


def login_csrf_ok(request: Request, token: str) -> bool:
    cookie = request.cookies.get(LOGIN_COOKIE, "")
    return bool(cookie) and _same_origin(request) and hmac.compare_digest(cookie.encode(),
                                                                          token.encode())


def new_login_token() -> str:
    return secrets.token_urlsafe(24)


PanelDep = Annotated[Panel, Depends(panel)]
PostDep = Annotated[Panel, Depends(checked_panel)]
