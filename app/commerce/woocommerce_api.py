"""A small client for a store's WooCommerce REST API v3 (sync httpx): coupons, webhooks, and
orders and products modified since a time.

Auth follows WooCommerce's `WC_REST_Authentication`: over https the consumer key and secret go
as HTTP Basic auth; over plain http WooCommerce does not look at Basic auth at all and wants
one-legged OAuth 1.0a instead (`oauth_*` query parameters signed with HMAC-SHA256 keyed by the
secret, see `oauth_signature`), so the secret itself never crosses the wire. Which store URLs
are accepted is `check_store_url`'s rule. The secret is never part of a URL, a log line, an
error or a repr.

Every call goes through the guarded client for tenant URLs (app/outbound.py): public addresses
only, pinned once checked, no redirects followed, one deadline per call, answers capped at
`MAX_BODY` bytes; listings that walk pages stop after a page cap. Nothing of what the store
says is repeated in an error but its HTTP status and a WooCommerce error code of the expected
shape (`CODE_SHAPE`): the store URL is the merchant's choice, and what answers there need not
be WooCommerce.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import re
import secrets
import ssl
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from enum import StrEnum
from typing import Any
from urllib.parse import quote

import httpx

from app import outbound
from app.clock import SYSTEM, Clock

log = logging.getLogger(__name__)

API_PREFIX = "/wp-json/wc/v3"
CODE_EXISTS = "woocommerce_rest_coupon_code_already_exists"
MAX_BODY = 8 * 1024 * 1024  # bytes of one answer; 100 orders with their line items are far less
PER_PAGE = 100              # the most WordPress allows per page
MAX_PAGES = 50              # a listing stops here (5,000 items): a huge store cannot hold us
AUTH_REFUSED = ("the store refused the REST API keys (wrong, revoked or read-only keys, or "
                "the store's clock far off): connect again, or set new read_write keys")
CODE_SHAPE = re.compile(r"[a-z0-9_]{1,64}")  # WooCommerce's error codes; anything else is dropped


class Kind(StrEnum):
    RETRY = "retry"      # no useful answer (down, slow, overloaded): try again later
    AUTH = "auth"        # the keys are wrong, revoked or read-only: only the merchant can fix it
    EXISTS = "exists"    # the coupon code is taken already
    INVALID = "invalid"  # the store refused what we asked, or is set up so we cannot work with it


class WooCommerceError(Exception):
    """A failed call. `ambiguous`: the store may have acted (e.g. created the coupon) before the
    answer was lost; look the result up before doing it again."""

    def __init__(self, kind: Kind, message: str, *, status: int | None = None,
                 code: str | None = None, ambiguous: bool = False):
        self.kind, self.message, self.status, self.code = kind, message, status, code
        self.ambiguous = ambiguous
        super().__init__(str(self))

    def __str__(self) -> str:
        where = f"HTTP {self.status}" if self.status is not None else "no answer"
        code = f" {self.code}" if self.code else ""
        flag = ", may have been processed" if self.ambiguous else ""
        return f"WooCommerce {where}{code}: {self.message} [{self.kind}{flag}]"

    def __repr__(self) -> str:
        return (f"WooCommerceError(kind={self.kind.value!r}, status={self.status!r}, "
                f"code={self.code!r}, message={self.message!r}, ambiguous={self.ambiguous!r})")

    def __reduce__(self):  # picklable (Celery ships exceptions between processes)
        return (_rebuild_error, (self.kind, self.message, self.status, self.code, self.ambiguous))


def _rebuild_error(kind, message, status, code, ambiguous) -> WooCommerceError:
    return WooCommerceError(kind, message, status=status, code=code, ambiguous=ambiguous)


def _utc(value: Any) -> datetime | None:
    """`*_gmt` fields are UTC without a zone."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.replace(tzinfo=timezone.utc) if parsed.tzinfo is None else parsed


