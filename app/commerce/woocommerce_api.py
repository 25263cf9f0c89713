"""A small client for a store's WooCommerce REST API v3 (sync httpx): coupons, for now.

Auth is HTTP Basic with the store's consumer key and secret, so the store must be reached over
HTTPS; plain HTTP is allowed only to a loopback host (the fake in tests and local work). The
secret travels only in the Authorization header: it is never part of a URL, a log line, an
error or a repr, and anything the store says back is scrubbed of both keys before we repeat it.
"""

from __future__ import annotations

import ipaddress
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

import httpx

from app.http import tls

log = logging.getLogger(__name__)

API_PREFIX = "/wp-json/wc/v3"
CODE_EXISTS = "woocommerce_rest_coupon_code_already_exists"


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


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_store_url(url: str) -> str:
    """The store's base URL without a trailing slash; ValueError when Basic auth over it would
    expose the keys (not https, and not a loopback host)."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"the store URL {url!r} is not an http(s) URL")
    if parts.scheme != "https" and not _is_loopback(parts.hostname):
        raise ValueError(f"the store URL {url!r} is not https: WooCommerce REST keys are sent "
                         "with HTTP Basic auth, which needs HTTPS")
    return url.strip().rstrip("/")


# Raised before any byte of the request left: the store cannot have acted on it.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


class WooCommerceClient:
    def __init__(self, base_url: str, consumer_key: str, consumer_secret: str, *,
                 connect_timeout: float = 5.0, read_timeout: float = 20.0):
        if not consumer_key or not consumer_secret:
            raise ValueError("the consumer key and secret are both required")
        self._base_url = check_store_url(base_url)
        self._secrets = (consumer_key, consumer_secret)
        timeout = httpx.Timeout(connect=connect_timeout, read=read_timeout,
                                write=read_timeout, pool=connect_timeout)
        # Redirects are not followed: a POST cannot be replayed safely, and a redirect means the
        # store URL we hold is not where the store lives (fix it once, rather than every call).
        self._http = httpx.Client(timeout=timeout, follow_redirects=False, verify=tls(),
                                  auth=httpx.BasicAuth(consumer_key, consumer_secret),
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

    def _scrub(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    @staticmethod
    def _object(raw: Any) -> dict[str, Any]:
        if not isinstance(raw, dict) or not isinstance(raw.get("id"), int):
            raise WooCommerceError(Kind.RETRY, "the answer is not a coupon object", ambiguous=True)
        return raw

    def _call(self, method: str, path: str, **kwargs) -> Any:
        url = f"{self._base_url}{API_PREFIX}{path}"
        writes = method != "GET"
        started = time.monotonic()
        try:
            response = self._http.request(method, url, **kwargs)
        except httpx.InvalidURL:
            raise WooCommerceError(Kind.INVALID, "invalid store URL") from None
        except httpx.HTTPError as exc:
            # `from None`: the httpx exception holds the request, and the request its headers.
            raise WooCommerceError(Kind.RETRY, f"{type(exc).__name__}: {self._scrub(str(exc))}",
                                   ambiguous=writes and not isinstance(exc, _NOT_SENT)) from None
        log.debug("woocommerce %s %s -> HTTP %s in %.0f ms", method, path, response.status_code,
                  (time.monotonic() - started) * 1000)
        return self._unwrap(response, writes)

    def _unwrap(self, response: httpx.Response, writes: bool) -> Any:
        status = response.status_code
        try:
            body = response.json()
        except ValueError:
            body = None
        if 200 <= status < 300:
            if body is None:
                # A cache, a security plugin or a PHP notice in front of the JSON: not WooCommerce
                # talking, so we cannot tell whether it acted.
                raise WooCommerceError(Kind.RETRY, f"not JSON: {self._snippet(response)}",
                                       status=status, ambiguous=writes)
            return body
        code = body.get("code") if isinstance(body, dict) else None
        message = body.get("message") if isinstance(body, dict) else None
        text = self._scrub(str(message)[:200]) if message else self._snippet(response)
        code = self._scrub(str(code)[:80]) if code else None
        if 300 <= status < 400:
            where = self._scrub(response.headers.get("location", "")[:200])
            raise WooCommerceError(Kind.INVALID, f"the store redirects to {where!r}: set the store "
                                   "URL to the address it ends up at", status=status)
        if status in (401, 403):
            raise WooCommerceError(Kind.AUTH, text, status=status, code=code)
        if status == 400 and code == CODE_EXISTS:
            raise WooCommerceError(Kind.EXISTS, text, status=status, code=code)
        if status == 404:
            raise WooCommerceError(Kind.INVALID, f"{text} (is WooCommerce active, and the "
                                   "WordPress REST API reachable at /wp-json/?)", status=status,
                                   code=code)
        if status in (408, 425, 429) or status >= 500:
            # A 5xx may come from a proxy after the store did the work.
            raise WooCommerceError(Kind.RETRY, text, status=status, code=code,
                                   ambiguous=writes and status >= 500)
        raise WooCommerceError(Kind.INVALID, text, status=status, code=code)

    def _snippet(self, response: httpx.Response) -> str:
        kind = response.headers.get("content-type", "no content type")
        return f"{kind}: {self._scrub(response.text[:120])!r}".replace("\n", " ")
