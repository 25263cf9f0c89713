"""Bad input: a seeded corpus of well over a thousand hostile webhook deliveries, over real HTTP.

Every case starts from the real captured deliveries (tests/fixtures/woocommerce/real) and is
then truncated, retyped field by field, laced with unicode edge cases, stripped of headers,
padded past the size limit, wrongly signed, replayed, aimed at another store or at no store, or
sent with the wrong method. Each case says what the answer must be and, for a delivery that is
stored, what processing must make of it. Afterwards the mirrors must hold exactly what the usable
deliveries describe: nothing of the forged ones, nothing twice, and no crash on the way (a dead
letter always has a reason, and never "internal error").
"""

import base64
import copy
import gzip
import hashlib
import hmac
import json
import random
from collections import Counter
from dataclasses import dataclass

import pytest
from sqlalchemy import select

from app.commerce.models import Cart, Order, Product
from app.contacts.models import Contact
from app.db import unit_of_work
from app.ingest.models import PENDING, WebhookDelivery
from app.ingest.service import process_pending
from app.stores.models import Store
from tests.factories import store_settings
from tests.helpers import capture, create_store, sign, wc_body

SEED = 20261123
REAL_SECRET = "testsecret123"  # the secret the real captures were signed with
SECRETS = {"real": REAL_SECRET, "other": "OtherStoreSecret0123456789abcdefghijklmn",
           "off": "DisabledStoreSecret0123456789abcdefghijk"}
LIMIT = 1024 * 1024  # Settings.max_webhook_body_bytes
CAPTURES = ("001_ping.json", "008_product.created.json", "010_order.created.json",
            "014_order.updated.json", "017_order.deleted.json",
            "020_action.woocommerce_add_to_cart.json")

APPLIED, DUPLICATE, STALE, IGNORED, DEAD = "applied", "duplicate", "stale", "ignored", "dead_letter"
PING = "ping"

# ---- the cases -------------------------------------------------------------------------------

# Dropped from names at ingest (app/contacts/names.py).
DIRECTION_MARKS = frozenset("\u061c\u200b\u200d\u200e\u200f\u202a\u202b\u202c\u202d\u202e"
                            "\u2060\u2066\u2067\u2068\u2069\ufeff")


@dataclass
class Case:
    kind: str
    name: str
    body: bytes
    headers: dict
    status: int = 200
    error: str | set | None = None   # the error code of a 4xx
    outcome: str | None = None       # what processing makes of the stored delivery
    reason: str | None = None        # a word the dead letter's reason must contain
    makes: frozenset = frozenset()   # mirror rows it leaves (or would, were it accepted)
    store: str = "real"              # whose webhook URL it is sent to
    path: str | None = None          # instead of that URL
    method: str = "POST"
    chunked: bool = False
    values: dict | None = None       # what its order, product or cart row then holds

    def __post_init__(self):
        if self.status != 200:
            self.refused(self.status, self.error)
        if self.outcome == DEAD:
            self.reason = self.reason or ""

    def refused(self, status: int, error: str | set | None) -> "Case":
        """Answered with an error: nothing stored, so nothing to process."""
        self.status, self.error, self.outcome, self.reason = status, error, None, None
        return self


def headers_for(topic: str | None, body: bytes, secret: str | None, **extra) -> dict:
    """What WooCommerce's Hookshot sends (see tests.helpers.deliver); None leaves one out."""
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "WooCommerce/10.0.2 Hookshot (WordPress/6.8.8)",
        "X-WC-Webhook-Source": "http://127.0.0.1:8090/",
        "X-WC-Webhook-ID": "1",
        "X-WC-Webhook-Delivery-ID": hashlib.md5(body).hexdigest(),
    }
    if topic is not None:
        resource, _, event = topic.partition(".")
        headers |= {"X-WC-Webhook-Topic": topic, "X-WC-Webhook-Resource": resource,
                    "X-WC-Webhook-Event": event}
    if secret is not None:
        headers["X-WC-Webhook-Signature"] = sign(body, secret)
    for name, value in extra.items():
        name = name.replace("_", "-")
        if value is None:
            headers.pop(name, None)
        else:
            headers[name] = value
    return headers


def swap_first(signature: str) -> str:
    return ("B" if signature[0] == "A" else "A") + signature[1:]


def phone(n: int) -> tuple[str, str]:
    """A unique mobile per case, as typed and in E.164."""
    return f"0912{n % 10**7:07d}", f"+98912{n % 10**7:07d}"


# Wrong values, by label. "id-like" labels carry the case's own id where a field is an id, so
# that an accepted one still names a resource of its own.
LABELS = {
    "text": "garbage", "empty": "", "negative": -1, "zero": 0, "huge": 2**64, "giant": 10**40,
    "fraction": 1.5, "bool": True, "null": None, "list": [], "object": {},
    "persian_digits": "۱۲۳", "arabic_digits": "١٢٣", "rtl_mark": "\u200f123", "nul": "\x00",
    "digits": "123", "padded_digits": " 123 ", "integral_float": 123.0, "long": "x" * 3000,
    "exponent": "1e3", "nan": float("nan"), "infinity": float("inf"),
    "date_year_1": "0001-01-01T00:00:00", "date_year_9999": "9999-12-31T23:59:59",
    "date_year_1_offset": "0001-01-01T00:00:00+03:30",
    "date_year_9999_offset": "9999-12-31T23:59:59-03:30",
    "date_garbage": "2026-13-45T25:61:61",
}
ID_LIKE = {"digits": lambda uid: str(uid), "padded_digits": lambda uid: f" {uid} ",
           "integral_float": lambda uid: float(uid)}

# Which labels each kind of field accepts (the delivery is applied); every other label makes
# the delivery a dead letter. Lenient where WooCommerce is loose, strict where a wrong value
# would corrupt the mirror (app/commerce/schemas.py).
NUMBERS_AS_TEXT = {"negative", "zero", "huge", "giant", "fraction", "integral_float", "nan",
                   "infinity"}  # as "nan" and "inf"
STRINGS = {"text", "empty", "persian_digits", "arabic_digits", "rtl_mark", "nul", "digits",
           "padded_digits", "long", "exponent", "date_year_1", "date_year_9999",
           "date_year_1_offset", "date_year_9999_offset", "date_garbage"}
