"""The panel's requests: who is signed in (a session row, app/dashboard/sessions.py), CSRF, forms.

The session cookie holds a random token; the row its hash. Every POST carries a CSRF token (a
hidden field, or the X-CSRF-Token header of the preview fetch) derived from the session and the
installation's secret key (app/server_key.py): a page of another site can neither read nor
forge it. The sign-in forms, before any session exists, use a double-submit cookie instead,
and carry what the sign-in has learnt so far (the phone a code went to, the phone a code
proved) in values signed with the same key.
"""

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import parse_qsl, urlsplit

from fastapi import Depends, Request
from itsdangerous import BadSignature, URLSafeSerializer
from starlette.datastructures import FormData

from app import server_key
from app.dashboard import sessions
from app.dashboard.models import OWNER, PanelMember
from app.dashboard.sessions import LoginRequired
from app.deps import SessionDep
from app.stores.models import Store

__all__ = ["LoginRequired", "Panel", "PanelDep", "PostDep"]

COOKIE = "bazgasht_panel"
LOGIN_COOKIE = "bazgasht_panel_login"  # the sign-in forms' double-submit CSRF token
PENDING_COOKIE = "bazgasht_panel_pending"  # the phone a code went to (signed)
COOKIE_PATH = "/panel"
MAX_AGE = int(sessions.LIFETIME.total_seconds())


class PanelNotFound(Exception):
    """A page or id the store does not have (another store's ids included)."""


class CsrfFailed(Exception):
    pass


@dataclass(frozen=True)
class Panel:
    """The signed-in member and their store, this session's id and CSRF token."""

    store: Store
    member: PanelMember
    csrf: str
    session_id: str

    @property
    def is_owner(self) -> bool:
        return self.member.role == OWNER


def _csrf_token(key: bytes, store: Store, session_id: str) -> str:
    return hmac.new(key, f"csrf:{store.id}:{session_id}".encode(),
                    hashlib.sha256).hexdigest()[:32]


def read_panel(session, key: bytes, token: str | None, *, now: datetime) -> Panel:
    """The panel of a session cookie's token, or LoginRequired saying why not."""
    found = sessions.read_session(session, token, now=now)
    return Panel(store=found.store, member=found.member, session_id=found.row.id,
                 csrf=_csrf_token(key, found.store, found.row.id))


def sign(key: bytes, purpose: str, data: dict[str, Any], *, now: datetime) -> str:
    """`data` signed for one purpose, with when (the app's clock: itsdangerous's timed
    serializer would read the machine's)."""
    return URLSafeSerializer(key, salt=f"bazgasht.panel.{purpose}").dumps(
        data | {"at": int(now.timestamp())})


def unsign(key: bytes, purpose: str, text: str | None, *, now: datetime,
           max_age: int) -> dict[str, Any] | None:
    """What `sign` signed for this purpose no longer than max_age seconds ago, else None."""
    if not text or len(text) > 2000:
        return None
    try:
        data = URLSafeSerializer(key, salt=f"bazgasht.panel.{purpose}").loads(text)
    except BadSignature:
        return None
    at = data.get("at") if isinstance(data, dict) else None
    if not isinstance(at, int) or not 0 <= now.timestamp() - at <= max_age:
        return None
    return data


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
    return read_panel(session, key, request.cookies.get(COOKIE),
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


def login_token(request: Request) -> str:
    """The sign-in forms' token: the browser's, or a new one."""
    token = request.cookies.get(LOGIN_COOKIE, "")
    return token if 20 <= len(token) <= 64 and token.isascii() else secrets.token_urlsafe(24)


PanelDep = Annotated[Panel, Depends(panel)]
PostDep = Annotated[Panel, Depends(checked_panel)]
