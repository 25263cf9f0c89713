"""Panel sessions: a merchant signs in with the store's API key and gets a signed cookie.

The cookie holds the store id, a fingerprint of the current API key and a random nonce — never
the key. It is signed with a key derived from the stored hash of the store's API key (256 bits
of server-side secret the merchant never sees), so:

- no operator secret has to be configured for the panel to work across processes and restarts;
- a cookie minted for one store says nothing about another store's;
- rotating the API key changes the hash, which invalidates the signature and the fingerprint:
  every panel session of the store is signed out at once.

Every POST carries a CSRF token (a hidden field, or the X-CSRF-Token header of the preview
fetch) derived from the session: a page of another site can neither read nor forge it. The
sign-in form, before any session exists, uses a double-submit cookie instead.
"""

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import parse_qsl, urlsplit

from fastapi import Depends, Request
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from starlette.datastructures import FormData

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


def _serializer(store: Store) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(store.api_key_hash, salt=_SALT)


def session_cookie(store: Store) -> str:
    payload = {"fp": fingerprint(store), "n": secrets.token_urlsafe(12)}
    return f"{store.id}.{_serializer(store).dumps(payload)}"


@dataclass(frozen=True)
class Panel:
    """The signed-in store and this session's CSRF token."""

    store: Store
    csrf: str


def _csrf_token(store: Store, nonce: str) -> str:
    return hmac.new(store.api_key_hash.encode(), f"csrf:{nonce}".encode(),
                    hashlib.sha256).hexdigest()[:32]


def read_session(session, cookie: str | None) -> Panel:
    """The panel of a session cookie, or LoginRequired saying why not."""
    if not cookie:
        raise LoginRequired()
    store_id, _, signed = cookie.partition(".")
    if not store_id.isdigit() or len(store_id) > 12 or not signed:
        raise LoginRequired("invalid")
    store = session.get(Store, int(store_id))
    if store is None:
        raise LoginRequired("invalid")
    try:
        payload = _serializer(store).loads(signed, max_age=MAX_AGE)
    except SignatureExpired:
        raise LoginRequired("expired") from None
    except BadSignature:
        # Also what a rotated key looks like: the signing key was derived from the old one.
        raise LoginRequired("key_changed") from None
    if not isinstance(payload, dict) or not hmac.compare_digest(str(payload.get("fp", "")),
                                                                fingerprint(store)):
        raise LoginRequired("key_changed")
    if not store.enabled:
        raise LoginRequired("disabled")
    return Panel(store=store, csrf=_csrf_token(store, str(payload.get("n", ""))))


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


def panel(request: Request, session: SessionDep) -> Panel:
    return read_session(session, request.cookies.get(COOKIE))


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