ALL = set(LABELS)
ACCEPTS = {
    "id": {"digits", "padded_digits", "integral_float"},
    # WooCommerce's slugs only: a number (7), digits, spaces or marks are no status, and must
    # not land over the order's real one.
    "status": {"text"},
    "text": STRINGS | NUMBERS_AS_TEXT | {"null"},
    "strict_text": STRINGS | {"null"},
    # Never negative: a refund is no negative price.
    "amount": {"empty", "zero", "fraction", "null", "persian_digits",
               "arabic_digits", "digits", "padded_digits", "integral_float", "exponent"},
    "count": {"zero", "digits", "padded_digits", "integral_float", "bool"},
    "optional_count": {"zero", "null", "digits", "padded_digits", "integral_float", "bool"},
    "signed_count": {"negative", "zero", "null", "digits", "padded_digits", "integral_float",
                     "bool"},
    "any_int": {"negative", "zero", "huge", "giant", "digits", "padded_digits",
                "integral_float", "bool"},
    "optional_any_int": {"negative", "zero", "huge", "giant", "digits", "padded_digits",
                         "integral_float", "bool", "null"},
    # 0 to 100,000 (weights may be fractions).
    "quantity": {"zero", "fraction", "digits", "padded_digits", "integral_float", "exponent",
                 "bool"},
    "positive_quantity": {"fraction", "digits", "padded_digits", "integral_float", "exponent",
                          "bool"},
    # Numbers are Unix times; a shop's dates lie between 1970 and 2200.
    "date": {"empty", "null", "zero", "fraction", "integral_float"},
    "required_date": {"zero", "fraction", "integral_float"},
    "object": {"object"},
    "list": {"list"},
    "falsy_list": {"empty", "zero", "null", "list", "object"},
    "token": set(),
    # Three or four Latin letters (ISO 4217, or IRT/IRHR/IRHT): without one, no amount can be
    # read (toman or cents?), and none of the labels is one.
    "currency_code": set(),
    "anything": ALL,
}

ORDER_FIELDS = {
    ("id",): "id", ("status",): "status", ("number",): "text", ("currency",): "currency_code",
    ("total",): "amount", ("customer_id",): "optional_count",
    ("billing",): "object", ("shipping",): "object",
    ("billing", "first_name"): "text", ("billing", "last_name"): "text",
    ("billing", "email"): "text", ("billing", "phone"): "text", ("shipping", "phone"): "text",
    ("meta_data",): "list", ("meta_data", 0): "object", ("meta_data", 0, "key"): "text",
    ("meta_data", 0, "value"): "anything",
    ("line_items",): "list", ("line_items", 0): "object",
    ("line_items", 0, "id"): "optional_any_int",
    ("line_items", 0, "product_id"): "count", ("line_items", 0, "variation_id"): "count",
    ("line_items", 0, "quantity"): "quantity", ("line_items", 0, "price"): "amount",
    ("line_items", 0, "total"): "amount", ("line_items", 0, "name"): "text",
    ("line_items", 0, "sku"): "text",
    ("coupon_lines",): "falsy_list", ("coupon_lines", 0): "object",
    ("coupon_lines", 0, "code"): "text",
    ("date_created_gmt",): "date", ("date_modified_gmt",): "date", ("date_paid_gmt",): "date",
    ("date_completed_gmt",): "date",
    # Fields bazgasht does not read: whatever they hold, the order is applied.
    ("parent_id",): "anything", ("discount_total",): "anything", ("customer_note",): "anything",
    ("date_created",): "anything", ("_links",): "anything", ("shipping_lines",): "anything",
}
PRODUCT_FIELDS = {
    ("id",): "id", ("name",): "text", ("permalink",): "text", ("type",): "text",
    ("status",): "text", ("price",): "amount", ("regular_price",): "amount",
    ("sale_price",): "amount", ("stock_status",): "text", ("stock_quantity",): "signed_count",
    ("cross_sell_ids",): "list", ("cross_sell_ids", 0): "id", ("upsell_ids",): "list",
    ("categories",): "list", ("categories", 0, "id"): "any_int", ("categories", 0, "name"): "text",
    ("images",): "list", ("images", 0): "object", ("images", 0, "src"): "text",
    ("date_modified_gmt",): "date", ("sku",): "anything", ("price_html",): "anything",
}
CART_FIELDS = {
    ("token",): "token", ("phone",): "strict_text", ("first_name",): "strict_text",
    ("email",): "strict_text", ("items",): "list", ("items", 0, "product_id"): "id",
    ("items", 0, "quantity"): "positive_quantity", ("items", 0, "price"): "amount",
    ("total",): "amount", ("currency",): "currency_code", ("restore_url",): "strict_text",
    ("date_modified_gmt",): "required_date", ("coupon",): "anything",
}
DELETED_FIELDS = {("id",): "id"}


def put(payload, path: tuple, value):
    target = payload
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value


# ---- the corpus ------------------------------------------------------------------------------


