"""A fake WooCommerce REST API v3 (coupons) on loopback, for tests and local development.

Stdlib only (ThreadingHTTPServer in a thread), like the fake Kavenegar. It speaks what a real
store answers for coupons: Basic auth with consumer key/secret (or the query-string pair),
WooCommerce's error bodies ({"code", "message", "data": {"status"}}), codes lower-cased and
unique, `GET /coupons?code=`. Tests drive it through Python methods: fail or delay calls, make
the key read-only, and read back the coupons and the requests it got.

Not modelled: pagination headers, OAuth 1.0a over plain HTTP, coupon updates.
"""

from __future__ import annotations

import base64
import functools
import hmac
import html
import json
import logging
import re
import secrets
import ssl
import subprocess
import tempfile
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, parse_qsl, quote, unquote, unquote_plus, urlencode, urlsplit
from zoneinfo import ZoneInfo

import httpx

from app.clock import SYSTEM, Clock
from app.loopback import LoopbackServer

log = logging.getLogger(__name__)

PREFIX = "/wp-json/wc/v3"
DISCOUNT_TYPES = ("percent", "fixed_cart", "fixed_product")
# rest_parse_date(): RFC 3339, the zone optional (then it is the site's timezone).
_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?"
                   r"(Z|[+-]\d{2}:?\d{2})?$")
_ITEM = re.compile(r"^/coupons/(\d+)/?$")


class _Reply(Exception):
    def __init__(self, status: int, code: str, message: str, raw_body: str | None = None,
                 params: dict | None = None):
        super().__init__(code)
        self.status, self.code, self.message, self.raw_body = status, code, message, raw_body
        self.params = params

    def body(self) -> str:
        if self.raw_body is not None:
            return self.raw_body
        data: dict[str, Any] = {"status": self.status}
        if self.params:
            data["params"] = self.params
        return json.dumps({"code": self.code, "message": self.message, "data": data},
                          ensure_ascii=False)


@dataclass
class RecordedRequest:
    method: str
    path: str                 # without the /wp-json/wc/v3 prefix: "/coupons"
    query: dict[str, str]     # without the OAuth 1.0a parameters (those are in `oauth`)
    headers: dict[str, str]
    body: Any                 # the parsed JSON body, or None
    oauth: dict[str, str] = field(default_factory=dict)  # oauth_* query parameters, if any


@dataclass
class _Fault:
    status: int
    times: int
    code: str
    message: str
    raw_body: str | None
    after_work: bool


