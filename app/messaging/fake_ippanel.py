"""A fake IPPanel Edge on loopback, speaking its wire format, for tests and local development.

Stdlib only (ThreadingHTTPServer in a thread, HTTP/1.1 keep-alive). The paths, the
`Authorization` header, the JSON bodies and the `{"data", "meta"}` envelope are IPPanel's as its
documentation shows them. What the documentation leaves open is a knob, so tests can play
either answer (all marked UNCONFIRMED):

- a refused number: refused at once (422 naming the recipient field) or taken and its bulk
  left in state 4 ("invalid recipients") — `invalid_mode`;
- too little credit: refused at once (422 naming `credit`) or taken and left in state 8 —
  `credit_mode`;
- an unknown outbox id in the report: a 404 envelope or an empty `data` — `unknown_bulk`;
- the inbox: newest first (as the example shows) or oldest first, `from_id` exclusive or
  inclusive — `inbox_newest_first`, `from_id_inclusive`;
- the outbox search: it may not list a bulk yet — `list_outbox`.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from app.loopback import Drop, LoopbackServer, keepalive_handler, take_next
from app.messaging.segments import count_segments

log = logging.getLogger(__name__)

DEFAULT_LINE = "+983000505"
_E164_MOBILE = re.compile(r"^\+989\d{9}$")
_DONE = "انجام شد"
# message_code of each HTTP status, where the documentation shows one.
_MESSAGE_CODES = {401: "400-1", 404: "404-1", 422: "400-2"}
_ERROR_TEXT = {401: "اطلاعات وارد شده صحیح نمی باشد", 404: "یافت نشد",
               422: "درخواست معتبر نیست", 429: "تعداد درخواست بیش از حد مجاز",
               500: "خطای سیستمی", 503: "سرویس در دسترس نیست"}
# Bulk states (report/new_list state_id) and recipient states (message_status).
CREATED, SENDING, REJECTED, INVALID_RECIPIENTS, SENT, CANCELLED, NO_CREDIT = 1, 2, 3, 4, 6, 7, 8
TO_OPERATOR, OPERATOR_RECEIVED, DELIVERED, NOT_DELIVERED, BLACKLISTED = 0, 1, 2, 3, 4


class _Reply(Exception):
    """Ends a call with this HTTP status and IPPanel's error envelope (or a raw body)."""

    def __init__(self, status: int, errors: dict[str, list[str]] | None = None, *,
                 message: str | None = None, message_code: str | None = None,
                 raw_body: str | None = None):
        super().__init__(status)
        self.status, self.errors, self.raw_body = status, errors or {}, raw_body
        self.message = message or (next(iter(self.errors.values()))[0] if self.errors
                                   else _ERROR_TEXT.get(status, "خطا"))
        self.message_code = message_code or _MESSAGE_CODES.get(status, f"{status}-1")


@dataclass
class FakeRecipient:
    receptor: str
    text: str
    parts: int
    message_status: int | None = None


@dataclass
class FakeBulk:
    outbox_id: int
    sending_type: str
    sender: str
    recipients: list[FakeRecipient]
    cost: int  # Rial
    state_id: int = CREATED
    polls: int = 0
    pattern: str | None = None
    params: dict[str, str] | None = None

    @property
    def message(self) -> str:
        return self.recipients[0].text

    def report(self) -> dict[str, Any]:
        """As report/by_bulk and report/new_list show it (numbers as strings, like IPPanel)."""
        return {"messages_outbox_id": str(self.outbox_id), "number": self.sender,
                "state_id": self.state_id, "type": self.sending_type, "message": self.message,
                "rcpts_count": str(len(self.recipients)), "exit_count": str(len(self.recipients)),
                "cost": self.cost, "part": str(max(r.parts for r in self.recipients)),
                "state": "finish" if self.state_id in _FINAL_STATES else "pending"}


_FINAL_STATES = frozenset({REJECTED, INVALID_RECIPIENTS, SENT, CANCELLED, NO_CREDIT, 9})


@dataclass
class FakeInbound:
    inbox_id: int
    sender: str
    line: str
    text: str
    time: int


