"""Signing in with the store's API key, and out."""

import math

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.dashboard import auth
from app.dashboard.auth import COOKIE, COOKIE_PATH, LOGIN_COOKIE, FormDep, KeyDep, PostDep
from app.dashboard.forms import Problem
from app.dashboard.views import FORM_REFUSED, page, redirect
from app.deps import NowDep, SessionDep
from app.digits import persian_digits
from app.ratelimit import LOGIN_FAILURES_PER_IP, LOGIN_FAILURES_PER_KEY, client_ip

router = APIRouter(prefix="/panel", include_in_schema=False)

_LOGIN_PATH = "/panel/login"


def _secure(request: Request) -> bool:
    return (request.url.scheme == "https"
            or request.app.state.settings.public_url.startswith("https://"))


def _safe_next(target: str | None) -> str:
    """Only a page of the panel itself (no open redirect through the sign-in form)."""
    if (target and target.startswith("/panel") and not target.startswith("//")
            and "\\" not in target and not target.startswith(_LOGIN_PATH)):
        return target
    return "/panel"


def _login_page(request: Request, *, problems=(), reason=None, next_url=None,
                status_code=200) -> Response:
    token = auth.new_login_token()
    response = page(request, "login.html", status_code=status_code, problems=list(problems),
                    reason=reason, next_url=_safe_next(next_url), login_token=token)
    response.set_cookie(LOGIN_COOKIE, token, max_age=3600, path=_LOGIN_PATH, httponly=True,
                        samesite="lax", secure=_secure(request))
    return response


@router.get("/login")
def login_form(request: Request, key: KeyDep, session: SessionDep, now: NowDep,
               reason: str | None = None, next: str | None = None) -> Response:
    try:
        auth.read_session(session, key, request.cookies.get(COOKIE), now=now)
    except auth.LoginRequired:
        return _login_page(request, reason=reason if reason in _REASONS else None, next_url=next)
    return redirect(_safe_next(next))


_REASONS = {"expired", "key_changed", "invalid", "disabled", "signed_out"}


@router.post("/login")
def login(request: Request, key: KeyDep, session: SessionDep, form: FormDep,
          now: NowDep) -> Response:
    api_key, csrf, next = (str(form.get(name) or "") for name in ("api_key", "csrf", "next"))
    if not auth.login_csrf_ok(request, csrf):
        return _login_page(request, problems=[Problem("api_key", "login_expired")],
                           next_url=next, status_code=403)
    if not api_key.strip():
        return _login_page(request, problems=[Problem("api_key", "required")], next_url=next,
                           status_code=FORM_REFUSED)
    limiter, ip, prefix = request.app.state.limiter, client_ip(request), api_key.strip()[:8]
    wait = max((limiter.exhausted(LOGIN_FAILURES_PER_IP, ip, now=now) or 0),
               (limiter.exhausted(LOGIN_FAILURES_PER_KEY, prefix, now=now) or 0))
    if wait:
        response = _login_page(request, problems=[Problem("api_key", "too_many_attempts", {
            "minutes": persian_digits(math.ceil(wait / 60))})], next_url=next,
            status_code=429)
        response.headers["Retry-After"] = str(wait)
        return response
    store = auth.sign_in(session, api_key)
    if store is None:
        limiter.hit(LOGIN_FAILURES_PER_IP, ip, now=now)
        limiter.hit(LOGIN_FAILURES_PER_KEY, prefix, now=now)
        # The key typed is never written back into the page.
        return _login_page(request, problems=[Problem("api_key", "api_key_invalid")],
                           next_url=next, status_code=FORM_REFUSED)
    if not store.enabled:
        return _login_page(request, problems=[Problem("api_key", "store_disabled")],
                           next_url=next, status_code=403)
    response = redirect(_safe_next(next))
    response.set_cookie(COOKIE, auth.session_cookie(key, store, now=now), max_age=auth.MAX_AGE,
                        path=COOKIE_PATH, httponly=True, samesite="lax", secure=_secure(request))
    response.delete_cookie(LOGIN_COOKIE, path=_LOGIN_PATH)
    return response


@router.post("/logout")
def logout(current: PostDep, session: SessionDep, now: NowDep) -> Response:
    auth.sign_out(session, current, now=now)
    response = redirect("/panel/login?reason=signed_out")
    response.delete_cookie(COOKIE, path=COOKIE_PATH)
    return response