class Corpus:
    def __init__(self, fixtures_dir):
        self.rng = random.Random(SEED)
        self.units: list[list[Case]] = []  # shuffled as units: a replay stays after its original
        self._next = 10_000
        self.captures = {name: capture(fixtures_dir, name) for name in CAPTURES}
        self.order_states = [json.loads(self.captures[name][1])
                             for name in ("010_order.created.json", "014_order.updated.json")]
        self.product_state = json.loads(self.captures["008_product.created.json"][1])

    def uid(self) -> int:
        self._next += 1
        return self._next

    def add(self, *cases: Case) -> None:
        self.units.append(list(cases))

    def cases(self) -> list[Case]:
        units = list(self.units)
        self.rng.shuffle(units)
        return [case for unit in units for case in unit]

    # -- valid resources, each with ids and a phone of its own --

    def order(self, store="real", uid=None, paid=None) -> tuple[dict, frozenset]:
        uid = uid or self.uid()
        paid = self.rng.random() < 0.5 if paid is None else paid
        payload = copy.deepcopy(self.order_states[paid])  # pending or completed
        typed, e164 = phone(uid)
        payload.update(id=uid, number=str(uid))
        payload["billing"]["phone"] = typed
        payload["meta_data"] = [{"id": 7, "key": "_bazgasht_cart_token",
                                 "value": f"order-cart-{uid}"}]
        payload["coupon_lines"] = [{"id": 9, "code": f"WELCOME{uid}", "discount": "0"}]
        return payload, frozenset({("order", store, uid), ("contact", store, e164)})

    def product(self, store="real", uid=None) -> tuple[dict, frozenset]:
        uid = uid or self.uid()
        payload = copy.deepcopy(self.product_state)
        payload.update(id=uid, images=[{"id": 3, "src": f"http://127.0.0.1:8090/{uid}.jpg"}])
        return payload, frozenset({("product", store, uid)})

    def cart(self, store="real", uid=None) -> tuple[dict, frozenset]:
        uid = uid or self.uid()
        typed, e164 = phone(uid)
        token = f"corpus-cart-{uid}"
        payload = {
            "token": token, "phone": typed, "first_name": "مریم", "last_name": "", "email": "",
            "items": [{"product_id": 11, "variation_id": 0, "name": "چای سبز ممتاز",
                       "quantity": 2, "price": "275000", "total": "550000"}],
            "total": "550000", "currency": "IRT",
            "restore_url": f"https://shop.example/?bazgasht-restore={token}.sig",
            "cart_url": "https://shop.example/cart/", "date_modified_gmt": "2026-11-23T03:30:00",
        }
        return payload, frozenset({("cart", store, token), ("contact", store, e164)})

    def signed(self, kind, name, topic, payload_or_body, makes=frozenset(), *, store="real",
               outcome=APPLIED, reason=None, **extra) -> Case:
        body = (payload_or_body if isinstance(payload_or_body, bytes)
                else wc_body(payload_or_body))
        return Case(kind, name, body, headers_for(topic, body, SECRETS[store], **extra),
                    outcome=outcome, reason=reason, makes=makes, store=store)

    # -- the kinds of bad input --

    def real_captures_and_replays(self):
        """The captures byte for byte with their own headers, then replayed: duplicates, one
        stale (the pending state after the completed one), and to another store (forged)."""
        expected = {"001_ping.json": (PING, frozenset()),
                    "008_product.created.json": (APPLIED, {("product", "real", 12)}),
                    "010_order.created.json": (APPLIED, {("order", "real", 13),
                                                         ("contact", "real", "+989123456789")}),
                    "014_order.updated.json": (APPLIED, frozenset()),
                    "017_order.deleted.json": (APPLIED, {("order", "real", 14)}),
                    "020_action.woocommerce_add_to_cart.json": (DEAD, frozenset())}
        replayed = {"001_ping.json": PING, "008_product.created.json": DUPLICATE,
                    "010_order.created.json": STALE, "014_order.updated.json": DUPLICATE,
                    "017_order.deleted.json": DUPLICATE,
                    "020_action.woocommerce_add_to_cart.json": DEAD}
        unit = []
        for name, (outcome, makes) in expected.items():
            unit.append(self._capture("baseline", name, outcome, frozenset(makes)))
        for name in CAPTURES:
            unit.append(self._capture("replay", name, replayed[name], frozenset()))
        for _ in range(25):  # a replay storm
            unit.append(self._capture("replay", "014_order.updated.json", DUPLICATE, frozenset()))
        for name in CAPTURES[1:]:  # the captures, as they are, to another store: forged there
            case = self._capture("other_store", name, None, frozenset())
            case.store = "other"
            unit.append(case.refused(401, "invalid_signature"))
        self.add(*unit)
        # The same resources, signed by the other store: its own, beside the real store's.
        other = []
        for name in CAPTURES[1:5]:
            headers, body = self.captures[name]
            topic = headers["X-WC-Webhook-Topic"]
            makes = {"008_product.created.json": {("product", "other", 12)},
                     "010_order.created.json": {("order", "other", 13),
                                                ("contact", "other", "+989123456789")},
                     "017_order.deleted.json": {("order", "other", 14)}}.get(name, set())
            other.append(self.signed("other_store", f"{name} signed by the other store", topic,
                                     body, frozenset(makes), store="other"))
        self.add(*other)

    def _capture(self, kind, name, outcome, makes) -> Case:
        headers, body = self.captures[name]
        keep = {k: v for k, v in headers.items()
                if k.lower() not in ("host", "content-length", "connection", "accept-encoding")}
        reason = "companion plugin" if outcome == DEAD else None
        return Case(kind, name, body, keep, outcome=outcome, reason=reason, makes=makes)

    def wrong_types(self):
        """Every field bazgasht reads (and a few it does not), with every kind of wrong value."""
        for resource, fields, build in (("order", ORDER_FIELDS, self.order),
                                        ("product", PRODUCT_FIELDS, self.product),
                                        ("cart", CART_FIELDS, self.cart),
                                        ("deleted", DELETED_FIELDS, None)):
            for path, kind in fields.items():
                for label, value in LABELS.items():
                    uid = self.uid()
                    if build is None:
                        payload, makes = {"id": uid}, frozenset({("order", "real", uid)})
                    elif kind == "date" and resource == "order":
                        # Paid: dates then feed attribution's and the campaigns' arithmetic.
                        payload, makes = build(uid=uid, paid=True)
                    else:
                        payload, makes = build(uid=uid)
                    if kind == "id" and path == ("id",) and label in ID_LIKE:
                        value = ID_LIKE[label](uid)
                    put(payload, path, copy.deepcopy(value))
                    accepted = label in ACCEPTS[kind]
                    makes = self._makes_after(resource, path, makes)
                    topic = {"order": self.rng.choice(["order.created", "order.updated"]),
                             "product": "product.updated", "cart": "bazgasht_cart.updated",
                             "deleted": "order.deleted"}[resource]
                    case = self.signed("wrong_type", f"{resource}.{'.'.join(map(str, path))}"
                                       f"={label}", topic, payload, makes,
                                       outcome=APPLIED if accepted else DEAD)
                    unit = [case]
                    if self.rng.random() < 0.04:  # now and then, the same bytes again
                        again = copy.copy(case)
                        again.kind, again.outcome = "replay", DUPLICATE if accepted else DEAD
                        again.makes = frozenset()
                        unit.append(again)
                    self.add(*unit)

    @staticmethod
    def _makes_after(resource, path, makes) -> frozenset:
        """A contact only comes from a phone still there and valid after the change."""
        if resource == "order" and (path in (("billing", "phone"), ("billing",))):
            return frozenset(m for m in makes if m[0] != "contact")
        if resource == "cart" and path == ("phone",):
            return frozenset(m for m in makes if m[0] != "contact")
        return makes

    def truncated(self):
        """Real bodies cut short at seeded points: signed as they are (unusable: dead letters),
        or still carrying the signature of the whole body (forged: 401)."""
        bodies = [(h["X-WC-Webhook-Topic"], b) for name, (h, b) in self.captures.items()
                  if name != "001_ping.json"]
        cart, _ = self.cart()
        bodies.append(("bazgasht_cart.updated", wc_body(cart)))
        for topic, body in bodies:
            cuts = set(range(len(body))) if len(body) < 100 else set(
                self.rng.sample(range(1, len(body)), 40)) | {0, 1, len(body) - 1}
            # WooCommerce's own add-to-cart action is refused for its topic, before its body.
            reason = "companion plugin" if topic.startswith("action.") else "not JSON"
            for cut in sorted(cuts):
                self.add(self.signed("truncated", f"{topic} cut at {cut}", topic, body[:cut],
                                     outcome=DEAD, reason=reason))
            for cut in self.rng.sample(range(1, len(body)), 5):
                case = self.signed("truncated", f"{topic} cut at {cut}, whole body's signature",
                                   topic, body[:cut])
                case.headers["X-WC-Webhook-Signature"] = sign(body, REAL_SECRET)
                self.add(case.refused(401, "invalid_signature"))

    def malformed(self):
        """Signed bodies that are not a usable JSON object, and a few odd ones that are."""
        topic = "order.updated"
        for name, body, reason in [
            ("empty", b"", "not JSON"), ("null", b"null", "NoneType"), ("list", b"[]", "list"),
            ("string", b'"order"', "str"), ("number", b"13", "int"), ("true", b"true", "bool"),
            ("empty object", b"{}", "id"),
            ("single quotes", b"{'id': 5, 'status': 'pending'}", "not JSON"),
            ("comment", b'{"id": 5, // x\n "status": "pending"}', "not JSON"),
            ("trailing comma", b'{"id": 5, "status": "pending",}', "not JSON"),
            ("form body", b"id=5&status=pending", "not JSON"),
            ("ping body, signed", b"webhook_id=1", "not JSON"),
            ("invalid UTF-8", b'{"id": 5, "status": "\xff\xfe"}', "not JSON"),
            ("overlong UTF-8", b'{"id": 5, "status": "\xc0\xaf"}', "not JSON"),
            ("latin-1 text", '{"id": 5, "status": "pending", "number": "é"}'.encode("latin-1"),
             "not JSON"),
            ("deep nesting", b"[" * 200_000 + b"]" * 200_000, "nested"),
            ("deep nesting in an object", b'{"id": 5, "status": "x", "meta_data": '
             + b"[" * 50_000 + b"]" * 50_000 + b"}", "nested"),
            ("5000-digit id", b'{"id": ' + b"9" * 5000 + b', "status": "pending"}', "not JSON"),
            ("WooCommerce error", b'{"code":"woocommerce_rest_shop_order_invalid_id",'
             b'"message":"Invalid ID.","data":{"status":404}}', "woocommerce_rest"),
            # An error body's code and message end up in the reason: they must not poison it.
            ("WooCommerce error with NULs", b'{"code":"rest\\u0000x","message":"a\\u0000b"}',
             "WooCommerce sent an error"),
            ("WooCommerce error with lone surrogates", b'{"code":"\\ud800","message":"\\udfff"}',
             "surrogate"),
            ("WooCommerce error, huge", b'{"code":"' + b"c" * 300_000 + b'","message":"'
             + b"m" * 300_000 + b'"}', ""),
        ]:
            self.add(self.signed("malformed", name, topic, body, outcome=DEAD, reason=reason))
        for name, change, reason in [
            ("trailing garbage", lambda b: b + b"x", "not JSON"),
            ("two documents", lambda b: b + b, "not JSON"),
            ("trailing NUL", lambda b: b + b"\x00", "not JSON"),
            # mtime=0: the same bytes every time (the corpus is deterministic).
            ("gzip without saying so", lambda b: gzip.compress(b, mtime=0), "not JSON"),
            ("NaN total", lambda b: b.replace(b'"total":"2200000"', b'"total":NaN'), None),
            ("Infinity total", lambda b: b.replace(b'"total":"2200000"', b'"total":Infinity'),
             None),
            ("-Infinity total", lambda b: b.replace(b'"total":"2200000"', b'"total":-Infinity'),
             None),
            ("1e400 total", lambda b: b.replace(b'"total":"2200000"', b'"total":1e400'), None),
            ("1e400 id", lambda b: b.replace(b'{"id":', b'{"id":1e400,"x":'), "id"),
            ("huge exponent total", lambda b: b.replace(b'"total":"2200000"',
                                                        b'"total":"1e999999999999"'), "range"),
            ("exponent past any decimal", lambda b: b.replace(
                b'"total":"2200000"', b'"total":"1e-99999999999999999999"'), "amount"),
            ("deeply nested meta value", lambda b: b.replace(
                b'"value":"order-cart', b'"value":' + b"[" * 5000 + b"]" * 5000 + b',"v":"'),
             "nested"),
        ]:
            payload, makes = self.order()
            payload["total"] = "2200000"
            body = change(wc_body(payload))
            self.add(self.signed("malformed", name, topic, body, makes, outcome=DEAD,
                                 reason=reason))
        # Odd but usable: an encoding json.loads recognizes, whitespace, a repeated key.
        for name, change, values in [
            ("UTF-8 BOM", lambda b: b"\xef\xbb\xbf" + b, None),
            ("UTF-16", lambda b: b.decode().encode("utf-16"), None),
            ("UTF-16-BE", lambda b: b.decode().encode("utf-16-be"), None),
            ("UTF-32", lambda b: b.decode().encode("utf-32"), None),
            ("whitespace around", lambda b: b"\n\t  " + b + b"\r\n  ", None),
            ("a total too small to count", lambda b: b.replace(
                b'"total":"2200000"', b'"total":"1e-999999999999"'), {"total": 0}),
            ("unescaped UTF-8 and slashes", lambda b: json.dumps(
                json.loads(b), ensure_ascii=False).encode(), None),
        ]:
            payload, makes = self.order()
            payload["total"] = "2200000"
            case = self.signed("malformed", name, topic, change(wc_body(payload)), makes)
            case.values = values or {"total": 22_000_000, "first_name": "علی"}
            self.add(case)
        payload, _ = self.order()
        last, makes = self.order()
        body = wc_body(payload)[:-1] + b',"id":%d,"billing":%s}' % (
            last["id"], wc_body(last["billing"]))
        self.add(self.signed("malformed", "repeated key: the last one wins", topic, body, makes))

    def unicode(self):
        """Text as Iranian shoppers type it, and text no database can store."""
        for n, form in enumerate([
            lambda p: p.translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")),
            lambda p: p.translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")),
            lambda p: "+۹۸ " + p[1:4].translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"))
            + " " + p[4:],
            lambda p: "\u200f" + p + "\u200f",
            lambda p: "\u202a" + p + "\u202c",
            lambda p: "\u2066" + p[:4] + "\u200c" + p[4:] + "\u2069",
            lambda p: "0098-" + p[1:4] + "-" + p[4:],
            lambda p: "98" + p[1:],
            lambda p: p[1:],
            lambda p: "(" + p[:4] + ") " + p[4:7] + " " + p[7:],
            lambda p: "\ufeff" + p,
            lambda p: p[:4] + "\u00a0" + p[4:],
        ]):
            payload, makes = self.order()
            payload["billing"]["phone"] = form(payload["billing"]["phone"])
            self.add(self.signed("unicode", f"order phone form {n}: "
                                 f"{payload['billing']['phone']!r}", "order.created", payload,
                                 makes))
            payload, makes = self.cart()
            payload["phone"] = form(payload["phone"])
            self.add(self.signed("unicode", f"cart phone form {n}", "bazgasht_cart.updated",
                                 payload, makes))
        for name in ["علی\u200cرضا", "\u202eevil\u202c", "مریم 😀", "Jose\u0301", "ﻋﻠﻲ",
                     "\u200f\u200e", "\ufdfd", "\U0010ffff", "\uffff\ufffe", "a\u0000b",
                     "ع" * 300, "😀" * 300, "\u0627\u0644\u0644\u0647" * 80]:
            payload, makes = self.order()
            payload["billing"]["first_name"] = name
            payload["line_items"][0]["name"] = name
            case = self.signed("unicode", f"order name {name[:12]!r}", "order.created", payload,
                               makes)
            # Kept as typed, without NULs, cut to the column; a person's name also without
            # direction marks and overrides (they can make an SMS read backwards).
            kept = name.replace("\x00", "").strip()
            person = "".join(c for c in kept[:200] if c not in DIRECTION_MARKS).strip()
            case.values = {"first_name": person, ("items", 0, "name"): kept[:500]}
            self.add(case)
            payload, makes = self.product()
            payload["name"] = name
            payload["categories"][0]["name"] = name
            self.add(self.signed("unicode", f"product name {name[:12]!r}", "product.created",
                                 payload, makes))
        # Persian and Arabic-Indic digits where a number belongs: amounts (decimal strings)
        # take them, in IRT, kept in rial; ids, counts and dates do not.
        for path, value, values in [
            (("total",), "۲۲۰۰۰۰۰", {"total": 22_000_000}),
            (("total",), "٢٢٠٠٠٠٠", {"total": 22_000_000}),
            (("line_items", 0, "price"), "۲۷۵۰۰۰", {("items", 0, "price"): 2_750_000}),
            (("total",), "۲٬۲۰۰٬۰۰۰", None), (("total",), "۲۲۰۰۰۰۰٫۵", None),
            (("total",), "2,200,000", None), (("total",), "۲۲۰۰۰۰۰ تومان", None),
            (("id",), "۱۳۰۰۱", None), (("id",), "١٣٠٠١", None),
            (("customer_id",), "۲", None), (("line_items", 0, "quantity"), "۲", None),
            (("line_items", 0, "product_id"), "۱۱", None),
            (("date_modified_gmt",), "۲۰۲۶-۱۱-۲۳T۰۳:۴۰:۱۵", None),
        ]:
            payload, makes = self.order()
            put(payload, path, value)
            case = self.signed("unicode", f"order.{'.'.join(map(str, path))}={value!r}",
                               "order.updated", payload, makes,
                               outcome=APPLIED if values else DEAD)
            case.values = values
            self.add(case)
        # Lone UTF-16 surrogates: valid JSON escapes, but no UTF-8 text. Unusable, said so.
        lone = ["\ud800", "\udfff", "\ude00\ud83d", "ok\udbff"]
        targets = [("order", ("billing", "first_name")), ("order", ("status",)),
                   ("order", ("number",)), ("order", ("billing", "email")),
                   ("order", ("billing", "phone")), ("order", ("currency",)),
                   ("order", ("line_items", 0, "name")), ("order", ("meta_data", 0, "value")),
                   ("order", ("coupon_lines", 0, "code")), ("order", ("customer_note",)),
                   ("product", ("name",)), ("product", ("categories", 0, "name")),
                   ("product", ("images", 0, "src")), ("cart", ("first_name",)),
                   ("cart", ("phone",)), ("cart", ("currency",)), ("cart", ("restore_url",)),
                   ("cart", ("items", 0, "name"))]
        for resource, path in targets:
            for surrogate in lone:
                payload, makes = {"order": self.order, "product": self.product,
                                  "cart": self.cart}[resource]()
                put(payload, path, surrogate if path != ("currency",) else "IR" + surrogate)
                topic = {"order": "order.created", "product": "product.created",
                         "cart": "bazgasht_cart.updated"}[resource]
                self.add(self.signed("unicode", f"{resource}.{'.'.join(map(str, path))} with "
                                     f"lone surrogate {surrogate!r}", topic, payload, makes,
                                     outcome=DEAD, reason="surrogate"))
        # The same, as raw bytes (UTF-8 of a surrogate: not UTF-8 at all).
        for raw in (b"\xed\xa0\x80", b"\xed\xbf\xbf"):
            payload, makes = self.order()
            body = wc_body(payload).replace(b'"number":"', b'"number":"' + raw, 1)
            self.add(self.signed("unicode", f"raw surrogate bytes {raw!r}", "order.created",
                                 body, makes, outcome=DEAD, reason="surrogate"))

    def headers(self):
        """Missing, extra and odd headers around otherwise valid deliveries."""
        variants = [
            ("no topic", dict(topic=None), DEAD, "missing X-WC-Webhook-Topic"),
            ("unknown topic", dict(topic="order.completed"), DEAD, "not one bazgasht handles"),
            ("topic in capitals", dict(topic="ORDER.CREATED"), DEAD, "not one"),
            ("resource only", dict(topic="order"), DEAD, "not one"),
            ("event only", dict(topic=".created"), DEAD, "not one"),
            ("dangling dot", dict(topic="order."), DEAD, "not one"),
            ("a plugin's topic", dict(topic="subscription.updated"), DEAD, "not one"),
            ("an action topic", dict(topic="action.woocommerce_checkout_order_processed"), DEAD,
             "not one"),
            ("a 300-character topic", dict(topic="order." + "x" * 294), DEAD, "not one"),
            ("latin-1 bytes in the topic", dict(topic=b"order.cr\xe9ated"), DEAD, "not one"),
            ("a customer topic", dict(topic="customer.created"), IGNORED, None),
            ("a coupon topic", dict(topic="coupon.updated"), IGNORED, None),
            ("order.restored", dict(topic="order.restored"), APPLIED, None),
            ("latin-1 charset", dict(Content_Type="application/json; charset=latin-1"),
             APPLIED, None),
            ("no user agent", dict(User_Agent=None), APPLIED, None),
            ("no source", dict(X_WC_Webhook_Source=None), APPLIED, None),
            ("another store as source", dict(X_WC_Webhook_Source="https://other.example/"),
             APPLIED, None),
            ("no webhook or delivery id", dict(X_WC_Webhook_ID=None,
                                               X_WC_Webhook_Delivery_ID=None), APPLIED, None),
            ("5000-character ids", dict(X_WC_Webhook_ID="7" * 5000,
                                        X_WC_Webhook_Delivery_ID="d" * 5000), APPLIED, None),
            ("latin-1 bytes in ids", dict(X_WC_Webhook_ID=b"\xe9\xff",
                                          X_WC_Webhook_Delivery_ID=b"\xe9" * 100), APPLIED, None),
            ("odd request id", dict(X_Request_ID=b"\xff" * 300), APPLIED, None),
            ("says it is gzip", dict(Content_Encoding="gzip"), APPLIED, None),
            ("expect 100-continue", dict(Expect="100-continue"), APPLIED, None),
        ]
        for name, extra, outcome, reason in variants:
            topic = extra.pop("topic", "order.created")
            if isinstance(topic, bytes):
                payload, makes = self.order()
                body = wc_body(payload)
                headers = headers_for("order.created", body, REAL_SECRET, **extra)
                headers["X-WC-Webhook-Topic"] = topic
                self.add(Case("headers", name, body, headers, outcome=outcome, reason=reason))
                continue
            payload, makes = self.order()
            if outcome == IGNORED:
                payload = {"id": payload["id"], "email": "a@example.test"}
            self.add(self.signed("headers", name, topic, payload,
                                 makes if outcome == APPLIED else frozenset(),
                                 outcome=outcome, reason=reason, **extra))
        # The right signature, split by a space.
        payload, makes = self.order()
        case = self.signed("headers", "a space in the signature", "order.created", payload, makes)
        signature = case.headers["X-WC-Webhook-Signature"]
        case.headers["X-WC-Webhook-Signature"] = signature[:20] + " " + signature[20:]
        self.add(case.refused(401, "invalid_signature"))
        # Signed, but not JSON as WooCommerce sends it: refused, nothing stored.
        for name, media in (("no content type", None), ("text/plain", "text/plain"),
                            ("form content type", "application/x-www-form-urlencoded"),
                            ("multipart content type", "multipart/form-data; boundary=x")):
            payload, _ = self.order()
            case = self.signed("headers", name, "order.created", payload, frozenset(),
                               Content_Type=media)
            self.add(case.refused(415, "unsupported_media_type"))
        # Pings: the real one and its look-alikes.
        ping = self.captures["001_ping.json"][0]
        for name, body, store, status, code in [
            ("ping", b"webhook_id=42", "real", 200, None),
            ("ping with a newline", b"webhook_id=1\n", "real", 200, None),
            ("ping with a huge id", b"webhook_id=" + b"9" * 100, "real", 200, None),
            ("ping to another store", b"webhook_id=1", "other", 200, None),
            # Answered as any store's ping: trying ids tells an outsider nothing.
            ("ping to a disabled store", b"webhook_id=1", "off", 200, None),
            ("ping-like, not a number", b"webhook_id=abc", "real", 401, "missing_signature"),
            ("ping-like, more fields", b"webhook_id=1&x=2", "real", 401, "missing_signature"),
            ("empty and unsigned", b"", "real", 401, "missing_signature"),
            ("JSON, unsigned", b'{"id": 1}', "real", 401, "missing_signature"),
        ]:
            headers = {k: v for k, v in ping.items() if k in ("User-Agent", "Content-Type")}
            self.add(Case("ping", name, body, headers, status=status, error=code,
                          outcome=PING if status == 200 else None, store=store))

    def signatures(self):
        """Right bodies, wrong signatures: nothing is stored."""
        def b64(raw: bytes) -> str:
            return base64.b64encode(raw).decode()

        variants = [
            ("another store's secret", lambda body: sign(body, SECRETS["other"]),
             "invalid_signature"),
            ("truncated", lambda body: sign(body, REAL_SECRET)[:-4], "invalid_signature"),
            ("one character off", lambda body: swap_first(sign(body, REAL_SECRET)),
             "invalid_signature"),
            ("base64 garbage", lambda body: "!!not*base64%%", "invalid_signature"),
            ("hex digest", lambda body: hmac.new(REAL_SECRET.encode(), body,
                                                 hashlib.sha256).hexdigest(), "invalid_signature"),
            ("sha1", lambda body: b64(hmac.new(REAL_SECRET.encode(), body, hashlib.sha1).digest()),
             "invalid_signature"),
            ("sha256= prefix", lambda body: "sha256=" + sign(body, REAL_SECRET),
             "invalid_signature"),
            ("base64url", lambda body: base64.urlsafe_b64encode(hmac.new(
                REAL_SECRET.encode(), body, hashlib.sha256).digest()).decode().rstrip("="),
             "invalid_signature"),
            ("lower-cased", lambda body: sign(body, REAL_SECRET).lower(), "invalid_signature"),
            ("plain hash, no secret", lambda body: b64(hashlib.sha256(body).digest()),
             "invalid_signature"),
            ("empty secret", lambda body: sign(body, ""), "invalid_signature"),
            ("the secret itself", lambda body: REAL_SECRET, "invalid_signature"),
            ("over the body re-encoded", lambda body: sign(json.dumps(
                json.loads(body), ensure_ascii=False).encode(), REAL_SECRET), "invalid_signature"),
            ("over the body trimmed", lambda body: sign(body[:-1], REAL_SECRET),
             "invalid_signature"),
            ("10 kB long", lambda body: "A" * 10_000, "invalid_signature"),
            ("latin-1 bytes", lambda body: b"\xe9" * 44, "invalid_signature"),
            ("empty", lambda body: "", "missing_signature"),
            ("missing", None, "missing_signature"),
        ]
        for name, make, code in variants:
            for builder, topic in ((self.order, "order.created"), (self.product, "product.created"),
                                   (self.cart, "bazgasht_cart.updated")):
                payload, makes = builder()
                body = wc_body(payload)
                headers = headers_for(topic, body, None)
                if make is not None:
                    headers["X-WC-Webhook-Signature"] = make(body)
                self.add(Case("signature", f"{topic} {name}", body, headers, status=401,
                              error=code, makes=makes))
        # Signed right, by the right store, but for another store's URL (and the reverse).
        for store, secret in (("other", REAL_SECRET), ("real", SECRETS["other"]),
                              ("real", SECRETS["off"])):
            for _ in range(5):
                payload, makes = self.order(store=store)
                body = wc_body(payload)
                self.add(Case("other_store", f"signed with another store's secret, to {store}",
                              body, headers_for("order.created", body, secret), status=401,
                              error="invalid_signature", makes=makes, store=store))
        # A disabled store says so only to who holds its secret (401 to everyone else).
        for name, secret, status, code in (
                ("its own secret", SECRETS["off"], 403, "store_disabled"),
                ("wrong secret", REAL_SECRET, 401, "invalid_signature"),
                ("no signature", None, 401, "missing_signature")):
            payload, makes = self.order(store="off")
            body = wc_body(payload)
            self.add(Case("disabled_store", name, body, headers_for("order.created", body, secret),
                          status=status, error=code, makes=makes, store="off"))

    def replays_and_stale(self):
        """Later states first, then the older ones: stale. Same bytes again: duplicates."""
        for _ in range(20):
            newer, makes = self.order()
            older = copy.deepcopy(newer)
            newer.update(status="processing", date_modified_gmt="2026-11-24T10:00:00",
                         date_paid_gmt="2026-11-24T10:00:00")
            older.update(status="pending", date_modified_gmt="2026-11-23T03:40:15",
                         date_paid_gmt=None)
            self.add(self.signed("replay", f"order {newer['id']} newer", "order.updated", newer,
                                 makes),
                     self.signed("replay", f"order {newer['id']} older, late", "order.created",
                                 older, outcome=STALE),
                     self.signed("replay", f"order {newer['id']} newer again", "order.updated",
                                 newer, outcome=DUPLICATE))
        for _ in range(8):
            newer, makes = self.product()
            older = copy.deepcopy(newer)
            newer.update(price="1500000", date_modified_gmt="2026-11-24T10:00:00")
            self.add(self.signed("replay", f"product {newer['id']} newer", "product.updated",
                                 newer, makes),
                     self.signed("replay", f"product {newer['id']} older", "product.updated",
                                 older, outcome=STALE))
            newer, makes = self.cart()
            older = copy.deepcopy(newer)
            newer.update(total="600000", date_modified_gmt="2026-11-23T04:30:00")
            self.add(self.signed("replay", f"cart {newer['token']} newer", "bazgasht_cart.updated",
                                 newer, makes),
                     self.signed("replay", f"cart {newer['token']} older",
                                 "bazgasht_cart.updated", older, outcome=STALE),
                     self.signed("replay", f"cart {newer['token']} newer again",
                                 "bazgasht_cart.created", newer, outcome=DUPLICATE))
        for _ in range(8):  # trashed, trashed again
            uid = self.uid()
            body = wc_body({"id": uid})
            self.add(self.signed("replay", f"order {uid} trashed", "order.deleted", body,
                                 frozenset({("order", "real", uid)})),
                     self.signed("replay", f"order {uid} trashed again", "order.deleted", body,
                                 outcome=DUPLICATE))

    def oversized(self, limit: int):
        """Bodies at the limit are taken; a byte more is 413, declared or streamed."""
        def padded(size: int) -> tuple[bytes, frozenset]:
            payload, makes = self.order()
            body = wc_body(payload)
            return body + b" " * (size - len(body)), makes

        body, makes = padded(limit)
        self.add(self.signed("oversized", "exactly the limit", "order.created", body, makes))
        body, makes = padded(limit)
        case = self.signed("oversized", "exactly the limit, streamed", "order.created", body, makes)
        case.chunked = True
        self.add(case)
        for name, size, chunked, store, signed in [
            ("one byte over", limit + 1, False, "real", True),
            ("one byte over, streamed", limit + 1, True, "real", True),
            ("one byte over, unsigned", limit + 1, False, "real", False),
            ("one byte over, to the other store", limit + 1, False, "other", True),
            ("one byte over, to a disabled store", limit + 1, False, "off", True),
            ("a kilobyte over", limit + 1024, False, "real", True),
            ("four times over", 4 * limit, False, "real", True),
            ("four times over, streamed", 4 * limit, True, "real", True),
        ]:
            body, makes = padded(size)
            headers = headers_for("order.created", body, REAL_SECRET if signed else None)
            self.add(Case("oversized", name, body, headers, status=413,
                          error="payload_too_large", makes=makes, store=store, chunked=chunked))

    def paths_and_methods(self):
        """No store, a malformed store, the wrong method: 404 and 405, nothing stored."""
        for segment in ["999999", "0", "2147483647", "2147483648", "4294967296",
                        "999999999999999999", "1000000000000000000", str(2**63), str(2**64),
                        "9" * 40, "-1", "+1", "abc", "1e3", "1.0", "0x1", "%D9%A1", "%DB%B1",
                        "%00", "%201", "1%20", "%E2%80%8F1", "1;2", "null", "[1]"]:
            payload, makes = self.order()
            body = wc_body(payload)
            # A store id that could exist answers as a wrong signature does (nothing to learn
            # by trying ids); a malformed one is 404.
            possible = segment.isdigit() and len(segment) <= 18
            case = Case("path", f"store id {segment!r}", body,
                        headers_for("order.created", body, REAL_SECRET),
                        status=401 if possible else 404,
                        error="invalid_signature" if possible else "store_not_found",
                        makes=makes)
            case.path = f"/webhooks/woocommerce/{segment}"
            self.add(case)
        # Starlette redirects a doubled trailing slash to the URL with one (307): WooCommerce
        # counts that as a failed delivery, right for a URL bazgasht never gave out.
        # /webhooks is a short code's path, which only GET and HEAD have.
        for path, status, code in [("{url}/extra", 404, "not_found"),
                                   ("{url}/1/2", 404, "not_found"),
                                   ("{url}//", 307, None),
                                   ("/webhooks/woocommerce", 404, "not_found"),
                                   ("/webhooks/woocommerce/", 404, "not_found"),
                                   ("/webhooks/woocommerce//", 404, "not_found"),
                                   ("/webhooks", 405, "method_not_allowed")]:
            payload, makes = self.order()
            body = wc_body(payload)
            case = Case("path", f"path {path!r}", body,
                        headers_for("order.created", body, REAL_SECRET), status=status,
                        error=code, makes=makes)
            case.path = path
            self.add(case)
        for method in ["GET", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"]:
            for suffix in ("", "/"):
                payload, makes = self.order()
                body = wc_body(payload) if method not in ("GET", "HEAD", "OPTIONS") else b""
                case = Case("method", f"{method} {suffix!r}", body,
                            headers_for("order.created", body, REAL_SECRET), status=405,
                            error="method_not_allowed", makes=makes, method=method)
                case.path = "{url}" + suffix
                self.add(case)


def build_corpus(fixtures_dir, limit: int) -> list[Case]:
    corpus = Corpus(fixtures_dir)
    corpus.real_captures_and_replays()
    corpus.wrong_types()
    corpus.truncated()
    corpus.malformed()
    corpus.unicode()
    corpus.headers()
    corpus.signatures()
    corpus.replays_and_stale()
    corpus.oversized(limit)
    corpus.paths_and_methods()
    cases = corpus.cases()
    # The captures come first: their replays (in other units) depend on them.
    return sorted(cases, key=lambda c: c.kind != "baseline")


# ---- sending and checking --------------------------------------------------------------------


@pytest.fixture
def stores(factory) -> dict[str, int]:
    """The store the captures came from, another store, and a disabled one."""
    ids = {}
    with unit_of_work(factory) as session:
        for key, url in (("real", "http://127.0.0.1:8090"), ("other", "https://other.example"),
                         ("off", "https://off.example")):
            ids[key] = create_store(session, url=url).id
        for key, store_id in ids.items():
            store_settings(session, store_id, webhook_secret=SECRETS[key], currency="IRT",
                           enabled=key != "off")
    return ids


def send(client, case: Case, stores: dict[str, int]):
    url = f"/webhooks/woocommerce/{stores[case.store]}"
    path = url if case.path is None else case.path.replace("{url}", url)
    content = case.body
    if case.chunked:
        content = (case.body[i:i + 65536] for i in range(0, len(case.body), 65536))
    return client.request(case.method, path, content=content, headers=case.headers)


def error_shape(response) -> dict | None:
    try:
        body = response.json()
    except ValueError:
        return None
    if set(body) != {"error"} or set(body["error"]) != {"code", "message"}:
        return None
    if not all(isinstance(v, str) and v for v in body["error"].values()):
        return None
    return body["error"]


MIRRORS = {"order": (Order, Order.wc_id), "product": (Product, Product.wc_id),
           "cart": (Cart, Cart.token), "contact": (Contact, Contact.phone)}


def mirror_rows(session, stores: dict[str, int]) -> set:
    """Every mirror row, named as the cases name them: (kind, store, wc_id, token or phone)."""
    names = {v: k for k, v in stores.items()}
    return {(kind, names[store_id], value) for kind, (model, key) in MIRRORS.items()
            for store_id, value in session.execute(select(model.store_id, key))}


def value_at(row, path):
    if isinstance(path, str):
        return getattr(row, path)
    value = getattr(row, path[0])
    for step in path[1:]:
        value = value[step]
    return value


def snapshot_stores(factory) -> list:
    with factory() as session:
        return [(s.id, s.enabled, s.webhook_secret, s.currency, s.api_key_hash)
                for s in session.scalars(select(Store).order_by(Store.id))]


def test_corpus_is_large_varied_and_deterministic(fixtures_dir):
    cases = build_corpus(fixtures_dir, LIMIT)
    again = build_corpus(fixtures_dir, LIMIT)
    assert [(c.name, c.body, c.headers) for c in cases] == [
        (c.name, c.body, c.headers) for c in again]
    kinds = Counter(c.kind for c in cases)
    assert len(cases) >= 1000, kinds
    assert set(kinds) >= {"baseline", "wrong_type", "truncated", "malformed", "unicode",
                          "headers", "ping", "signature", "other_store", "disabled_store",
                          "replay", "oversized", "path", "method"}, kinds


def test_bad_input_corpus(client, live_server, stores, factory, fixtures_dir, clock):
    limit = live_server.app.state.settings.max_webhook_body_bytes
    assert limit == LIMIT
    cases = build_corpus(fixtures_dir, limit)
    before = snapshot_stores(factory)
    problems, stored = [], {}

    for case in cases:
        response = send(client, case, stores)
        label = f"[{case.kind}] {case.name}"
        if response.status_code >= 500:
            problems.append(f"{label}: {response.status_code} {response.text[:200]}")
            continue
        if response.status_code != case.status:
            problems.append(f"{label}: answered {response.status_code}, expected {case.status}: "
                            f"{response.text[:200]}")
            continue
        if case.status != 200:
            if case.method == "HEAD" or case.status == 307:  # no body
                continue
            error = error_shape(response)
            expected = case.error if isinstance(case.error, set) else {case.error}
            if error is None or error["code"] not in expected:
                problems.append(f"{label}: error {response.text[:200]}, expected {case.error}")
            continue
        answer = response.json()
        if case.outcome == PING:
            if answer != {"ok": True, "ping": True}:
                problems.append(f"{label}: {answer}, expected the ping's answer")
            continue
        if set(answer) != {"ok", "delivery_id"} or answer["ok"] is not True:
            problems.append(f"{label}: answered {answer}")
            continue
        # A replay is answered with its first delivery's id: that one is what was stored.
        stored.setdefault(answer["delivery_id"], case)
    assert not problems, f"{len(problems)} wrong answers:\n" + "\n".join(problems[:40])

    # Only what was answered with a delivery id was stored; nothing of the rest.
    with factory() as session:
        ids = set(session.scalars(select(WebhookDelivery.id)))
    assert ids == set(stored)

    assert process_pending(factory, now=clock.now()) == len(stored)
    with factory() as session:
        deliveries = {d.id: d for d in session.scalars(select(WebhookDelivery))}
        mirrors = mirror_rows(session, stores)
        order13 = session.scalar(select(Order).where(Order.store_id == stores["real"],
                                                     Order.wc_id == 13))
        for case in stored.values():
            if not case.values:
                continue
            kind, store, key = min(m for m in case.makes if m[0] != "contact")
            model, column = MIRRORS[kind]
            row = session.scalar(select(model).where(model.store_id == stores[store],
                                                     column == key))
            for path, value in case.values.items():
                if value_at(row, path) != value:
                    problems.append(f"[{case.kind}] {case.name}: {path} is "
                                    f"{value_at(row, path)!r}, expected {value!r}")
    for delivery_id, case in sorted(stored.items()):
        delivery, label = deliveries[delivery_id], f"[{case.kind}] {case.name}"
        if delivery.status == PENDING:
            problems.append(f"{label}: left pending")
        elif delivery.status != case.outcome:
            problems.append(f"{label}: {delivery.status} ({delivery.reason}), "
                            f"expected {case.outcome}")
        elif delivery.status == DEAD and (not delivery.reason
                                          or case.reason.lower() not in delivery.reason.lower()):
            problems.append(f"{label}: dead letter's reason {delivery.reason!r} does not say "
                            f"{case.reason!r}")
        if delivery.reason and delivery.reason.startswith("internal error"):
            problems.append(f"{label}: {delivery.reason}")
    assert not problems, f"{len(problems)} wrong outcomes or values:\n" + "\n".join(
        problems[:60])

    # The mirrors hold exactly what the usable deliveries describe, nothing of the rest.
    expected = set().union(*(c.makes for c in stored.values() if c.outcome == APPLIED))
    rejected = set().union(*(c.makes for c in cases if c.status != 200 or c.outcome == DEAD))
    assert not (mirrors & (rejected - expected)), sorted(mirrors & (rejected - expected))[:20]
    assert sorted(mirrors - expected)[:20] == [] and sorted(expected - mirrors)[:20] == []
    assert len(mirrors) == len(expected)
    counts = Counter(kind for kind, _, _ in mirrors)
    applied = Counter(c.outcome for c in stored.values())
    assert counts["order"] >= 300 and counts["contact"] >= 300 and applied[APPLIED] >= 500, (
        counts, applied)

    # The stale capture (pending) did not undo the completed order; stores are as they were.
    assert (order13.status, order13.purchased, order13.total) == ("completed", True, 22_000_000)
    assert snapshot_stores(factory) == before