@dataclass
class FakePattern:
    message: str  # "… %name% …"
    variables: dict[str, tuple[str, int]]  # name → (type, len)
    status: str = "active"


@dataclass
class RecordedRequest:
    http_method: str
    path: str
    query: dict[str, list[str]]
    body: Any  # the parsed JSON body (None when there was none or it did not parse)
    headers: dict[str, str]


@dataclass
class _Fault:
    status: int
    times: int
    errors: dict[str, list[str]] | None
    message_code: str | None
    raw_body: str | None


@dataclass
class _Outcome:
    message_status: int
    after_polls: int


@dataclass
class _State:
    """What the gateway holds; one lock guards it all."""

    bulks: dict[int, FakeBulk] = field(default_factory=dict)
    inbox: list[FakeInbound] = field(default_factory=list)
    requests: list[RecordedRequest] = field(default_factory=list)
    faults: dict[str, list[_Fault]] = field(default_factory=lambda: defaultdict(list))
    drops: dict[str, list[Drop]] = field(default_factory=lambda: defaultdict(list))
    delays: dict[str, float] = field(default_factory=dict)
    stalls: dict[str, float] = field(default_factory=dict)
    outcome: _Outcome | None = None
    outcome_for: dict[str, _Outcome] = field(default_factory=dict)
    next_id: int = 1_123_544_000


