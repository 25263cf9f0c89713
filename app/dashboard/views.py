"""Rendering panel pages: the Jinja environment, Persian filters, security headers, assets.

Every figure a person reads goes through a filter here: Persian digits, the Persian thousands
separator, Jalali dates in the store's timezone, money in the store's unit. The words themselves
live in templates/dashboard/.
"""

import hashlib
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import jdatetime
from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_context

from app.dashboard.auth import COOKIE, COOKIE_PATH, LoginRequired
from app.digits import persian_digits
from app.messaging.persian import money
from app.messaging.render import TEMPLATES

STATIC = Path(__file__).resolve().parent / "static"

# Scripts and styles only from our own files; no inline script or style, nothing from another
# origin (the chart is inline SVG drawn with presentation attributes, not style).
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "X-Robots-Tag": "noindex, nofollow",
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": ("default-src 'none'; script-src 'self'; style-src 'self'; "
                                "img-src 'self' data:; connect-src 'self'; form-action 'self'; "
                                "base-uri 'none'; frame-ancestors 'none'"),
}


def _number(value, digits: int = 0) -> str:
    """12345.6 → «۱۲٬۳۴۵٫۶» (Persian digits, Persian separators)."""
    if value is None:
        return "—"
    text = f"{value:,.{digits}f}" if digits else f"{round(value):,}"
    return persian_digits(text.replace(",", "٬").replace(".", "٫"))


ROI_CAP = 100  # past this the ratio says more about a tiny cost than about the campaign


def times(ratio) -> str:
    """Revenue per rial spent, as a merchant reads it: «۲٫۵ برابر», «۲۳ برابر», «بیش از ۱۰۰
    برابر»; «—» when nothing was spent."""
    if ratio is None:
        return "—"
    if ratio >= ROI_CAP:
        return f"بیش از {_number(ROI_CAP)} برابر"
    shown = _number(ratio, 0 if ratio >= 10 or ratio == 0 else 1).removesuffix("٫۰")
    return f"{shown} برابر"  # «۴ برابر», not «۴٫۰ برابر»


def change(current, previous) -> str:
    """How far a figure moved from the previous period: «▲ ۲۵٪», «▼ ۱۰٪», «۰٪»; «—» when the
    previous period had none (growth from nothing is no percentage)."""
    if current is None or not previous:
        return "—"
    moved = (current - previous) / previous * 100
    shown = _number(abs(moved), 1 if abs(moved) < 10 else 0).removesuffix("٫۰")
    if shown == "۰":
        return "۰٪"
    return f"{'▲' if moved > 0 else '▼'} {shown}٪"


def _percent(rate) -> str:
    if rate is None:
        return "—"
    return _number(rate * 100, 1 if rate * 100 < 10 else 0) + "٪"


def _local(at: datetime, tz: str) -> datetime:
    return at.astimezone(ZoneInfo(tz))


@pass_context
def _jdate(context, at: datetime | None) -> str:
    if at is None:
        return "—"
    local = _local(at, context["tz"])
    return persian_digits(jdatetime.date.fromgregorian(date=local.date()).strftime("%Y/%m/%d"))


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
    return message.format_map({k: _number(v) if isinstance(v, int) else v
                               for k, v in params.items()})


@lru_cache(maxsize=1)
def _env() -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES / "dashboard"), autoescape=True,
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters.update(fa=persian_digits, num=_number, pct=_percent, times=times, jdate=_jdate,
                       jdt=_jdatetime, phone=_phone, hhmm=_hhmm, money=_money, fill=_fill)
    env.globals.update(asset=asset_url, query=_query)
    env.filters["change"] = change
    return env


def _query(base: str, **params) -> str:
    kept = {k: v for k, v in params.items() if v not in (None, "")}
    return f"{base}?{urlencode(kept)}" if kept else base


# -- static files --------------------------------------------------------------------------------

_TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8",
          ".svg": "image/svg+xml"}


@lru_cache(maxsize=1)
def assets() -> dict[str, tuple[bytes, str, str]]:
    """name → (content, media type, version): a handful of small files, read once."""
    found = {}
    for path in sorted(STATIC.iterdir()):
        if path.suffix in _TYPES:
            data = path.read_bytes()
            found[path.name] = (data, _TYPES[path.suffix], hashlib.sha256(data).hexdigest()[:12])
    return found


def asset_url(name: str) -> str:
    # The version in the URL lets browsers keep the file for a year and still see a new one.
    return f"/panel/static/{name}?v={assets()[name][2]}"


# -- responses -----------------------------------------------------------------------------------

# A form sent back with its problems is a page working as it should: 200, not 422, which
# browsers log as a failed resource in the console (and a merchant's page must log nothing).
FORM_REFUSED = 200

def page(request: Request, template: str, /, *, status_code: int = 200, panel=None,
         **context) -> HTMLResponse:
    store = panel.store if panel is not None else None
    html = _env().get_template(template).render(
        request_path=request.url.path, panel=panel, store=store,
        csrf=panel.csrf if panel is not None else "",
        tz=store.timezone if store is not None else "Asia/Tehran",
        currency=store.currency if store is not None else "IRT", **context)
    return HTMLResponse(html, status_code=status_code, headers=PAGE_HEADERS)


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
