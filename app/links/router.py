"""The short-link redirect: the hot path."""

import re
from urllib.parse import parse_qs

from cachetools import TTLCache
from fastapi import APIRouter, FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response
from starlette.convertors import Convertor, register_url_convertor
from starlette.routing import Route

from app.digits import latin_digits
from app.links.bots import MAX_USER_AGENT, is_bot
from app.links.clicks import Hit
from app.links.samples import SAMPLE_CODES, is_sample, sample_page
from app.links.service import (
    ALPHABET,
    CODE_LENGTH,
    RESERVED,
    LinkInfo,
    counts_as_click,
    resolve,
)
from app.ops import metrics
from app.pages import not_found_page
from app.ratelimit import LINK_REDIRECTS, client_ip, limit, off_the_loop

CODE = re.compile(f"[{re.escape(ALPHABET)}]{{{CODE_LENGTH}}}")


class ShortCode(Convertor):
    """A well-formed code that is no reserved word: what the redirect routed first accepts."""

    regex = f"(?!(?i:{'|'.join(sorted(RESERVED))})$){CODE.pattern}"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("shortcode", ShortCode())
_SAMPLE_FORM_BYTES = 4096  # a rating and a comment: what the sample survey reads of its form
NO_INDEX = {"X-Robots-Tag": "noindex, nofollow", "Cache-Control": "no-store"}

router = APIRouter()

# Codes → links, per process. A link never changes once its SMS went out, so a few minutes of
# staleness cost nothing; misses are not cached (a code is minted before anyone can ask for it).
_cache: TTLCache = TTLCache(maxsize=100_000, ttl=300)


@router.api_route("/{code}", methods=["GET", "HEAD"], include_in_schema=False)
@metrics.timed(metrics.REDIRECT_SECONDS)  # ops: redirect latency (app/ops/metrics.py)
async def follow(code: str, request: Request) -> Response:
    limiter = request.app.state.limiter
    await off_the_loop(limiter, limit, request, LINK_REDIRECTS, client_ip(request))
    if not CODE.fullmatch(code):
        return not_found_page()
    if is_sample(code):  # a preview's or a test SMS's link: a sample page, nothing counted
        return sample_page(code)
    info: LinkInfo | None = _cache.get(code)
    if info is None:
        state = request.app.state
        info = await run_in_threadpool(resolve, state.sessionmaker, code,
                                       state.settings.public_url)
        if info is not None:
            _cache[code] = info
    now = request.app.state.clock.now()
    if info is None or info.expires_at < now:
        return not_found_page()
    user_agent = request.headers.get("user-agent", "")[:MAX_USER_AGENT]
    bot = request.method == "HEAD" or is_bot(user_agent)
    if await off_the_loop(limiter, counts_as_click, limiter, link_id=info.id,
                          ip=client_ip(request), user_agent=user_agent, bot=bot, now=now):
        request.app.state.click_recorder.record(Hit(
            link_id=info.id, store_id=info.store_id, message_id=info.message_id, at=now,
            bot=bot, user_agent=user_agent))
    return RedirectResponse(info.target, status_code=302, headers=NO_INDEX)


@router.post(f"/{SAMPLE_CODES['survey']}", include_in_schema=False)
async def answer_sample_survey(request: Request) -> Response:
    """The sample survey's form: thanked for, kept nowhere. No other short code has a form
    (a POST to one is a 405, as before there were samples)."""
    limiter = request.app.state.limiter
    await off_the_loop(limiter, limit, request, LINK_REDIRECTS, client_ip(request))
    code = SAMPLE_CODES["survey"]
    form = parse_qs((await request.body())[:_SAMPLE_FORM_BYTES].decode("utf-8", "replace"))
    rating = latin_digits((form.get("rating") or [""])[0])
    return sample_page(code, answered=int(rating) if rating in ("1", "2", "3", "4", "5")
                       else None)


async def _follow_first(request: Request) -> Response:
    return await follow(request.path_params["code"], request)


def install(app: FastAPI) -> None:
    """Call after every other route. A well-formed code is routed FIRST, as a plain Starlette
    route: the hot path is not matched and refused by every other route of the app first
    (bench/redirect.py: that cost 40-60% of the redirect's time). Anything else that looks
    like a single segment (malformed codes) still reaches `/{code}` LAST, and its Persian 404.
    """
    app.router.routes.insert(0, Route("/{code:shortcode}", _follow_first, methods=["GET", "HEAD"],
                                      include_in_schema=False))
    app.include_router(router)