class FakeIpPanel(LoopbackServer):
    name = "fake-ippanel"

    def __init__(self, api_key: str = "test-key", port: int = 0, *, host: str = "127.0.0.1",
                 credit: int = 10_000_000, price_per_part: int = 2_370,
                 clock: Callable[[], float] = time.time):
        self.api_key = api_key
        self.credit = credit  # Rial
        self.price_per_part = price_per_part
        self.lines: set[str] = {DEFAULT_LINE}  # from_number values the account may use
        self.patterns: dict[str, FakePattern] = {
            "verify-code": FakePattern("کد تایید شما: %code%", {"code": ("integer", 0)})}
        self.invalid_receptors: set[str] = set()
        self.blacklisted: set[str] = set()
        self.invalid_mode = "refuse"      # or "accept": taken, bulk state 4
        self.credit_mode = "refuse"       # or "accept": taken, bulk state 8
        self.unknown_bulk = "404"         # or "empty": 200 with data null
        self.inbox_newest_first = True
        self.from_id_inclusive = False
        self.list_outbox = True           # False: new_list does not show new bulks yet
        self.max_peer_to_peer = 100
        self._clock = clock
        self._lock = threading.RLock()
        self._state = _State()
        handler = keepalive_handler(self, methods=("GET", "POST"), name="fake ippanel")
        super().__init__(handler, host, port)

    @property
    def base_url(self) -> str:
        """Where the API lives, like https://edge.ippanel.com/v1 (the client's base_url)."""
        return f"{super().base_url}/v1"


    # -- knobs for tests ------------------------------------------------------------------------

    def fail_next(self, method: str, status: int, *, times: int = 1,
                  errors: dict[str, list[str]] | None = None, message_code: str | None = None,
                  raw_body: str | None = None) -> None:
        """Answer the next `times` calls of `method` (webservice, peer_to_peer, pattern, cancel,
        pattern_by_code, by_bulk, recipients, new_list, messages-inbox, credit) with this HTTP
        status and IPPanel's error envelope, without doing the work; `raw_body` replaces it."""
        with self._lock:
            self._state.faults[method].append(_Fault(status, times, errors, message_code,
                                                     raw_body))

    def drop_next(self, method: str, *, after_work: bool = False, times: int = 1) -> None:
        """Close the connection of the next `times` calls without answering, before doing the
        work (nothing happened) or after it (it happened; the client cannot know)."""
        with self._lock:
            self._state.drops[method].append(Drop(times, after_work))

    def delay(self, method: str, seconds: float) -> None:
        """Hold answers of `method` this long AFTER doing the work (the ambiguous case)."""
        with self._lock:
            self._state.delays[method] = seconds

    def stall(self, method: str, seconds: float) -> None:
        """Hold calls of `method` this long WITHOUT doing the work, then close the connection."""
        with self._lock:
            self._state.stalls[method] = seconds

    def set_outcome(self, message_status: int, *, after_polls: int = 0,
                    receptor: str | None = None) -> None:
        """The recipient state (IPPanel's message_status: 0 to operator, 1 operator received,
        2 delivered, 3 not delivered, 4 blacklisted) reported from the (after_polls + 1)-th
        report poll of a bulk on, for one receptor or all. Until then the bulk is "sending"
        (state 2) and its recipients carry no message_status; without an outcome, it stays
        created (state 1)."""
        with self._lock:
            outcome = _Outcome(message_status, after_polls)
            if receptor is None:
                self._state.outcome = outcome
            else:
                self._state.outcome_for[receptor] = outcome

    def push_inbound(self, sender: str, text: str, *, line: str = DEFAULT_LINE,
                     at: int | None = None) -> int:
        with self._lock:
            inbox_id = self._new_id()
            self._state.inbox.append(FakeInbound(inbox_id, sender, line, text,
                                                 int(self._clock()) if at is None else at))
            return inbox_id

    # -- what happened --------------------------------------------------------------------------

    @property
    def bulks(self) -> list[FakeBulk]:
        with self._lock:
            return list(self._state.bulks.values())

    def sent_to(self, receptor: str) -> list[FakeRecipient]:
        """Every message taken for this number (a duplicate shows as two)."""
        with self._lock:
            return [r for b in self._state.bulks.values() for r in b.recipients
                    if r.receptor == receptor]

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._state.requests)

    def calls(self, method: str) -> list[RecordedRequest]:
        with self._lock:
            return [r for r in self._state.requests if _method(r.http_method, r.path, r.body)
                    == method]

    # -- the API --------------------------------------------------------------------------------

    def handle(self, http_method: str, raw_path: str, raw_body: bytes,
               headers: dict[str, str]) -> tuple[int, str] | None:
        """One HTTP call → (status, body), or None: close without answering."""
        split = urlsplit(raw_path)
        query = parse_qs(split.query, keep_blank_values=True)
        try:
            body = json.loads(raw_body) if raw_body else None
        except ValueError:
            body = None
        name = _method(http_method, split.path, body) or ""
        with self._lock:
            self._state.requests.append(RecordedRequest(http_method, split.path, query, body,
                                                        headers))
        try:
            if headers.get("Authorization") != self.api_key:
                raise _Reply(401)
            route = _ROUTES.get(name)
            if route is None:
                raise _Reply(404, message="مسیر یافت نشد")
            with self._lock:
                drop = take_next(self._state.drops.get(name, []))
                if drop is not None and not drop.after_work:
                    return None
                stall = self._state.stalls.get(name, 0.0)
            if stall:
                self._released.wait(stall)
                return None
            with self._lock:
                self._inject_fault(name)
                data, meta = route(self, split.path, {k: v[0] for k, v in query.items()},
                                   body if isinstance(body, dict) else {})
                delay = self._state.delays.get(name, 0.0)
                gate = self._gate(name)
            if drop is not None:
                return None
        except _Reply as reply:
            if reply.raw_body is not None:
                return reply.status, reply.raw_body
            return reply.status, json.dumps({"data": None, "meta": {
                "status": False, "message": reply.message, "message_parameters": [],
                "message_code": reply.message_code, "errors": reply.errors}},
                ensure_ascii=False)
        if delay:
            self._released.wait(delay)
        self._wait_at(name, gate)
        return 200, json.dumps({"data": data, "meta": {
            "status": True, "message": _DONE, "message_parameters": [],
            "message_code": "200-1"} | meta}, ensure_ascii=False)

    def _inject_fault(self, name: str) -> None:
        fault = take_next(self._state.faults.get(name, []))
        if fault is not None:
            raise _Reply(fault.status, fault.errors, message_code=fault.message_code,
                         raw_body=fault.raw_body)

    def _new_id(self) -> int:
        self._state.next_id += 1
        return self._state.next_id

    # -- sends ----------------------------------------------------------------------------------

    def _send(self, path: str, query: dict[str, str], body: dict[str, Any]) -> tuple[Any, dict]:
        kind = body.get("sending_type")
        sender = body.get("from_number")
        if not sender:
            raise _Reply(422, {"from_number": ["تکمیل گزینه شماره فرستنده الزامی است"]})
        if sender not in self.lines:
            raise _Reply(422, {"from_number": ["شماره فرستنده متعلق به شما نیست"]})
        if kind == "webservice":
            messages = [(_list(body.get("params", {}), "recipients", "params.recipients"),
                         _text(body, "message"), "params.recipients")]
        elif kind == "peer_to_peer":
            messages = self._peer_to_peer_messages(body.get("params"))
        elif kind == "pattern":
            messages = [self._pattern_message(body)]
        else:
            raise _Reply(422, {"sending_type": ["نوع ارسال معتبر نیست"]})
        self._check_recipients(messages)
        bulks = [self._bulk(kind, sender, recipients, text) for recipients, text, _ in messages]
        self._charge(bulks)
        if kind == "pattern":
            bulks[0].pattern, bulks[0].params = body["code"], dict(body["params"])
        for bulk in bulks:
            self._state.bulks[bulk.outbox_id] = bulk
        return {"message_outbox_ids": [b.outbox_id for b in bulks]}, {}

    def _peer_to_peer_messages(self, params: Any) -> list[tuple[list[str], str, str]]:
        if not isinstance(params, list) or not params:
            raise _Reply(422, {"params": ["تکمیل گزینه پارامترها الزامی است"]})
        if len(params) > self.max_peer_to_peer:
            raise _Reply(422, {"params": [f"حداکثر {self.max_peer_to_peer} پیام"]})
        out = []
        for i, entry in enumerate(params):
            if not isinstance(entry, dict):
                raise _Reply(422, {f"params.{i}": ["معتبر نیست"]})
            out.append((_list(entry, "recipients", f"params.{i}.recipients"),
                        _text(entry, "message", f"params.{i}.message"),
                        f"params.{i}.recipients"))
        return out

    def _pattern_message(self, body: dict[str, Any]) -> tuple[list[str], str, str]:
        recipients = _list(body, "recipients", "recipients")
        if len(recipients) != 1:
            raise _Reply(422, {"recipients": ["فقط یک گیرنده مجاز است"]})
        pattern = self.patterns.get(str(body.get("code") or ""))
        if pattern is None or pattern.status != "active":
            raise _Reply(404, message="الگو یافت نشد")
        params = body.get("params")
        if not isinstance(params, dict):
            raise _Reply(422, {"params": ["تکمیل گزینه پارامترها الزامی است"]})
        text = pattern.message
        for name, (kind, length) in pattern.variables.items():
            value = params.get(name)
            if value is None or str(value) == "":
                raise _Reply(422, {f"params.{name}": [f"تکمیل گزینه {name} الزامی است"]})
            value = str(value)
            if (length and len(value) > length) or (kind == "integer" and not value.isdigit()):
                raise _Reply(422, {f"params.{name}": [f"مقدار {name} معتبر نیست"]})
            text = text.replace(f"%{name}%", value)
        return recipients, text, "recipients"

    def _check_recipients(self, messages: list[tuple[list[str], str, str]]) -> None:
        bad = {f"{where}.{i}": ["شماره گیرنده معتبر نیست"]
               for recipients, _, where in messages for i, r in enumerate(recipients)
               if not _E164_MOBILE.match(r)
               or (r in self.invalid_receptors and self.invalid_mode == "refuse")}
        if bad:
            raise _Reply(422, bad)

    def _bulk(self, kind: str, sender: str, recipients: list[str], text: str) -> FakeBulk:
        parts = count_segments(text).parts
        bulk = FakeBulk(self._new_id(), kind, sender,
                        [FakeRecipient(r, text, parts) for r in recipients],
                        cost=parts * self.price_per_part * len(recipients))
        if any(r in self.invalid_receptors for r in recipients):
            bulk.state_id, bulk.cost = INVALID_RECIPIENTS, 0
        return bulk

    def _charge(self, bulks: list[FakeBulk]) -> None:
        cost = sum(b.cost for b in bulks)
        if cost <= self.credit:
            self.credit -= cost
            return
        if self.credit_mode == "refuse":
            raise _Reply(422, {"credit": ["اعتبار کافی نیست"]})
        for bulk in bulks:
            bulk.state_id, bulk.cost = NO_CREDIT, 0

    def _cancel(self, path: str, query: dict[str, str], body: dict[str, Any]) -> tuple[Any, dict]:
        bulk = self._state.bulks.get(_opt_int(body.get("message_outbox_id")) or -1)
        if bulk is None:
            raise _Reply(404, message="پیام مورد نظر یافت نشد", message_code="400-1")
        if bulk.state_id in _FINAL_STATES:
            raise _Reply(422, {"message_outbox_id": ["امکان لغو وجود ندارد"]})
        bulk.state_id = CANCELLED
        self.credit += bulk.cost
        return None, {}

    # -- questions ------------------------------------------------------------------------------

    def _pattern_by_code(self, path: str, query: dict[str, str],
                         body: dict[str, Any]) -> tuple[Any, dict]:
        code = path.rsplit("/", 1)[-1]
        pattern = self.patterns.get(code)
        if pattern is None:
            raise _Reply(404, message="الگو یافت نشد")
        return {"pattern_code": code, "pattern_message": pattern.message,
                "pattern_status": pattern.status, "delimiter": "%",
                "variable": [{"name": n, "type": t, "len": ln}
                             for n, (t, ln) in pattern.variables.items()]}, {}

    def _poll(self, bulk: FakeBulk) -> FakeBulk:
        """A report read moves a bulk on: sending, then sent with each recipient's outcome."""
        if bulk.state_id in _FINAL_STATES:
            return bulk
        outcomes = [self._state.outcome_for.get(r.receptor, self._state.outcome)
                    for r in bulk.recipients]
        blacklisted = any(r.receptor in self.blacklisted for r in bulk.recipients)
        if all(o is None for o in outcomes) and not blacklisted:
            return bulk
        bulk.polls += 1
        # A blacklisted number is final at once: the operator never gets the message.
        due = [o for o, r in zip(outcomes, bulk.recipients, strict=True)
               if o is not None and r.receptor not in self.blacklisted]
        if due and bulk.polls <= max(o.after_polls for o in due):
            bulk.state_id = SENDING
            return bulk
        bulk.state_id = SENT
        for recipient, outcome in zip(bulk.recipients, outcomes, strict=True):
            recipient.message_status = (BLACKLISTED if recipient.receptor in self.blacklisted
                                        else outcome.message_status if outcome else TO_OPERATOR)
        return bulk

    def _by_bulk(self, path: str, query: dict[str, str], body: dict[str, Any]) -> tuple[Any, dict]:
        if not query.get("messages_outbox_id"):
            raise _Reply(422, {"messages_outbox_id": ["تکمیل گزینه شناسه الزامی است"]})
        bulk = self._state.bulks.get(_opt_int(query["messages_outbox_id"]) or -1)
        if bulk is None:
            if self.unknown_bulk == "404":
                raise _Reply(404, message="پیام مورد نظر یافت نشد")
            return None, {}
        return self._poll(bulk).report(), {}

    def _recipients(self, path: str, query: dict[str, str],
                    body: dict[str, Any]) -> tuple[Any, dict]:
        if not query.get("bulk_id"):
            raise _Reply(422, {"bulk_id": ["تکمیل گزینه bulk_id الزامی است"]})
        bulk = self._state.bulks.get(_opt_int(query["bulk_id"]) or -1)
        rows = []
        if bulk is not None:
            final = bulk.state_id in _FINAL_STATES
            rows = [{"recipient": r.receptor, "message": r.text, "is_readable": True,
                     "msg_parts": str(r.parts)}
                    | ({"message_status": str(r.message_status)}
                       if final and r.message_status is not None else {})
                    for r in bulk.recipients]
        return _page(rows, query, "per_page", 10)

    def _new_list(self, path: str, query: dict[str, str], body: dict[str, Any]) -> tuple[Any, dict]:
        filters = body.get("filters") or {}
        state = filters.get("state_id")
        if state is not None and _opt_int(state) not in range(10):
            raise _Reply(422, message="invalid state", message_code="400-31")
        rows = [b.report() for b in sorted(self._state.bulks.values(),
                                           key=lambda b: -b.outbox_id)
                if self.list_outbox
                and filters.get("number") in (None, b.sender)
                and str(filters.get("message") or "") in b.message
                and filters.get("messages_outbox_id") in (None, str(b.outbox_id))
                and (state is None or int(state) == b.state_id)]
        return _page(rows, {k: str(v) for k, v in body.items()}, "limit", 10)

    def _inbox(self, path: str, query: dict[str, str], body: dict[str, Any]) -> tuple[Any, dict]:
        from_id = _opt_int((body.get("filters") or {}).get("from_id"))
        rows = [m for m in self._state.inbox if from_id is None or m.inbox_id > from_id
                or (self.from_id_inclusive and m.inbox_id == from_id)]
        rows.sort(key=lambda m: m.inbox_id, reverse=self.inbox_newest_first)
        return _page([{"messages_inbox_id": m.inbox_id, "from": m.sender, "number": m.line,
                       "message": m.text, "type": "normal", "time": m.time, "seen": "0"}
                      for m in rows], {k: str(v) for k, v in body.items()}, "per_page", 10)

    def _credit(self, path: str, query: dict[str, str], body: dict[str, Any]) -> tuple[Any, dict]:
        return {"credit": float(self.credit), "yesterday_credit": float(self.credit), "gift": 0,
                "gift_expires_at": None, "updated_at": "2025-06-30 18:07:06"}, {}