class FakeWooCommerce(LoopbackServer):
    """Its base_url is what a store's `url` would be: the WordPress site root."""

    name = "fake-woocommerce"

    def __init__(self, consumer_key: str = "ck_" + "a1" * 20,
                 consumer_secret: str = "cs_" + "b2" * 20, port: int = 0, *,
                 host: str = "127.0.0.1", site_timezone: str = "Asia/Tehran",
                 clock: Clock = SYSTEM, tls: bool = False):
        """`clock`: the store's time (OAuth timestamps, dates of what it makes); `tls`: serve
        https with a self-signed certificate (`trust()` gives a client the context to accept it),
        where Basic auth is accepted; over http only OAuth 1.0a is."""
        self.consumer_key, self.consumer_secret = consumer_key, consumer_secret
        self.permissions = "read_write"  # "read": every write answers 401, as WooCommerce does
        self.site_timezone = ZoneInfo(site_timezone)
        self.requests: list[RecordedRequest] = []
        self._coupons: dict[int, dict[str, Any]] = {}
        self._next_id = 719
        self._faults: dict[str, list[_Fault]] = {}
        self._delays: dict[str, float] = {}
        self._lock = threading.RLock()
        self._init_transport(clock, tls)
        super().__init__(_handler_for(self), host, port)
        if tls:
            self._serve_tls()

    # -- knobs for tests -----------------------------------------------------------------------

    def fail_next(self, route: str, status: int, *, times: int = 1,
                  code: str = "internal_server_error", message: str = "There has been a critical "
                  "error on this website.", raw_body: str | None = None,
                  after_work: bool = False) -> None:
        """Answer the next `times` calls of `route` ("POST /coupons", "GET /coupons") with this
        status and WooCommerce error body (or `raw_body`). `after_work`: do the work first, then
        fail (a proxy's 502 after the store created the coupon)."""
        with self._lock:
            self._faults.setdefault(route, []).append(
                _Fault(status, times, code, message, raw_body, after_work))

    def delay(self, route: str, seconds: float) -> None:
        """Hold answers of `route` this long AFTER doing the work: a client that times out
        meanwhile does not know the coupon was created (the ambiguous case)."""
        with self._lock:
            self._delays[route] = seconds

    def add_coupon(self, code: str, **fields: Any) -> dict[str, Any]:
        """A coupon the merchant made by hand (e.g. the fixed «off5»); `status` ("draft",
        "trash") and `usage_count` as WordPress would have them."""
        with self._lock:
            coupon = self._create({"code": code} | fields)
            coupon.update({k: fields[k] for k in ("status", "usage_count") if k in fields})
            return coupon

    def use_coupon(self, code: str, email: str) -> None:
        """An order used the coupon (WooCommerce counts it when the order is placed)."""
        with self._lock:
            coupon = self._by_code(code)
            assert coupon is not None, f"no coupon {code!r} in the store"
            coupon["usage_count"] += 1
            coupon["used_by"].append(email)

    def apply_in_cart(self, code: str, at: datetime, *, email: str = "") -> str | None:
        """A shopper types `code` in the cart at `at` (a guest; `email` once typed at checkout):
        None when WooCommerce applies it, else what it says (WC_Discounts' checks, in order)."""
        with self._lock:
            coupon = self._by_code(code)
            if coupon is None or coupon["status"] != "publish":
                return f'Coupon "{code}" does not exist!'
            if coupon["usage_limit"] and coupon["usage_count"] >= coupon["usage_limit"]:
                return "Coupon usage limit has been reached."
            if coupon["date_expires_gmt"] and _gmt(at) > coupon["date_expires_gmt"]:
                return "This coupon has expired."
            if coupon["email_restrictions"] and email.strip().lower() not in \
                    coupon["email_restrictions"]:
                return f'Please enter a valid email to use coupon code "{code}".'
            return None

    # -- what happened -------------------------------------------------------------------------

    @property
    def coupons(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(c) for c in self._coupons.values()]

    def coupon(self, code: str) -> dict[str, Any] | None:
        with self._lock:
            found = self._by_code(code)
            return dict(found) if found else None

    def calls(self, route: str) -> list[RecordedRequest]:
        method, _, path = route.partition(" ")
        with self._lock:
            return [r for r in self.requests
                    if r.method == method and r.path.rstrip("/") == path.rstrip("/")]

    # -- the API -------------------------------------------------------------------------------

    def handle(self, method: str, raw_path: str, body: bytes,
               headers: dict[str, str]) -> tuple[int, str]:
        """One HTTP call → (status, body). Runs on the server's request threads."""
        split = urlsplit(raw_path)
        query = {k: v[0] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        try:
            payload = json.loads(body) if body else None
        except ValueError:
            payload = None
        path = split.path[len(PREFIX):] if split.path.startswith(PREFIX) else split.path
        route = f"{method} {'/coupons/{id}' if _ITEM.match(path) else path.rstrip('/')}"
        with self._lock:
            self.requests.append(RecordedRequest(
                method, path, {k: v for k, v in query.items() if not k.startswith("oauth_")},
                headers, payload, {k: v for k, v in query.items() if k.startswith("oauth_")}))
        status, answer = 200, None
        try:
            if not split.path.startswith(PREFIX):
                raise _Reply(404, "rest_no_route", "No route was found matching the URL and "
                             "request method.")
            self._authenticate(method, headers, query)
            with self._lock:
                fault = self._take_fault(route)
                if fault and not fault.after_work:
                    raise _Reply(fault.status, fault.code, fault.message, fault.raw_body)
                status, answer = self._dispatch(method, path, query, body, payload)
                delay = self._delays.get(route, 0.0)
                gate = self._gate(route)
            if fault:
                raise _Reply(fault.status, fault.code, fault.message, fault.raw_body)
        except _Reply as reply:
            return reply.status, reply.body()
        if delay:
            self._released.wait(delay)
        self._wait_at(route, gate)
        return status, json.dumps(answer, ensure_ascii=False)

    def _authenticate(self, method: str, headers: dict[str, str], query: dict[str, str]) -> None:
        key = self._identify(method, headers)
        writes = method != "GET"
        if key is None:
            # Not authenticated at all: WordPress treats it as a visitor without the capability.
            raise _Reply(401, "woocommerce_rest_cannot_create" if writes else
                         "woocommerce_rest_cannot_view", "Sorry, you are not allowed to "
                         f"{'create' if writes else 'list'} resources.")
        self._check_permissions(key, method)

    def _take_fault(self, route: str) -> _Fault | None:
        for fault in self._faults.get(route, []):
            if fault.times > 0:
                fault.times -= 1
                return fault
        return None

    def _route(self, method: str, path: str, query: dict[str, str], body: bytes,
               payload: Any) -> tuple[int, Any]:
        path = path.rstrip("/")
        if path == "/coupons" and method == "POST":
            if not isinstance(payload, dict):
                raise _Reply(400, "rest_invalid_json", "Invalid JSON body passed.")
            return 201, self._create(payload)
        if path == "/coupons" and method == "GET":
            return 200, self._list(query)
        item = _ITEM.match(path)
        if item and method == "DELETE":
            return 200, self._delete_coupon(int(item[1]), force=query.get("force") == "true")
        if item and method == "GET":
            coupon = self._coupons.get(int(item[1]))
            if coupon is None:
                raise _Reply(404, "woocommerce_rest_shop_coupon_invalid_id", "Invalid ID.")
            return 200, coupon
        raise _Reply(404, "rest_no_route",
                     "No route was found matching the URL and request method.")

    def _delete_coupon(self, coupon_id: int, *, force: bool) -> dict[str, Any]:
        """DELETE /coupons/<id>: with force=true gone for good, else to the trash; the answer is
        the coupon as it was."""
        coupon = self._coupons.get(coupon_id)
        if coupon is None:
            raise _Reply(404, "woocommerce_rest_shop_coupon_invalid_id", "Invalid ID.")
        if force:
            return self._coupons.pop(coupon_id)
        if coupon["status"] == "trash":
            raise _Reply(410, "woocommerce_rest_already_trashed",
                         "The coupon has already been deleted.")
        coupon["status"] = "trash"
        return coupon

    def _by_code(self, code: str) -> dict[str, Any] | None:
        code = _format_code(code)
        return next((c for c in self._coupons.values() if c["code"] == code), None)

    def _list(self, query: dict[str, str]) -> list[dict[str, Any]]:
        if query.get("code"):
            found = self._by_code(query["code"])
            return [found] if found else []
        search = query.get("search", "").lower()
        rows = [c for c in self._coupons.values() if search in c["code"]]
        per_page = int(query.get("per_page") or 10)
        return sorted(rows, key=lambda c: -c["id"])[:per_page]

    def _create(self, data: dict[str, Any]) -> dict[str, Any]:
        code = _format_code(str(data.get("code") or ""))
        if not code:
            raise _Reply(400, "woocommerce_rest_empty_coupon_code",
                         "The coupon code cannot be empty.")
        invalid = {}
        discount_type = data.get("discount_type", "fixed_cart")
        if discount_type not in DISCOUNT_TYPES:
            invalid["discount_type"] = f"discount_type is not one of {', '.join(DISCOUNT_TYPES)}."
        for name in ("amount", "minimum_amount", "maximum_amount", "description"):
            if name in data and not isinstance(data[name], str):
                invalid[name] = f"{name} is not of type string."
        for name in ("usage_limit", "usage_limit_per_user", "limit_usage_to_x_items"):
            if data.get(name) is not None and not isinstance(data[name], int):
                invalid[name] = f"{name} is not of type integer."
        for name in ("individual_use", "free_shipping", "exclude_sale_items"):
            if name in data and not isinstance(data[name], bool):
                invalid[name] = f"{name} is not of type boolean."
        emails = data.get("email_restrictions", [])
        if not isinstance(emails, list) or not all(isinstance(e, str) for e in emails):
            invalid["email_restrictions"] = "email_restrictions is not of type array of strings."
        expires = data.get("date_expires")
        if expires is not None and not (isinstance(expires, str) and _DATE.match(expires)):
            invalid["date_expires"] = "Invalid date."
        expires_gmt_text = data.get("date_expires_gmt")
        if expires_gmt_text is not None and not (isinstance(expires_gmt_text, str)
                                                 and _DATE.match(expires_gmt_text)):
            invalid["date_expires_gmt"] = "Invalid date."
        if invalid:
            raise _Reply(400, "rest_invalid_param", f"Invalid parameter(s): {', '.join(invalid)}",
                         params=invalid)
        if self._by_code(code):
            raise _Reply(400, "woocommerce_rest_coupon_code_already_exists",
                         "The coupon code already exists")
        self._next_id += 1
        now = SYSTEM.now().replace(microsecond=0)
        expires_gmt = self._parse_date(expires) if expires else None
        if expires_gmt_text:  # after date_expires, as WooCommerce sets them: the GMT one wins
            expires_gmt = self._parse_gmt_date(expires_gmt_text)
        coupon = {
            "id": self._next_id, "code": code, "amount": _decimal(data.get("amount", "0")),
            "status": "publish",
            "date_created": self._local(now), "date_created_gmt": _gmt(now),
            "date_modified": self._local(now), "date_modified_gmt": _gmt(now),
            "discount_type": discount_type, "description": data.get("description", ""),
            "date_expires": self._local(expires_gmt) if expires_gmt else None,
            "date_expires_gmt": _gmt(expires_gmt) if expires_gmt else None,
            "usage_count": 0, "individual_use": data.get("individual_use", False),
            "product_ids": list(data.get("product_ids", [])),
            "excluded_product_ids": list(data.get("excluded_product_ids", [])),
            "usage_limit": data.get("usage_limit") or None,
            "usage_limit_per_user": data.get("usage_limit_per_user") or None,
            "limit_usage_to_x_items": data.get("limit_usage_to_x_items") or None,
            "free_shipping": data.get("free_shipping", False),
            "product_categories": [], "excluded_product_categories": [],
            "exclude_sale_items": data.get("exclude_sale_items", False),
            "minimum_amount": _decimal(data.get("minimum_amount", "0")),
            "maximum_amount": _decimal(data.get("maximum_amount", "0")),
            "email_restrictions": [e.strip().lower() for e in emails],
            "used_by": [],
            "meta_data": [{"id": self._next_id * 10 + i, "key": m.get("key"),
                           "value": m.get("value")}
                          for i, m in enumerate(data.get("meta_data") or [])],
        }
        self._coupons[coupon["id"]] = coupon
        return coupon

    def _parse_date(self, value: str) -> datetime:
        """`date_expires` as WC_Data::set_date_prop reads it, faults included: a zone "+HH:MM"
        goes through WordPress's iso8601_timezone_to_offset(), which expects "+HHMM" and reads
        the minutes from ":MM" as 0 — "+03:30" counts as +3 hours."""
        match = _DATE.match(value)
        naive = datetime(*(int(match[i]) for i in range(1, 7)))
        zone = match[8]
        if not zone:  # WooCommerce reads a date without a zone in the site's timezone
            return naive.replace(tzinfo=self.site_timezone).astimezone(timezone.utc)
        if zone == "Z":
            return naive.replace(tzinfo=timezone.utc)
        sign = 1 if zone[0] == "+" else -1
        minutes = re.sub(r"\D.*", "", zone[3:7])  # PHP: (int) substr($timezone, 3, 4)
        offset = timedelta(hours=int(zone[1:3]), minutes=int(minutes or 0))
        return (naive - sign * offset).replace(tzinfo=timezone.utc)

    @staticmethod
    def _parse_gmt_date(value: str) -> datetime:
        """`date_expires_gmt`: UTC (PHP's strtotime under WordPress's UTC default timezone)."""
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        if parsed.tzinfo is None:
            return parsed.replace(tzinfo=timezone.utc)
        return parsed.astimezone(timezone.utc)

    def _local(self, at: datetime) -> str:
        return at.astimezone(self.site_timezone).replace(tzinfo=None).isoformat(timespec="seconds")


    # -- auth (WC_REST_Authentication) ---------------------------------------------------------
    # The transport half of the fake (these three sections): one-legged OAuth 1.0a over plain
    # http, and Basic auth only in its https mode (`tls=True`), for every route, coupons too;
    # webhooks CRUD; orders and products that tests add, listed by `modified_after` with
    # WordPress's X-WP-Total / X-WP-TotalPages / Link headers; and the /wc-auth/v1/authorize
    # one-click key flow. (The module docstring's "Not modelled" list predates them.)

    def _init_transport(self, clock: Clock, tls: bool) -> None:
        self.clock, self.tls = clock, tls
        self._current = threading.local()          # the request this thread is answering
        self._main_nonces: dict[int, str] = {}     # the constructor's key's used nonces
        self._issued: dict[str, ApiKey] = {}       # keys made by /wc-auth, by consumer key
        self._next_key_id = 1
        self._webhooks: dict[int, dict[str, Any]] = {}
        self._next_webhook_id = 0
        self._orders: dict[int, dict[str, Any]] = {}
        self._products: dict[int, dict[str, Any]] = {}
        # woocommerce_valid_webhook_resources: a plugin adds its own (the companion plugin's
        # bazgasht_cart) with that filter.
        self.webhook_resources = ["coupon", "customer", "order", "product", "bazgasht_cart"]
        self.require_https_callback = True  # WC_Auth refuses a callback_url not over https
        self._refusing = False
        self.authorizations: list[dict[str, Any]] = []

    @property
    def base_url(self) -> str:
        url = super().base_url
        return "https" + url[len("http"):] if self.tls else url

    def _serve_tls(self) -> None:
        cert, key = _self_signed()
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        # The handshake happens on the handler's thread (first read), not in accept().
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True,
                                                  do_handshake_on_connect=False)

    def trust(self) -> ssl.SSLContext:
        """What a client verifies this fake's https with (its self-signed certificate)."""
        return ssl.create_default_context(cafile=_self_signed()[0])

    def respond(self, method: str, raw_path: str, body: bytes,
                headers: dict[str, str]) -> tuple[int, str, dict[str, str]]:
        """One HTTP call → (status, body, extra headers): the auth flow, or `handle`."""
        split = urlsplit(raw_path)
        current = self._current
        current.path, current.query, current.body, current.extra = (
            split.path, split.query, body, {})
        if split.path.startswith("/wc-auth/"):
            return self._wc_auth(method, split.path, dict(parse_qsl(split.query,
                                                                     keep_blank_values=True)))
        status, text = self.handle(method, raw_path, body, headers)
        return status, text, current.extra

    def _key(self, consumer_key: str) -> ApiKey | None:
        if consumer_key == self.consumer_key:
            return ApiKey(0, self.consumer_key, self.consumer_secret, self.permissions,
                          nonces=self._main_nonces)
        return self._issued.get(consumer_key)

    def _identify(self, method: str, headers: dict[str, str]) -> ApiKey | None:
        """authenticate(): Basic auth only when the request came over https (is_ssl()), then
        OAuth 1.0a. A key Basic auth does not know is no error (OAuth is tried next); a wrong
        secret is, and stays one whatever OAuth finds."""
        error: _Reply | None = None
        key: ApiKey | None = None
        if self.tls:
            key, error = self._basic(headers)
        if key is None:
            key, oauth_error = self._oauth(method, headers)
            error = error or oauth_error
        if error is not None:
            raise error
        return key

    def _basic(self, headers: dict[str, str]) -> tuple[ApiKey | None, _Reply | None]:
        query = dict(parse_qsl(getattr(self._current, "query", ""), keep_blank_values=True))
        consumer_key = consumer_secret = ""
        if query.get("consumer_key") and query.get("consumer_secret"):
            consumer_key, consumer_secret = query["consumer_key"], query["consumer_secret"]
        auth = _header(headers, "authorization")
        if not consumer_key and auth.lower().startswith("basic "):
            try:
                user, _, password = base64.b64decode(auth[6:]).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                user = password = ""
            if user and password:
                consumer_key, consumer_secret = user, password
        if not consumer_key or not consumer_secret:
            return None, None
        key = self._key(consumer_key)
        if key is None:
            return None, None
        if not hmac.compare_digest(key.consumer_secret.encode(), consumer_secret.encode()):
            return None, _auth_error("Consumer secret is invalid.")
        return key, None

    def _oauth_params(self, headers: dict[str, str]) -> dict[str, str]:
        """get_oauth_parameters(): $_GET, $_POST, then an `Authorization: OAuth …` header."""
        params = dict(parse_qsl(getattr(self._current, "query", ""), keep_blank_values=True))
        if "application/x-www-form-urlencoded" in _header(headers, "content-type"):
            body = getattr(self._current, "body", b"").decode("utf-8", "replace")
            params |= dict(parse_qsl(body, keep_blank_values=True))
        auth = _header(headers, "authorization").strip()
        if auth.startswith("OAuth "):
            for name, _, quoted, bare in _OAUTH_HEADER.findall(auth):
                params[name] = unquote_plus(quoted or bare)
        return params

    def _oauth(self, method: str, headers: dict[str, str]) -> tuple[ApiKey | None, _Reply | None]:
        params = self._oauth_params(headers)
        missing = [n for n in _OAUTH_NAMES if params.get(n, "") in ("", "0")]  # PHP's empty()
        if len(missing) == len(_OAUTH_NAMES):
            return None, None  # not trying OAuth at all
        if missing:
            return None, _Reply(401, "woocommerce_rest_authentication_missing_parameter",
                                f"Missing OAuth parameter{'s' if len(missing) > 1 else ''} "
                                f"{', '.join(missing)}")
        key = self._key(params["oauth_consumer_key"])
        if key is None:
            return None, _auth_error("Consumer key is invalid.")
        problem = self._check_oauth_signature(method, key, params)
        if problem is None:
            problem = self._check_timestamp_and_nonce(key, params["oauth_timestamp"],
                                                      params["oauth_nonce"])
        return (None, problem) if problem else (key, None)

    def _check_oauth_signature(self, method: str, key: ApiKey,
                               params: dict[str, str]) -> _Reply | None:
        """check_oauth_signature(), step by step: the URL is the home URL + the request path
        over the scheme of the request; the signature given is rawurldecoded (spaces back to
        '+'); the rest are sorted by key, rawurlencoded, each `k=v` encoded again and joined
        with %26."""
        url = self.base_url + getattr(self._current, "path", "")
        given = unquote(params["oauth_signature"].replace(" ", "+"))
        rest = {k: v for k, v in params.items() if k != "oauth_signature"}
        ordered = sorted(rest.items(), key=lambda kv: kv[0].encode())
        normalized = [(_rawurlencode(k), _rawurlencode(v)) for k, v in ordered]
        joined = "%26".join(_rawurlencode(f"{k}={v}") for k, v in normalized)
        to_sign = f"{method.upper()}&{_rawurlencode(url)}&{joined}"
        algorithm = {"HMAC-SHA1": "sha1", "HMAC-SHA256": "sha256"}.get(
            rest["oauth_signature_method"])
        if algorithm is None:
            return _auth_error("Invalid signature - signature method is invalid.")
        expected = base64.b64encode(hmac.new(f"{key.consumer_secret}&".encode(),
                                             to_sign.encode(), algorithm).digest()).decode()
        if not hmac.compare_digest(expected.encode(), given.encode()):
            return _auth_error("Invalid signature - provided signature does not match.")
        return None

    def _check_timestamp_and_nonce(self, key: ApiKey, timestamp: str,
                                   nonce: str) -> _Reply | None:
        """15 minutes either way of the store's clock; a nonce seen in the last 15 minutes is
        refused. WooCommerce keeps the used nonces keyed by their timestamp, so a second request
        in the same second replaces the first one's nonce (kept here as it is)."""
        now = int(self.clock.now().timestamp())
        try:
            stamp = int(timestamp)
        except ValueError:
            return _auth_error("Invalid timestamp.")
        if stamp < now - _OAUTH_WINDOW or stamp > now + _OAUTH_WINDOW:
            return _auth_error("Invalid timestamp.")
        with self._lock:
            if nonce in key.nonces.values():
                return _auth_error("Invalid nonce - nonce has already been used.")
            key.nonces[stamp] = nonce
            for old in [t for t in key.nonces if t < now - _OAUTH_WINDOW]:
                del key.nonces[old]
        return None

    @staticmethod
    def _check_permissions(key: ApiKey, method: str) -> None:
        if method in ("GET", "HEAD") and key.permissions not in ("read", "read_write"):
            raise _auth_error("The API key provided does not have read permissions.")
        if method in ("POST", "PUT", "PATCH", "DELETE") and \
                key.permissions not in ("write", "read_write"):
            raise _auth_error("The API key provided does not have write permissions.")

    # -- webhooks, orders, products ------------------------------------------------------------

    def _dispatch(self, method: str, path: str, query: dict[str, str], body: bytes,
                  payload: Any) -> tuple[int, Any]:
        bare = path.rstrip("/")
        if bare == "/webhooks" or _WEBHOOK_ITEM.match(bare):
            return self._webhook_route(method, bare, query, payload)
        if bare in ("/orders", "/products") and method == "GET":
            rows = self._orders if bare == "/orders" else self._products
            return 200, self._listing(list(rows.values()), query)
        return self._route(method, path, query, body, payload)

    def add_order(self, order: dict[str, Any]) -> dict[str, Any]:
        """An order as the store has it (v3 shape); the same id again replaces it (a change).
        Missing dates are filled from the store's clock."""
        with self._lock:
            return self._keep(self._orders, order)

    def add_product(self, product: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            return self._keep(self._products, product)

    def _keep(self, table: dict[int, dict[str, Any]], item: dict[str, Any]) -> dict[str, Any]:
        row = dict(item)
        row.setdefault("id", max([*self._orders, *self._products, 100]) + 1)
        now = self.clock.now().replace(microsecond=0)
        for name in ("date_created", "date_modified"):
            gmt = _utc_of(row.get(f"{name}_gmt")) or now
            row[f"{name}_gmt"], row[name] = _gmt(gmt), self._local(gmt)
        table[int(row["id"])] = row
        return dict(row)

    def _listing(self, rows: list[dict[str, Any]], query: dict[str, str],
                 dates: tuple[str, str] = ("date_created_gmt", "date_modified_gmt"),
                 orderby: tuple[str, ...] = ("date", "modified", "id", "include", "title",
                                             "slug")) -> list[dict[str, Any]]:
        """A WordPress collection: filter by after/before/modified_after/modified_before
        (exclusive; GMT when dates_are_gmt), sort by `orderby` then id, a page of `per_page`
        with X-WP-Total, X-WP-TotalPages and Link headers."""
        per_page, page = query.get("per_page", "10"), query.get("page", "1")
        invalid = {}
        if not per_page.isdigit() or not 1 <= int(per_page) <= 100:
            invalid["per_page"] = "per_page must be between 1 (inclusive) and 100 (inclusive)"
        if not page.isdigit() or int(page) < 1:
            invalid["page"] = "page must be greater than or equal to 1"
        if query.get("orderby", "date") not in orderby:
            invalid["orderby"] = f"orderby is not one of {', '.join(orderby)}."
        if query.get("order", "desc") not in ("asc", "desc"):
            invalid["order"] = "order is not one of asc and desc."
        gmt = query.get("dates_are_gmt", "false").lower() in ("true", "1")
        bounds = {}
        for name in ("after", "before", "modified_after", "modified_before"):
            if name in query:
                if not _DATE.match(query[name]):
                    invalid[name] = "Invalid date."
                else:
                    bounds[name] = self._parse_instant(query[name], gmt)
        if invalid:
            raise _Reply(400, "rest_invalid_param",
                         f"Invalid parameter(s): {', '.join(invalid)}", params=invalid)
        created, modified = dates

        def keep(row: dict[str, Any]) -> bool:
            made, changed = _utc_of(row.get(created)), _utc_of(row.get(modified))
            return all(at is not None and (at > bound if name.endswith("after") else at < bound)
                       for name, bound in bounds.items()
                       for at in [changed if name.startswith("modified") else made])

        column = {"date": created, "modified": modified}.get(query.get("orderby", "date"))
        found = sorted((r for r in rows if keep(r)),
                       key=lambda r: (str(r.get(column) or "") if column else "", r["id"]),
                       reverse=query.get("order", "desc") == "desc")
        size, number = int(per_page), int(page)
        pages = -(-len(found) // size)
        extra = getattr(self._current, "extra", {})
        extra["X-WP-Total"], extra["X-WP-TotalPages"] = str(len(found)), str(pages)
        links = []
        base = f"{self.base_url}{PREFIX}{getattr(self._current, 'path', '')[len(PREFIX):]}"
        if number > 1:
            links.append(f'<{base}?{urlencode(query | {"page": min(number - 1, pages)})}>; '
                         'rel="prev"')
        if pages > number:
            links.append(f'<{base}?{urlencode(query | {"page": number + 1})}>; rel="next"')
        if links:
            extra["Link"] = ", ".join(links)
        return [dict(r) for r in found[(number - 1) * size:number * size]]

    def _parse_instant(self, value: str, gmt: bool) -> datetime:
        match = _DATE.match(value)
        assert match is not None
        if match[8] or not gmt:
            return self._parse_date(value)  # with a zone, or in the site's timezone
        return self._parse_date(value + "Z")

    def _webhook_route(self, method: str, path: str, query: dict[str, str],
                       payload: Any) -> tuple[int, Any]:
        item = _WEBHOOK_ITEM.match(path)
        if item is None and method == "GET":
            status = query.get("status", "all")
            if status not in ("all", *_WEBHOOK_STATUSES):
                raise _Reply(400, "rest_invalid_param", "Invalid parameter(s): status",
                             params={"status": "status is not one of all, active, paused, "
                                               "and disabled."})
            rows = [self._webhook_json(w) for w in self._webhooks.values()
                    if status == "all" or w["status"] == status]
            return 200, self._listing(rows, query, orderby=("date", "id", "title"),
                                      dates=("date_created_gmt", "date_modified_gmt"))
        if item is None and method == "POST":
            if not isinstance(payload, dict):
                raise _Reply(400, "rest_invalid_json", "Invalid JSON body passed.")
            made = self._create_webhook(payload)
            extra = getattr(self._current, "extra", {})
            extra["Location"] = f"{self.base_url}{PREFIX}/webhooks/{made['id']}"
            return 201, self._webhook_json(made)
        if item is None:
            raise _Reply(404, "rest_no_route",
                         "No route was found matching the URL and request method.")
        webhook = self._webhooks.get(int(item[1]))
        if method == "GET":
            if webhook is None:
                raise _Reply(400, "woocommerce_rest_shop_webhook_invalid_id", "ID is invalid.")
            return 200, self._webhook_json(webhook)
        if method in ("POST", "PUT", "PATCH"):
            if webhook is None:
                raise _Reply(400, "woocommerce_rest_shop_webhook_invalid_id", "ID is invalid.")
            return 200, self._webhook_json(self._update_webhook(webhook, payload or {}))
        if method == "DELETE":
            if query.get("force", "false").lower() not in ("true", "1"):
                raise _Reply(501, "woocommerce_rest_trash_not_supported",
                             "Webhooks do not support trashing.")
            if webhook is None:
                raise _Reply(404, "woocommerce_rest_shop_webhook_invalid_id", "Invalid ID.")
            shown = self._webhook_json(webhook)
            del self._webhooks[webhook["id"]]
            return 200, shown
        raise _Reply(404, "rest_no_route", "No route was found matching the URL and request "
                     "method.")

    def _valid_topic(self, topic: str) -> bool:
        """wc_is_webhook_valid_topic()."""
        if topic in _INVALID_TOPICS:
            return False
        if topic.startswith(("action.woocommerce_", "action.wc_")):
            return True
        parts = topic.split(".")
        return len(parts) >= 2 and parts[0] in self.webhook_resources and \
            parts[1] in ("created", "updated", "deleted", "restored")

    def _check_webhook_fields(self, data: dict[str, Any], creating: bool) -> None:
        if "status" in data and data["status"] not in _WEBHOOK_STATUSES:
            raise _Reply(400, "rest_invalid_param", "Invalid parameter(s): status",
                         params={"status": "status is not one of active, paused, and disabled."})
        topic = str(data.get("topic") or "")
        if (creating or topic) and not self._valid_topic(topic.lower()):
            raise _Reply(400, "woocommerce_rest_shop_webhook_invalid_topic",
                         "Webhook topic is required and must be valid." if creating
                         else "Webhook topic must be valid.")
        url = str(data.get("delivery_url") or "")
        if (creating or url) and not _valid_url(url):
            raise _Reply(400, "woocommerce_rest_shop_webhook_invalid_delivery_url",
                         "Webhook delivery URL must be a valid URL starting with http:// or "
                         "https://.")

    def _create_webhook(self, data: dict[str, Any]) -> dict[str, Any]:
        """The controller's create_item(): the status is always `active` (the post status it
        derives it from is `publish` on every create); no secret → 50 random characters."""
        self._check_webhook_fields(data, creating=True)
        now = self.clock.now().replace(microsecond=0)
        self._next_webhook_id += 1
        webhook = {
            "id": self._next_webhook_id,
            "name": data.get("name") or now.strftime("Webhook created on %b %d, %Y @ %I:%M %p"),
            "status": "active", "topic": data["topic"], "delivery_url": data["delivery_url"],
            "secret": data.get("secret") or secrets.token_urlsafe(38)[:50],
            "date_created_gmt": now, "date_modified_gmt": now,
        }
        self._webhooks[webhook["id"]] = webhook
        return webhook

    def _update_webhook(self, webhook: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        """update_item(): each of topic, delivery_url, secret, status, name set only when not
        empty."""
        self._check_webhook_fields(data, creating=False)
        for name in ("topic", "delivery_url", "secret", "status", "name"):
            if data.get(name):
                webhook[name] = data[name]
        webhook["date_modified_gmt"] = self.clock.now().replace(microsecond=0)
        return webhook

    def _webhook_json(self, webhook: dict[str, Any]) -> dict[str, Any]:
        """prepare_item_for_response() of the v2/v3 controller: no secret (it is in the schema,
        for the edit context, but never put in the response)."""
        topic = webhook["topic"]
        resource, _, event = topic.partition(".")
        href = f"{self.base_url}{PREFIX}/webhooks"
        return {
            "id": webhook["id"], "name": webhook["name"], "status": webhook["status"],
            "topic": topic, "resource": resource, "event": event,
            "hooks": [event] if resource == "action" else list(_TOPIC_HOOKS.get(topic, [])),
            "delivery_url": webhook["delivery_url"],
            "date_created": self._local(webhook["date_created_gmt"]),
            "date_created_gmt": _gmt(webhook["date_created_gmt"]),
            "date_modified": self._local(webhook["date_modified_gmt"]),
            "date_modified_gmt": _gmt(webhook["date_modified_gmt"]),
            "_links": {"self": [{"href": f"{href}/{webhook['id']}"}],
                       "collection": [{"href": href}]},
        }

    @property
    def webhooks(self) -> list[dict[str, Any]]:
        """What the store holds, secrets included (the API never shows them)."""
        with self._lock:
            return [dict(w) for w in self._webhooks.values()]

    def webhook(self, webhook_id: int) -> dict[str, Any] | None:
        with self._lock:
            found = self._webhooks.get(webhook_id)
            return dict(found) if found else None

    def disable_webhook(self, webhook_id: int) -> None:
        """What WooCommerce does after consecutive failed deliveries."""
        with self._lock:
            self._webhooks[webhook_id]["status"] = "disabled"

    def delete_webhook_behind(self, webhook_id: int) -> None:
        """The merchant deletes the webhook in the admin."""
        with self._lock:
            del self._webhooks[webhook_id]

    def set_webhook_secret(self, webhook_id: int, secret: str) -> None:
        """The merchant changes the secret in the admin."""
        with self._lock:
            self._webhooks[webhook_id]["secret"] = secret

    # -- application authorization (WC_Auth, /wc-auth/v1/) -------------------------------------

    def refuse_authorization(self, refuse: bool = True) -> None:
        """The merchant presses Deny on the grant page (from now on, until called with False)."""
        self._refusing = refuse

    def revoke_issued_keys(self) -> list[ApiKey]:
        """The merchant revokes the keys the authorization made (WooCommerce → Settings →
        Advanced → REST API → Revoke); returns them, to be given back with `restore_keys`."""
        with self._lock:
            revoked, self._issued = list(self._issued.values()), {}
            return revoked

    def restore_keys(self, keys: list[ApiKey]) -> None:
        with self._lock:
            self._issued.update({k.consumer_key: k for k in keys})

    @property
    def issued_keys(self) -> list[ApiKey]:
        with self._lock:
            return list(self._issued.values())

    def _wc_auth(self, method: str, path: str,
                 params: dict[str, str]) -> tuple[int, str, dict[str, str]]:
        """The one-click key flow, with the merchant logged in and deciding at once.

        From WC_Auth: the five parameters app_name, user_id, return_url, callback_url and scope
        are all required ("Missing parameter …"); scope is read, write or read_write; both URLs
        are urldecoded and given https:// when they have no scheme, and must be valid URLs;
        the callback_url must start with https:// ("The callback_url needs to be over SSL",
        `require_https_callback = False` lifts it for loopback tests). On approval it makes a
        key (ck_/cs_ + 40 hex), POSTs JSON {key_id, user_id, consumer_key, consumer_secret,
        key_permissions} to the callback_url (Content-Type application/json;charset=UTF-8) and,
        on exactly HTTP 200, redirects to return_url with success=1&user_id=…; any other answer
        (or none) deletes the key and shows "Error: …" with HTTP 401. Deny is a link to
        return_url with success=0&user_id=…. Errors are WordPress's wp_die page, HTTP 401."""
        route = path[len("/wc-auth/v1/"):].strip("/").lower()
        record: dict[str, Any] = {"route": route, "params": dict(params)}
        with self._lock:
            self.authorizations.append(record)
        try:
            if method not in ("GET", "POST") or route not in ("authorize", "login",
                                                              "access_granted"):
                raise _AuthError("You do not have permission to access this page")
            data = self._validate_authorization(params)
            if self._refusing:
                record["outcome"] = "refused"
                return 302, "", {"Location": _add_query_arg(
                    _formatted_url(data["return_url"]),
                    {"success": "0", "user_id": data["user_id"]})}
            key = self._create_key(data)
            record["key"] = key
            try:
                self._post_consumer_data(key, data["user_id"],
                                         _formatted_url(data["callback_url"]))
            except _AuthError:
                with self._lock:
                    self._issued.pop(key.consumer_key, None)
                record["outcome"] = "callback failed"
                raise
            record["outcome"] = "granted"
            return 302, "", {"Location": _add_query_arg(
                _formatted_url(data["return_url"]), {"success": "1", "user_id": data["user_id"]})}
        except _AuthError as exc:
            record.setdefault("outcome", str(exc))
            message = html.escape(f"Error: {exc}.")
            return 401, (f"<!DOCTYPE html><html><head><title>Access denied</title></head>"
                         f"<body><p>{message}</p></body></html>"), {}

    def _validate_authorization(self, params: dict[str, str]) -> dict[str, str]:
        for name in ("app_name", "user_id", "return_url", "callback_url", "scope"):
            if params.get(name, "") in ("", "0"):  # PHP's empty()
                raise _AuthError(f"Missing parameter {name}")
        if params["scope"] not in ("read", "write", "read_write"):
            raise _AuthError(f"Invalid scope {params['scope']}")
        for name in ("return_url", "callback_url"):
            url = _formatted_url(params[name])
            if not _valid_url(url):
                raise _AuthError(f"The {url} is not a valid URL")
        if self.require_https_callback and \
                not _formatted_url(params["callback_url"]).lower().startswith("https://"):
            raise _AuthError("The callback_url needs to be over SSL")
        return params

    def _create_key(self, data: dict[str, str]) -> ApiKey:
        with self._lock:
            key = ApiKey(self._next_key_id, "ck_" + secrets.token_hex(20),
                         "cs_" + secrets.token_hex(20), data["scope"], user_id=data["user_id"],
                         description=f"{data['app_name'][:170]} - API "
                                     f"({self.clock.now().strftime('%Y-%m-%d %H:%M:%S')})")
            self._next_key_id += 1
            self._issued[key.consumer_key] = key
            return key

    def _post_consumer_data(self, key: ApiKey, user_id: str, url: str) -> None:
        body = json.dumps({"key_id": key.key_id, "user_id": user_id,
                           "consumer_key": key.consumer_key,
                           "consumer_secret": key.consumer_secret,
                           "key_permissions": key.permissions}, separators=(",", ":"))
        try:
            answer = httpx.post(url, content=body, timeout=60, follow_redirects=False,
                                headers={"Content-Type": "application/json;charset=UTF-8"})
        except httpx.HTTPError as exc:
            raise _AuthError(f"{type(exc).__name__}") from None
        if answer.status_code != 200:
            raise _AuthError("An error occurred in the request and at the time were unable to "
                             "send the consumer data")


# -- transport helpers (auth, webhooks, listings, /wc-auth) ------------------------------------

_OAUTH_NAMES = ("oauth_consumer_key", "oauth_timestamp", "oauth_nonce", "oauth_signature",
                "oauth_signature_method")
_OAUTH_WINDOW = 15 * 60
# parse_header(): WooCommerce's pattern, its `(:?` (a group, not `(?:`) included.
_OAUTH_HEADER = re.compile(r'(oauth_[a-z_-]*)=(:?"([^"]*)"|([^,]*))')
_WEBHOOK_ITEM = re.compile(r"^/webhooks/(\d+)$")
_WEBHOOK_STATUSES = ("active", "paused", "disabled")
_INVALID_TOPICS = ("action.woocommerce_login_credentials",
                   "action.woocommerce_product_csv_importer_check_import_file_path",
                   "action.woocommerce_webhook_should_deliver")
# The WooCommerce actions behind each topic, as a webhook's `hooks` lists them.
_TOPIC_HOOKS = {
    "coupon.created": ["woocommerce_process_shop_coupon_meta", "woocommerce_new_coupon"],
    "coupon.updated": ["woocommerce_process_shop_coupon_meta", "woocommerce_update_coupon"],
    "coupon.deleted": ["wp_trash_post"],
    "coupon.restored": ["untrashed_post"],
    "customer.created": ["user_register", "woocommerce_created_customer",
                         "woocommerce_api_create_customer"],
    "customer.updated": ["profile_update", "woocommerce_api_edit_customer",
                         "woocommerce_customer_save_address"],
    "customer.deleted": ["delete_user"],
    "order.created": ["woocommerce_new_order"],
    "order.updated": ["woocommerce_update_order", "woocommerce_order_refunded"],
    "order.deleted": ["wp_trash_post", "woocommerce_trash_order"],
    "order.restored": ["untrashed_post", "woocommerce_untrash_order"],
    "product.created": ["woocommerce_process_product_meta", "woocommerce_new_product",
                        "woocommerce_new_product_variation"],
    "product.updated": ["woocommerce_process_product_meta", "woocommerce_update_product",
                        "woocommerce_update_product_variation"],
    "product.deleted": ["wp_trash_post"],
    "product.restored": ["untrashed_post"],
}


@dataclass
class ApiKey:
    """A row of woocommerce_api_keys, as far as authentication reads it."""
    key_id: int
    consumer_key: str
    consumer_secret: str
    permissions: str                   # read | write | read_write
    user_id: str = ""                  # the app's user_id (/wc-auth), as it was given
    description: str = ""
    nonces: dict[int, str] = field(default_factory=dict)  # timestamp → the nonce used then

    def __repr__(self) -> str:
        return (f"ApiKey(key_id={self.key_id}, consumer_key='…{self.consumer_key[-7:]}', "
                f"permissions={self.permissions!r})")


class _AuthError(Exception):
    """A /wc-auth failure: WordPress's wp_die page, HTTP 401."""


def _auth_error(message: str) -> _Reply:
    return _Reply(401, "woocommerce_rest_authentication_error", message)


def _header(headers: dict[str, str], name: str) -> str:
    return next((v for k, v in headers.items() if k.lower() == name), "")


def _rawurlencode(value: str) -> str:
    """PHP's rawurlencode (RFC 3986: all but A-Z a-z 0-9 - _ . ~), on UTF-8 bytes."""
    return quote(value, safe="")


def _valid_url(url: str) -> bool:
    """wc_is_valid_url(), roughly: http:// or https://, and a host."""
    parts = urlsplit(url)
    return url.startswith(("http://", "https://")) and bool(parts.hostname)


def _formatted_url(url: str) -> str:
    """WC_Auth::get_formatted_url(): urldecode, and https:// when there is no scheme."""
    url = unquote_plus(url)
    return url if "://" in url else "https://" + url


def _add_query_arg(url: str, args: dict[str, str]) -> str:
    """WordPress's add_query_arg(): the URL's parameters, these replacing or added after."""
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query, keep_blank_values=True)) | args
    return parts._replace(query=urlencode(query)).geturl()


def _utc_of(value: Any) -> datetime | None:
    if not value:
        return None
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc) if value.tzinfo else \
            value.replace(tzinfo=timezone.utc)
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.replace(tzinfo=timezone.utc) if parsed.tzinfo is None else parsed


