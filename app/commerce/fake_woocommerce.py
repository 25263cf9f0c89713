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
import json
import logging
import re
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

from app.clock import SYSTEM
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
    query: dict[str, str]
    headers: dict[str, str]
    body: Any                 # the parsed JSON body, or None


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
                 host: str = "127.0.0.1", site_timezone: str = "Asia/Tehran"):
        self.consumer_key, self.consumer_secret = consumer_key, consumer_secret
        self.permissions = "read_write"  # "read": every write answers 401, as WooCommerce does
        self.site_timezone = ZoneInfo(site_timezone)
        self.requests: list[RecordedRequest] = []
        self._coupons: dict[int, dict[str, Any]] = {}
        self._next_id = 719
        self._faults: dict[str, list[_Fault]] = {}
        self._delays: dict[str, float] = {}
        self._lock = threading.RLock()
        super().__init__(_handler_for(self), host, port)

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
            self.requests.append(RecordedRequest(method, path, query, headers, payload))
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
                status, answer = self._route(method, path, query, body, payload)
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
        key = secret = None
        auth = next((v for k, v in headers.items() if k.lower() == "authorization"), "")
        if auth.lower().startswith("basic "):
            try:
                key, _, secret = base64.b64decode(auth[6:]).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                key = secret = None
        elif "consumer_key" in query:
            key, secret = query.get("consumer_key"), query.get("consumer_secret")
        writes = method != "GET"
        if key is None:
            # Not authenticated at all: WordPress treats it as a visitor without the capability.
            raise _Reply(401, "woocommerce_rest_cannot_create" if writes else
                         "woocommerce_rest_cannot_view", "Sorry, you are not allowed to "
                         f"{'create' if writes else 'list'} resources.")
        if key != self.consumer_key:
            raise _Reply(401, "woocommerce_rest_authentication_error", "Consumer key is invalid.")
        if secret != self.consumer_secret:
            raise _Reply(401, "woocommerce_rest_authentication_error",
                         "Consumer secret is invalid.")
        if writes and self.permissions != "read_write":
            raise _Reply(401, "woocommerce_rest_authentication_error",
                         "The API key provided does not have write permissions.")

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
            status, text = fake.handle(self.command, self.path, body, dict(self.headers.items()))
            payload = text.encode("utf-8")
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=UTF-8"
                                 if text[:1] in "{[" else "text/html; charset=UTF-8")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (timed out) before we answered: expected in tests

        do_GET = do_POST = do_PUT = do_DELETE = _serve

        def log_message(self, format: str, *args: Any) -> None:
            log.debug("fake woocommerce: %s", format % args)

    return Handler


def main(port: int = 8788, consumer_key: str | None = None,
         consumer_secret: str | None = None) -> None:
    """Serve in the foreground until interrupted (`python -m app.commerce.fake_woocommerce`)."""
    fake = FakeWooCommerce(**{k: v for k, v in (("consumer_key", consumer_key),
                                                ("consumer_secret", consumer_secret)) if v},
                           port=port)
    print(f"fake WooCommerce on {fake.base_url} (consumer key {fake.consumer_key}); "
          "Ctrl-C stops it", flush=True)
    fake.serve_forever()


if __name__ == "__main__":
    main()