_Route = Callable[[FakeIpPanel, str, dict[str, str], dict[str, Any]], tuple[Any, dict]]
_ROUTES: dict[str, _Route] = {
    "webservice": FakeIpPanel._send, "peer_to_peer": FakeIpPanel._send,
    "pattern": FakeIpPanel._send, "cancel": FakeIpPanel._cancel,
    "pattern_by_code": FakeIpPanel._pattern_by_code, "by_bulk": FakeIpPanel._by_bulk,
    "recipients": FakeIpPanel._recipients, "new_list": FakeIpPanel._new_list,
    "messages-inbox": FakeIpPanel._inbox, "credit": FakeIpPanel._credit,
}
_PATHS = {("POST", "/v1/api/send/cancel"): "cancel",
          ("GET", "/v1/api/report/by_bulk"): "by_bulk",
          ("GET", "/v1/api/report/recipients"): "recipients",
          ("POST", "/v1/api/report/new_list"): "new_list",
          ("POST", "/v1/api/report/messages-inbox"): "messages-inbox",
          ("GET", "/v1/api/payment/credit/mine"): "credit"}


def _method(http_method: str, path: str, body: Any) -> str | None:
    """The knob name of a call: the sending type for /api/send, else the endpoint's name."""
    path = path.rstrip("/")
    if http_method == "POST" and path == "/v1/api/send":
        kind = body.get("sending_type") if isinstance(body, dict) else None
        return str(kind) if kind in ("webservice", "peer_to_peer", "pattern") else "send"
    if http_method == "GET" and path.startswith("/v1/api/patterns/"):
        return "pattern_by_code"
    return _PATHS.get((http_method, path))


def _opt_int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _list(body: Any, key: str, where: str) -> list[str]:
    value = body.get(key) if isinstance(body, dict) else None
    if not isinstance(value, list) or not value:
        raise _Reply(422, {where: [f"تکمیل گزینه {key} الزامی است"]})
    return [str(v) for v in value]


def _text(body: dict[str, Any], key: str, where: str | None = None) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value.strip():
        raise _Reply(422, {where or key: ["تکمیل گزینه پیام الزامی است"]})
    return value


def _page(rows: list[Any], args: dict[str, str], size_key: str,
          default: int) -> tuple[list[Any], dict[str, Any]]:
    page = max(1, _opt_int(args.get("page")) or 1)
    size = max(1, _opt_int(args.get(size_key)) or default)
    chunk = rows[(page - 1) * size:page * size]
    return chunk, {"current_page": page, "per_page": size, "total": len(rows),
                   "last_page": max(1, -(-len(rows) // size))}