@functools.cache
def _self_signed() -> tuple[str, str]:
    """A certificate for 127.0.0.1 and localhost (and its key), made once per process."""
    folder = Path(tempfile.mkdtemp(prefix="fake-woocommerce-tls-"))
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", str(key), "-out",
                    str(cert), "-days", "7", "-subj", "/CN=127.0.0.1", "-addext",
                    "subjectAltName=IP:127.0.0.1,DNS:localhost"],
                   check=True, capture_output=True, timeout=60)
    return str(cert), str(key)


def _format_code(code: str) -> str:
    """wc_format_coupon_code + the lower-casing filter WooCommerce applies to every code."""
    return code.strip().lower()


def _gmt(at: datetime) -> str:
    return at.astimezone(timezone.utc).replace(tzinfo=None).isoformat(timespec="seconds")


def _decimal(value: Any) -> str:
    try:
        return f"{float(value):.2f}"
    except (TypeError, ValueError):
        return "0.00"


def _handler_for(fake: FakeWooCommerce) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        # HTTP/1.0: one request per connection, so stop() never waits on idle keep-alives.
        protocol_version = "HTTP/1.0"

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            status, text, extra = fake.respond(self.command, self.path, body,
                                               dict(self.headers.items()))
            payload = text.encode("utf-8")
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=UTF-8"
                                 if text[:1] in "{[" else "text/html; charset=UTF-8")
                self.send_header("Content-Length", str(len(payload)))
                for name, value in extra.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (timed out) before we answered: expected in tests

        do_GET = do_POST = do_PUT = do_DELETE = _serve

        def log_message(self, format: str, *args: Any) -> None:
            # The request line's query may carry a consumer key (OAuth over http).
            log.debug("fake woocommerce: %s", re.sub(r"\?\S*", "?…", format % args))

    return Handler


def main(port: int = 8788, consumer_key: str | None = None,
         consumer_secret: str | None = None) -> None:
    """Serve in the foreground until interrupted (`python -m app.commerce.fake_woocommerce`)."""
    keys: dict[str, Any] = {k: v for k, v in (("consumer_key", consumer_key),
                                              ("consumer_secret", consumer_secret)) if v}
    fake = FakeWooCommerce(**keys, port=port)
    print(f"fake WooCommerce on {fake.base_url} (consumer key {fake.consumer_key}); "
          "Ctrl-C stops it", flush=True)
    fake.serve_forever()


if __name__ == "__main__":
    main()
