"""Rendering panel pages: the Jinja environment, Persian filters, security headers.

Every figure a person reads goes through a filter here: Persian digits, the Persian thousands
separator (app/dashboard/numbers.py), Jalali dates in the store's timezone, money in the store's
unit. The words themselves
live in templates/dashboard/.
"""

import re
from datetime import date, datetime
from functools import lru_cache
from urllib.parse import urlencode, urlsplit
from zoneinfo import ZoneInfo

import jdatetime
from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_context
from sqlalchemy.orm import object_session

from app.assets import asset_url
from app.campaigns.presets import PRESETS
from app.dashboard import health
from app.dashboard.auth import COOKIE, COOKIE_PATH, LoginRequired
from app.dashboard.numbers import change, number, percent, times
from app.digits import persian_digits
from app.messaging.persian import money
from app.messaging.render import TEMPLATES

# Scripts and styles only from our own files; no inline script or style, nothing from another
# origin (the chart is inline SVG drawn with presentation attributes, not style).
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "X-Robots-Tag": "noindex, nofollow",
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": ("default-src 'none'; script-src 'self'; style-src 'self'; "
                                "img-src 'self' data:; font-src 'self'; connect-src 'self'; "
                                "form-action 'self'; "
                                "base-uri 'none'; frame-ancestors 'none'"),
}

_HOST = re.compile(r"[a-z0-9.-]{1,253}|\[[0-9a-f:.]{2,45}\]")


def _headers(store) -> dict[str, str]:
    """A store's pages may also send a form on to the store's own site: the one-click connect
    POSTs here and is redirected to its WooCommerce, and browsers hold a form's redirects to
    form-action too."""
    if store is None:
        return PAGE_HEADERS
    url = urlsplit(store.url)
    try:
        port = url.port
    except ValueError:
        return PAGE_HEADERS
    host = url.hostname or ""
    try:  # a Persian domain as browsers send it (punycode); an IPv6 address in brackets
        host = f"[{host}]" if ":" in host else host.encode("idna").decode("ascii")
    except UnicodeError:
        return PAGE_HEADERS
    if url.scheme not in ("http", "https") or not _HOST.fullmatch(host):
        return PAGE_HEADERS  # nothing that could smuggle a directive into the policy
    origin = f"{url.scheme}://{host}" + (f":{port}" if port else "")
    csp = PAGE_HEADERS["Content-Security-Policy"].replace(
        "form-action 'self'", f"form-action 'self' {origin}")
    return PAGE_HEADERS | {"Content-Security-Policy": csp}


def _local(at: datetime, tz: str) -> datetime:
    return at.astimezone(ZoneInfo(tz))


@pass_context
def _jdate(context, at: datetime | None) -> str:
    if at is None:
        return "—"
    local = _local(at, context["tz"])
    return persian_digits(jdatetime.date.fromgregorian(date=local.date()).strftime("%Y/%m/%d"))


def _jday(day: date | None) -> str:
    """A calendar day (already the store's) in Jalali: 2026-12-06 → «۱۴۰۵/۰۹/۱۵»."""
    if day is None:
        return "—"
    return persian_digits(jdatetime.date.fromgregorian(date=day).strftime("%Y/%m/%d"))


@pass_context
def _jdatetime(context, at: datetime | None) -> str:
    if at is None:
        return "—"
    local = _local(at, context["tz"])
    day = jdatetime.date.fromgregorian(date=local.date()).strftime("%Y/%m/%d")
    return persian_digits(f"{day} {local:%H:%M}")


def _phone(e164: str | None) -> str:
    """+989121234567 → «۰۹۱۲ ۱۲۳ ۴۵۶۷» (as Iranians write it); other numbers as they are."""
    if not e164:
        return "—"
    if e164.startswith("+98") and len(e164) == 13:
        national = "0" + e164[3:]
        return persian_digits(f"{national[:4]} {national[4:7]} {national[7:]}")
    return persian_digits(e164)


def _hhmm(minutes: int) -> str:
    return persian_digits(f"{minutes // 60:02d}:{minutes % 60:02d}")


@pass_context
def _money(context, rial: int | None) -> str:
    if rial is None:
        return "—"
    return money(int(rial), context["currency"])


def _fill(message: str, params: dict | None) -> str:
    """A template's message with its {placeholders}, numbers in Persian digits."""
    if not params:
        return message
    return message.format_map({k: number(v) if isinstance(v, int) else v
                               for k, v in params.items()})


@lru_cache(maxsize=1)
def _env() -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES / "dashboard"), autoescape=True,
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters.update(fa=persian_digits, num=number, pct=percent, times=times, change=change,
                       jdate=_jdate, jday=_jday, jdt=_jdatetime, phone=_phone, hhmm=_hhmm, money=_money,
                       fill=_fill)
    # A campaign's kind is named by its preset (a new preset is named there, not here).
    env.globals.update(asset=asset_url, query=_query,
                       KIND_NAMES={kind: preset.name for kind, preset in PRESETS.items()})
    return env


def _query(base: str, **params) -> str:
    kept = {k: v for k, v in params.items() if v not in (None, "")}
    return f"{base}?{urlencode(kept)}" if kept else base


# -- responses -----------------------------------------------------------------------------------

# A form sent back with its problems is a page working as it should: 200, not 422, which
# browsers log as a failed resource in the console (and a merchant's page must log nothing).
FORM_REFUSED = 200

def _banners(request: Request, store) -> list:
    """What the store's pages say at their top while it lasts (app/dashboard/health.py)."""
    session = object_session(store) if store is not None else None
    if store is None or session is None:
        return []
    return health.banners(session, store, request.app.state.clock.now())


def page(request: Request, template: str, /, *, status_code: int = 200, panel=None,
         **context) -> HTMLResponse:
    store = panel.store if panel is not None else None
    html = _env().get_template(template).render(
        request_path=request.url.path, panel=panel, store=store,
        banners=_banners(request, store),
        csrf=panel.csrf if panel is not None else "",
        tz=store.timezone if store is not None else "Asia/Tehran",
        currency=store.currency if store is not None else "IRT", **context)
    return HTMLResponse(html, status_code=status_code, headers=_headers(store))


def text(template: str, /, **context) -> str:
    """A text the panel sends (an SMS), from templates/dashboard/, without trailing space."""
    return _env().get_template(template).render(**context).strip()


def redirect(url: str) -> RedirectResponse:
    """After a POST: back to a page with GET (the browser's back button never re-posts)."""
    return RedirectResponse(url, status_code=303, headers={"Cache-Control": "no-store"})


def login_redirect(request: Request, exc: LoginRequired) -> Response:
    reason = exc.reason if exc.reason != "required" else None
    if request.method == "GET":
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    else:
        target = None
    response = redirect(_query("/panel/login", reason=reason, next=target))
    if request.cookies.get(COOKIE):
        response.delete_cookie(COOKIE, path=COOKIE_PATH)
    if request.headers.get("x-requested-with") == "fetch":
        # The preview fetch cannot follow a redirect into a page: tell it plainly.
        return Response(status_code=401, headers={"Cache-Control": "no-store"})
    return response


def error_page(request: Request, kind: str, *, status_code: int) -> HTMLResponse:
    """A page for a request the panel cannot serve (shown without the store's menu: the
    request may come from no session at all)."""
    return page(request, "error.html", status_code=status_code, kind=kind)


def not_found(request: Request) -> HTMLResponse:
    return error_page(request, "not_found", status_code=404)