@dataclass(frozen=True)
class WcCoupon:
    id: int
    code: str
    discount_type: str
    amount: str
    date_expires_gmt: datetime | None
    usage_limit: int | None
    usage_limit_per_user: int | None
    individual_use: bool
    email_restrictions: list[str]
    description: str
    meta: dict[str, Any] = field(default_factory=dict)
    status: str = "publish"  # WordPress's post status: publish, draft, pending, private, trash
    usage_count: int = 0     # orders that used it

    @classmethod
    def parse(cls, raw: dict[str, Any]) -> WcCoupon:
        meta = {m.get("key"): m.get("value") for m in raw.get("meta_data") or []
                if isinstance(m, dict)}
        return cls(id=int(raw["id"]), code=str(raw.get("code") or ""),
                   discount_type=str(raw.get("discount_type") or ""),
                   amount=str(raw.get("amount") or ""),
                   date_expires_gmt=_utc(raw.get("date_expires_gmt")),
                   usage_limit=raw.get("usage_limit"),
                   usage_limit_per_user=raw.get("usage_limit_per_user"),
                   individual_use=bool(raw.get("individual_use")),
                   email_restrictions=list(raw.get("email_restrictions") or []),
                   description=str(raw.get("description") or ""), meta=meta,
                   status=str(raw.get("status") or "publish"),
                   usage_count=int(raw.get("usage_count") or 0))


@dataclass(frozen=True)
class WcWebhook:
    """A webhook as the REST API shows it. WooCommerce never sends its secret back (the v2/v3
    controllers leave it out of the response), so a secret is only ever known from setting it."""
    id: int
    name: str
    status: str                   # active | paused | disabled
    topic: str                    # e.g. order.updated
    resource: str
    event: str
    hooks: list[str]
    delivery_url: str
    date_created_gmt: datetime | None
    date_modified_gmt: datetime | None

    @classmethod
    def parse(cls, raw: dict[str, Any]) -> WcWebhook:
        return cls(id=int(raw["id"]), name=str(raw.get("name") or ""),
                   status=str(raw.get("status") or ""), topic=str(raw.get("topic") or ""),
                   resource=str(raw.get("resource") or ""), event=str(raw.get("event") or ""),
                   hooks=[str(h) for h in raw.get("hooks") or []],
                   delivery_url=str(raw.get("delivery_url") or ""),
                   date_created_gmt=_utc(raw.get("date_created_gmt")),
                   date_modified_gmt=_utc(raw.get("date_modified_gmt")))


def _modified_after(after: datetime) -> dict[str, str]:
    """The query for "changed after": WooCommerce's CRUD controllers filter on the post's
    modified column with `modified_after`, read as GMT when `dates_are_gmt` is true (WordPress's
    date_query `after` is exclusive); `orderby=modified` pages by modified date, then id."""
    if after.tzinfo is None:
        raise ValueError("`after` needs a timezone")
    gmt = after.astimezone(timezone.utc).replace(tzinfo=None).isoformat(timespec="seconds")
    return {"modified_after": gmt, "dates_are_gmt": "true", "orderby": "modified",
            "order": "asc"}


def check_store_url(url: str) -> str:
    """The store's base URL without a trailing slash; outbound.UrlRefused (a ValueError with a
    `code`) when bazgasht will not call it: not http(s), a user name in it, a query or fragment
    (the client appends the REST API's path: WordPress in a subfolder is fine), or a host that is
    no public internet host.

    Either scheme keeps the keys safe: over https they go as HTTP Basic auth, over plain http
    the client signs each request with OAuth 1.0a (the secret never travels), as WooCommerce
    expects there."""
    outbound.check_url(url, what="the store URL", bare=True)
    return url.strip().rstrip("/")


# -- OAuth 1.0a over plain http ---------------------------------------------------------------

def _rfc3986(value: str) -> str:
    """wc_rest_urlencode_rfc3986(): PHP's rawurlencode (everything but A-Z a-z 0-9 - _ . ~)."""
    return quote(value, safe="")


