"""Small Persian HTML pages (templates/pages/): plain Jinja, inline CSS, nothing external.

Customers open them from an SMS on cheap phones over slow links, so a page is one request of a
few kilobytes; the panel's Vazirmatn font follows it (kept a year by the browser, and the text
shows at once in the phone's own font until it arrives). Their URLs are credentials (a survey
token answers the survey), hence no caching, no indexing and no Referer to the pages they link
to.
"""

from functools import lru_cache

from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from app.assets import FONT, asset_url
from app.digits import persian_digits
from app.messaging.render import TEMPLATES

PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "X-Robots-Tag": "noindex, nofollow",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": ("default-src 'none'; style-src 'unsafe-inline'; "
                                "font-src 'self'; form-action 'self'; base-uri 'none'; "
                                "frame-ancestors 'none'"),
}


@lru_cache(maxsize=1)
def _env() -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES / "pages"), autoescape=True,
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["fa"] = persian_digits
    env.globals["font_url"] = asset_url(FONT)
    return env


def page(name: str, *, status_code: int = 200, **context) -> HTMLResponse:
    html = _env().get_template(name).render(**context)
    return HTMLResponse(html, status_code=status_code, headers=PAGE_HEADERS)


def not_found_page() -> HTMLResponse:
    """The friendly Persian 404 for links that are wrong, forged or gone."""
    return page("not_found.html", status_code=404, store_name=None)