def oauth_signature(method: str, url: str, params: dict[str, str], consumer_secret: str) -> str:
    """The signature WooCommerce's `check_oauth_signature` expects, computed its way.

    `url` is the request URL without its query (WooCommerce rebuilds it from the site's home URL,
    the request path and the scheme it was reached over); `params` are every query (and form)
    parameter plus the `oauth_*` ones except `oauth_signature`. WooCommerce sorts them by key
    (`uksort` with `strcmp`, before encoding), rawurlencodes each key and value, encodes each
    `key=value` once more and joins them with `%26`, which is the encoded `k=v&k=v` string; the
    string signed is `METHOD&enc(url)&that`, with HMAC keyed by `consumer_secret + "&"` (no token
    secret: one-legged), base64-encoded."""
    pairs = sorted(params.items(), key=lambda kv: kv[0].encode())
    normalized = "&".join(f"{_rfc3986(k)}={_rfc3986(v)}" for k, v in pairs)
    signed = f"{method.upper()}&{_rfc3986(url)}&{_rfc3986(normalized)}"
    digest = hmac.new(f"{consumer_secret}&".encode(), signed.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


_OAUTH_QUERY = re.compile(r"(oauth_(?:consumer_key|signature|nonce))=[^&\s\"']*")


class _HideOAuth(logging.Filter):
    """httpx logs every request's URL (INFO, logger "httpx"): over plain http that URL carries
    the consumer key and the signature, which stay out of our logs."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and any("oauth_" in str(a) for a in record.args):
            record.args = tuple(_OAUTH_QUERY.sub(r"\1=***", str(a)) if "oauth_" in str(a)
                                else a for a in record.args)
        return True


logging.getLogger("httpx").addFilter(_HideOAuth())


class OAuth1(httpx.Auth):
    """WooCommerce's one-legged OAuth 1.0a: the `oauth_*` parameters go in the query string,
    signed with HMAC-SHA256. The timestamp is the injected clock's (WooCommerce refuses one more
    than 15 minutes off its own), the nonce is random (it refuses one it has seen)."""

    def __init__(self, consumer_key: str, consumer_secret: str, clock: Clock):
        self._key, self._secret, self._clock = consumer_key, consumer_secret, clock

    def __repr__(self) -> str:
        return "OAuth1(consumer_key='***', consumer_secret='***')"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        url = request.url
        base = f"{url.scheme}://{url.netloc.decode('ascii')}{url.raw_path.split(b'?')[0].decode()}"
        params = dict(url.params.multi_items())  # PHP's $_GET: the last of a repeated name wins
        oauth = {"oauth_consumer_key": self._key,
                 "oauth_timestamp": str(int(self._clock.now().timestamp())),
                 "oauth_nonce": secrets.token_hex(16),
                 "oauth_signature_method": "HMAC-SHA256"}
        oauth["oauth_signature"] = oauth_signature(request.method, base, params | oauth,
                                                   self._secret)
        request.url = url.copy_merge_params(oauth)
        yield request


class WooCommerceClient:
    def __init__(self, base_url: str, consumer_key: str, consumer_secret: str, *,
                 connect_timeout: float = 5.0, read_timeout: float = 20.0,
                 clock: Clock = SYSTEM, verify: ssl.SSLContext | None = None):
        """`read_timeout` is each call's deadline: it ends within that many seconds, connecting,
        sending and its whole answer included (connecting alone within `connect_timeout`). `clock` dates the OAuth signatures
        over plain http (the app's clock; tests set it); `verify` replaces the shared CA bundle
        (a test trusting the fake's own certificate). Callers call with no database
        transaction open."""
        if not consumer_key or not consumer_secret:
            raise ValueError("the consumer key and secret are both required")
        self._base_url = check_store_url(base_url)
        # WooCommerce reads Basic auth only over https (is_ssl()); over http it wants OAuth 1.0a.
        auth: httpx.Auth = (httpx.BasicAuth(consumer_key, consumer_secret)
                            if self._base_url.startswith("https://")
                            else OAuth1(consumer_key, consumer_secret, clock))
        # Redirects are not followed: a POST cannot be replayed safely, and a redirect means the
        # store URL we hold is not where the store lives (fix it once, rather than every call).
        self._http = outbound.Client(deadline=read_timeout,
                                     connect_timeout=connect_timeout, max_body=MAX_BODY,
                                     verify=verify, auth=auth,
                                     headers={"Accept": "application/json",
                                              "User-Agent": "bazgasht (WooCommerce REST client)"})

    def __repr__(self) -> str:
        return (f"WooCommerceClient(base_url={self._base_url!r}, consumer_key='***', "
                "consumer_secret='***')")

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> WooCommerceClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- webhooks ------------------------------------------------------------------------------

    def list_webhooks(self, *, max_pages: int = MAX_PAGES) -> list[WcWebhook]:
        """Every webhook of the store, whatever its status (GET /webhooks, all pages)."""
        return [WcWebhook.parse(raw) for raw in self._walk("/webhooks", {}, max_pages)]

    def create_webhook(self, name: str, topic: str, delivery_url: str, secret: str,
                       status: str = "active") -> WcWebhook:
        """POST /webhooks. WooCommerce makes every new webhook active whatever `status` says
        (its controller sets the status from the post status, always `publish` on create), and
        pings the delivery URL; another status is set by an update right after."""
        made = WcWebhook.parse(self._resource(self._call("POST", "/webhooks", json={
            "name": name, "topic": topic, "delivery_url": delivery_url, "secret": secret,
            "status": status}), writes=True))
        if made.status != status:
            made = self.update_webhook(made.id, status=status)
        return made

    _WEBHOOK_FIELDS = frozenset({"name", "status", "secret", "delivery_url", "topic"})

    def update_webhook(self, webhook_id: int, **fields: str) -> WcWebhook:
        """PUT /webhooks/{id} with any of name, status (active|paused|disabled), secret,
        delivery_url, topic. WooCommerce skips empty values (it tests each with `empty()`)."""
        unknown = set(fields) - self._WEBHOOK_FIELDS
        if unknown:
            raise TypeError(f"not a webhook field: {', '.join(sorted(unknown))}")
        answer = self._call("PUT", f"/webhooks/{int(webhook_id)}", json=fields)
        return WcWebhook.parse(self._resource(answer, writes=True))

    def delete_webhook(self, webhook_id: int) -> bool:
        """DELETE /webhooks/{id}?force=true (webhooks cannot be trashed: without force
        WooCommerce answers 501). False when the store has no such webhook any more."""
        try:
            self._call("DELETE", f"/webhooks/{int(webhook_id)}", params={"force": "true"})
        except WooCommerceError as exc:
            if exc.status == 404 and exc.code == "woocommerce_rest_shop_webhook_invalid_id":
                return False
            raise
        return True

    # -- orders and products modified since ----------------------------------------------------

    def orders_modified_since(self, after: datetime, *,
                              max_pages: int = MAX_PAGES) -> Iterator[dict[str, Any]]:
        """Orders modified strictly after `after`, oldest change first, as the raw v3 dicts the
        ingest parses (`WooOrder`). Stops after `max_pages` pages of 100 (logged): resume from
        the last one's `date_modified_gmt`."""
        return self._walk("/orders", _modified_after(after), max_pages)

    def products_modified_since(self, after: datetime, *,
                                max_pages: int = MAX_PAGES) -> Iterator[dict[str, Any]]:
        """Products modified strictly after `after`, like `orders_modified_since` (`WooProduct`)."""
        return self._walk("/products", _modified_after(after), max_pages)

    def _walk(self, path: str, params: dict[str, str],
              max_pages: int) -> Generator[dict[str, Any], None, None]:
        """GET `path` page by page (per_page=100) until X-WP-TotalPages, an empty or short page,
        or `max_pages`. An item seen already (it moved to a later page because it changed while
        we walked) is not yielded twice."""
        seen: set[int] = set()
        for page in range(1, max_pages + 1):
            body, headers = self._send("GET", path, params=params | {
                "per_page": str(PER_PAGE), "page": str(page)})
            if not isinstance(body, list):
                raise WooCommerceError(Kind.RETRY, f"{path}: the answer is not a JSON array")
            for raw in body:
                item = self._resource(raw)
                if item["id"] not in seen:
                    seen.add(item["id"])
                    yield item
            try:
                pages = int(headers.get("x-wp-totalpages", ""))
            except ValueError:
                pages = page + 1 if len(body) == PER_PAGE else page
            if page >= pages or not body:
                return
        log.warning("woocommerce %s: stopped after %d pages of %d", path, max_pages, PER_PAGE)

    @staticmethod
    def _resource(raw: Any, *, writes: bool = False) -> dict[str, Any]:
        if not isinstance(raw, dict) or not isinstance(raw.get("id"), int):
            raise WooCommerceError(Kind.RETRY, "the answer is not a WooCommerce object",
                                   ambiguous=writes)
        return raw

    # -- coupons -------------------------------------------------------------------------------

    def create_coupon(self, fields: dict[str, Any]) -> WcCoupon:
        """POST /coupons. A taken code raises Kind.EXISTS; a lost answer is ambiguous."""
        return WcCoupon.parse(self._object(self._call("POST", "/coupons", json=fields)))

    def find_coupon(self, code: str) -> WcCoupon | None:
        """The coupon with this code (WooCommerce compares codes lower-cased), or None."""
        found = self._call("GET", "/coupons", params={"code": code})
        if not isinstance(found, list):
            raise WooCommerceError(Kind.RETRY, "the coupon list is not a JSON array")
        for raw in found:
            coupon = WcCoupon.parse(self._object(raw))
            if coupon.code.lower() == code.lower():
                return coupon
        return None

    def delete_coupon(self, coupon_id: int) -> WcCoupon | None:
        """DELETE /coupons/<id>?force=true: gone for good, not to the trash. Returns the coupon
        as it was, or None when the store has no coupon with that id (deleted already)."""
        try:
            found = self._call("DELETE", f"/coupons/{int(coupon_id)}", params={"force": "true"})
        except WooCommerceError as exc:
            if exc.status == 404 and exc.code == "woocommerce_rest_shop_coupon_invalid_id":
                return None
            raise
        return WcCoupon.parse(self._object(found))

    # -- transport -----------------------------------------------------------------------------

    @staticmethod
    def _object(raw: Any) -> dict[str, Any]:
        if not isinstance(raw, dict) or not isinstance(raw.get("id"), int):
            raise WooCommerceError(Kind.RETRY, "the answer is not a coupon object", ambiguous=True)
        return raw

    def _call(self, method: str, path: str, **kwargs) -> Any:
        return self._send(method, path, **kwargs)[0]

    def _send(self, method: str, path: str, **kwargs) -> tuple[Any, httpx.Headers]:
        """One call: (the JSON answer, the answer's headers)."""
        writes = method != "GET"
        try:
            answer = self._http.request(method, f"{self._base_url}{API_PREFIX}{path}", **kwargs)
        except outbound.OutboundError as exc:
            kind = (Kind.INVALID if exc.failure in (outbound.Failure.REFUSED,
                                                    outbound.Failure.TOO_LARGE) else Kind.RETRY)
            raise WooCommerceError(kind, str(exc), status=exc.status,
                                   ambiguous=writes and exc.sent) from None
        log.debug("woocommerce %s %s -> HTTP %s", method, path, answer.status)
        return self._unwrap(answer, writes), answer.headers

    @staticmethod
    def _unwrap(answer: outbound.Answer, writes: bool) -> Any:
        """The JSON of a 2xx answer, else a WooCommerceError in our words: its status and, from
        the body, only a `code` of WooCommerce's shape."""
        status = answer.status
        try:
            body = answer.json()
        except ValueError:
            body = None
        if 200 <= status < 300:
            if body is None:
                # A cache, a security plugin or a PHP notice in front of the JSON: not WooCommerce
                # talking, so we cannot tell whether it acted.
                raise WooCommerceError(Kind.RETRY, "the answer is not JSON", status=status,
                                       ambiguous=writes)
            return body
        raw_code = body.get("code") if isinstance(body, dict) else None
        code = raw_code if isinstance(raw_code, str) and CODE_SHAPE.fullmatch(raw_code) else None
        if 300 <= status < 400:
            raise WooCommerceError(Kind.INVALID, "the store redirects elsewhere: set the store "
                                   "URL to the address it ends up at", status=status)
        if status in (401, 403):
            raise WooCommerceError(Kind.AUTH, AUTH_REFUSED, status=status, code=code)
        if status == 400 and code == CODE_EXISTS:
            raise WooCommerceError(Kind.EXISTS, "the coupon code is taken", status=status,
                                   code=code)
        if status == 404:
            raise WooCommerceError(Kind.INVALID, "not found (is WooCommerce active, and the "
                                   "WordPress REST API reachable at /wp-json/?)", status=status,
                                   code=code)
        if status in (408, 425, 429) or status >= 500:
            # A 5xx may come from a proxy after the store did the work.
            raise WooCommerceError(Kind.RETRY, "the store is busy or failing", status=status,
                                   code=code, ambiguous=writes and status >= 500)
        raise WooCommerceError(Kind.INVALID, "the store refused the request", status=status,
                               code=code)
