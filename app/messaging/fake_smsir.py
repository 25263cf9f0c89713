"""A fake SMS.ir (REST v1) on loopback, speaking its wire format, for tests and local development.

Stdlib only (ThreadingHTTPServer in a thread, HTTP/1.1 keep-alive). JSON bodies, the key in the
`X-API-KEY` header, every answer in SMS.ir's envelope `{"status", "message", "data"}`. Tests drive
it through Python methods: fail, delay, stall or drop calls, refuse or blacklist numbers, choose
delivery states, push inbound texts, and read back what was sent.

Where no source settled how the real one behaves, a knob plays each answer (defaults first):
- a blacklisted number in a send (`blacklist_mode`): the whole call refused with 115 ("refuse"),
  the message taken and reported with deliveryState 7 ("take"), or the number left out of the
  pack, which then holds fewer ids than mobiles ("skip");
- a message id it does not know: HTTP 400 with 111 (`unknown_id_answer="111"`), or data null;
- before its final state a message shows deliveryState null (`pending_state`), or 3 or 5;
- receive/live rows without receiveReturnId (`live_has_ids`);
- the HTTP status beside each error code (`http_for_code`): 401 for the key's codes, 429 for
  the rate limit, 500 for 0, 400 for the rest.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlsplit

from app.loopback import Drop, LoopbackServer, keepalive_handler, take_next
from app.messaging.segments import count_segments

log = logging.getLogger(__name__)

DEFAULT_LINE = "30004505000017"
_MOBILE = re.compile(r"^(\+98|0098|98|0)?9\d{9}$")
_MESSAGES = {0: "request failed", 1: "موفق", 10: "invalid API key", 11: "API key disabled",
             12: "API key restricted to its IPs", 13: "account disabled",
             14: "account suspended", 15: "upgrade your plan", 16: "bad parameter value",
             20: "too many requests", 101: "invalid line", 102: "insufficient credit",
             103: "empty text", 104: "invalid mobile(s)", 105: "more than 100 mobiles",
             106: "more than 100 texts", 107: "no mobiles", 108: "no texts",
             109: "invalid send time", 110: "mobiles and texts differ in number",
             111: "nothing sent with this id", 113: "template not found",
             114: "parameter longer than 25 characters", 115: "mobile(s) in the blacklist",
             116: "parameter name missing", 404: "no such method"}
_HTTP_FOR_CODE = {0: 500, 10: 401, 11: 401, 12: 401, 20: 429, 404: 404}


def _last10(mobile: str) -> str:
    return re.sub(r"\D", "", mobile)[-10:]


class _Reply(Exception):
    """Ends a call with SMS.ir code `code`, or with HTTP `http` and a raw body."""

    def __init__(self, code: int, *, http: int | None = None, raw_body: str | None = None):
        super().__init__(code)
        self.code, self.http, self.raw_body = code, http, raw_body


@dataclass
class FakeMessage:
    message_id: int
    pack_id: str
    mobile: str  # as the client sent it
    text: str
    line: str
    cost: Decimal
    parts: int
    sent_at: int
    template_id: int | None = None
    parameters: dict[str, str] | None = None
    state: int | None = None  # what the last report showed
    polls: int = 0

    def report(self) -> dict[str, Any]:
        return {"messageId": self.message_id, "mobile": int(_last10(self.mobile)),
                "messageText": self.text, "sendDateTime": self.sent_at,
                "lineNumber": int(self.line), "cost": float(self.cost),
                "deliveryState": self.state,
                "deliveryDateTime": self.sent_at + 3 if self.state is not None else None}


@dataclass
class FakeInbound:
    receive_id: int
    mobile: str
    text: str
    line: str
    received_at: int
    read: bool = False


@dataclass
class RecordedRequest:
    http_method: str
    path: str
    query: dict[str, list[str]]
    json: Any
    headers: dict[str, str]  # names lower-cased


@dataclass
class _Fault:
    code: int
    times: int
    raw_body: str | None


@dataclass
class _Outcome:
    state: int
    after_polls: int


@dataclass
class _Route:
    name: str  # the route as a template: what knobs and calls() take
    http_method: str
    handler: Callable[..., Any]
    arg: str | None = None


_ROUTES: list[tuple[re.Pattern[str], _Route]] = []


class FakeSmsIr(LoopbackServer):
    name = "fake-smsir"

    def __init__(self, api_key: str = "test-key", port: int = 0, *, host: str = "127.0.0.1",
                 credit: Decimal | int = 10_000, price_per_part: Decimal | str = "1",
                 lines: tuple[str, ...] = (DEFAULT_LINE,),
                 clock: Callable[[], float] = time.time):
        self.api_key = api_key
        self.credit = Decimal(credit)  # in SMS.ir's credit unit
        self.price_per_part = Decimal(price_per_part)
        self.lines = list(lines)
        self.templates: dict[int, str] = {123456: "کد تایید شما: #CODE#"}
        self.invalid_mobiles: set[str] = set()  # compared by their last ten digits
        self.blacklist: set[str] = set()
        self.blacklist_mode = "refuse"  # or "take", "skip"
        self.unknown_id_answer = "111"  # or "null"
        self.pending_state: int | None = None
        self.live_has_ids = False
        self.http_for_code = dict(_HTTP_FOR_CODE)
        self.requests: list[RecordedRequest] = []
        self._clock = clock
        self._lock = threading.RLock()
        self._messages: dict[int, FakeMessage] = {}
        self._inbox: list[FakeInbound] = []
        self._next_id = 80_000_000
        self._faults: dict[str, list[_Fault]] = defaultdict(list)
        self._drops: dict[str, list[Drop]] = defaultdict(list)
        self._delays: dict[str, float] = {}
        self._stalls: dict[str, float] = {}
        self._outcome: _Outcome | None = None
        self._outcome_for: dict[str, _Outcome] = {}
        handler = keepalive_handler(self, methods=("GET", "POST", "DELETE"), name="fake smsir")
        super().__init__(handler, host, port)


    # -- knobs for tests -----------------------------------------------------------------------

    def fail_next(self, method: str, code: int, *, times: int = 1,
                  raw_body: str | None = None) -> None:
        """Answer the next `times` calls of `method` ("send/likeToLike") with SMS.ir code
        `code` in its envelope (and the HTTP status that goes with it), or, with `raw_body`,
        with HTTP `code` and that body (a proxy's page)."""
        with self._lock:
            self._faults[method].append(_Fault(code, times, raw_body))

    def drop_next(self, method: str, *, after_work: bool = False, times: int = 1) -> None:
        """Close the connection of the next `times` calls of `method` without answering,
        before doing the work or after it."""
        with self._lock:
            self._drops[method].append(Drop(times, after_work))

    def delay(self, method: str, seconds: float) -> None:
        """Hold answers of `method` this long AFTER doing the work."""
        with self._lock:
            self._delays[method] = seconds

    def stall(self, method: str, seconds: float) -> None:
        """Hold calls of `method` this long WITHOUT doing the work, then close the connection."""
        with self._lock:
            self._stalls[method] = seconds

    def set_outcome(self, state: int, *, after_polls: int = 0, mobile: str | None = None) -> None:
        """The deliveryState reported from the (after_polls + 1)-th report of a message on, for
        one mobile or all. Without one, messages stay at `pending_state`."""
        with self._lock:
            outcome = _Outcome(state, after_polls)
            if mobile is None:
                self._outcome = outcome
            else:
                self._outcome_for[_last10(mobile)] = outcome

    def push_inbound(self, sender: str, text: str, *, line: str = DEFAULT_LINE,
                     received_at: int | None = None) -> int:
        with self._lock:
            receive_id = self._new_id()
            self._inbox.append(FakeInbound(receive_id, sender, text, line,
                                           int(self._clock()) if received_at is None
                                           else received_at))
            return receive_id

    # -- what happened -------------------------------------------------------------------------

    @property
    def messages(self) -> list[FakeMessage]:
        with self._lock:
            return list(self._messages.values())

    def sent_to(self, mobile: str) -> list[FakeMessage]:
        return [m for m in self.messages if _last10(m.mobile) == _last10(mobile)]

    def calls(self, method: str) -> list[RecordedRequest]:
        """Requests that reached `method` (the route as a template: "send/{messageId}")."""
        with self._lock:
            return [r for r in self.requests if _route_name(r.http_method, r.path) == method]

    # -- the API -------------------------------------------------------------------------------

    def handle(self, http_method: str, raw_path: str, body: bytes,
               headers: dict[str, str]) -> tuple[int, str] | None:
        """One HTTP call → (status, body), or None: close without answering."""
        headers = {k.lower(): v for k, v in headers.items()}
        split = urlsplit(raw_path)
        query = parse_qs(split.query, keep_blank_values=True)
        try:
            payload = json.loads(body) if body else None
        except ValueError:
            payload = ...
        with self._lock:
            self.requests.append(RecordedRequest(http_method, split.path, query, payload,
                                                 headers))
        found = _match(http_method, split.path)
        try:
            if found is None:
                raise _Reply(404, http=404, raw_body="")
            route, arg = found
            if headers.get("x-api-key") != self.api_key:
                raise _Reply(10)
            if payload is ...:
                raise _Reply(16)
            with self._lock:
                drop = take_next(self._drops.get(route.name, []))
                if drop is not None and not drop.after_work:
                    return None
                stall = self._stalls.get(route.name, 0.0)
            if stall:
                self._released.wait(stall)
                return None
            with self._lock:
                fault = take_next(self._faults.get(route.name, []))
                if fault is not None:
                    raise _Reply(fault.code, http=fault.code if fault.raw_body is not None
                                 else None, raw_body=fault.raw_body)
                params = {k: v[0] for k, v in query.items()}
                args = (payload if isinstance(payload, dict) else {},) if route.http_method == \
                    "POST" else (params,)
                data = route.handler(self, *args, *([arg] if route.arg else []))
                delay = self._delays.get(route.name, 0.0)
                gate = self._gate(route.name)
            if drop is not None:
                return None
        except _Reply as reply:
            if reply.raw_body is not None:
                return reply.http or 500, reply.raw_body
            return (reply.http or self.http_for_code.get(reply.code, 400),
                    _envelope(reply.code, None))
        if delay:
            self._released.wait(delay)
        self._wait_at(route.name, gate)
        return 200, _envelope(1, data)

    def _new_id(self) -> int:
        self._next_id += 1
        return self._next_id

    def _accept(self, line: Any, texts: list[Any], mobiles: list[Any], *,
                template_id: int | None = None,
                parameters: dict[str, str] | None = None) -> list[FakeMessage]:
        """Take a batch all or nothing, as SMS.ir refuses a call for one bad part of it (but
        blacklisted numbers, which "skip" leaves out)."""
        line = str(line or "")
        if line not in self.lines:
            raise _Reply(101)
        if not mobiles:
            raise _Reply(107)
        if not texts and template_id is None:
            raise _Reply(108)
        if len(mobiles) > 100:
            raise _Reply(105)
        if len(texts) > 100:
            raise _Reply(106)
        if len(texts) != len(mobiles):
            raise _Reply(110)
        mobiles, texts = [str(m) for m in mobiles], [str(t) for t in texts]
        if any(not t.strip() for t in texts):
            raise _Reply(103)
        if any(not _MOBILE.match(m) or _last10(m) in self.invalid_mobiles for m in mobiles):
            raise _Reply(104)
        # send/verify goes out on service lines: a blacklist of advertising SMS does not stop it.
        refused = {i for i, m in enumerate(mobiles) if _last10(m) in self.blacklist} \
            if template_id is None and self.blacklist_mode != "take" else set()
        if refused and (self.blacklist_mode == "refuse" or len(refused) == len(mobiles)):
            raise _Reply(115)
        mobiles = [m for i, m in enumerate(mobiles) if i not in refused]
        texts = [t for i, t in enumerate(texts) if i not in refused]
        parts = [count_segments(t).parts for t in texts]
        cost = sum(parts) * self.price_per_part
        if cost > self.credit:
            raise _Reply(102)
        self.credit -= cost
        pack_id, now = str(uuid.uuid4()), int(self._clock())
        taken = []
        for mobile, text, n in zip(mobiles, texts, parts, strict=True):
            msg = FakeMessage(self._new_id(), pack_id, mobile, text, line,
                              n * self.price_per_part, n, now, template_id, parameters,
                              state=self.pending_state)
            self._messages[msg.message_id] = msg
            taken.append(msg)
        return taken

    def _pack(self, taken: list[FakeMessage]) -> dict[str, Any]:
        return {"packId": taken[0].pack_id, "messageIds": [m.message_id for m in taken],
                "cost": float(sum((m.cost for m in taken), Decimal(0)))}

    def _bulk(self, body: dict[str, Any]) -> dict[str, Any]:
        mobiles = body.get("mobiles") or []
        if not isinstance(mobiles, list):
            raise _Reply(16)
        text = str(body.get("messageText") or "")
        return self._pack(self._accept(body.get("lineNumber"), [text] * len(mobiles), mobiles))

    def _like_to_like(self, body: dict[str, Any]) -> dict[str, Any]:
        return self._pack(self._accept(body.get("lineNumber"), body.get("messageTexts") or [],
                                       body.get("mobiles") or []))

    def _verify(self, body: dict[str, Any]) -> dict[str, Any]:
        template = self.templates.get(_int(body.get("templateId")) or -1)
        if template is None:
            raise _Reply(113)
        values = {}
        for param in body.get("parameters") or []:
            name, value = str(param.get("name") or ""), str(param.get("value") or "")
            if not name:
                raise _Reply(116)
            if len(value) > 25:
                raise _Reply(114)
            values[name] = value
        text = template
        for name, value in values.items():
            text = re.sub(f"#{re.escape(name)}#", value, text, flags=re.IGNORECASE)
        if "#" in text:
            raise _Reply(116)
        [msg] = self._accept(self.lines[0], [text], [body.get("mobile") or ""],
                             template_id=_int(body.get("templateId")), parameters=values)
        return {"messageId": msg.message_id, "cost": float(msg.cost)}

    def _report(self, params: dict[str, str], message_id: str) -> dict[str, Any] | None:
        msg = self._messages.get(_int(message_id) or -1)
        if msg is None:
            if self.unknown_id_answer == "111":
                raise _Reply(111)
            return None
        return self._poll(msg).report()

    def _pack_report(self, params: dict[str, str], pack_id: str) -> list[dict[str, Any]]:
        rows = [self._poll(m).report() for m in self._messages.values() if m.pack_id == pack_id]
        if not rows:
            raise _Reply(111)
        return rows

    def _live(self, params: dict[str, str]) -> list[dict[str, Any]]:
        """Today's sends, newest first (the fake's day never ends). Reading them here does not
        count as a delivery poll."""
        rows = sorted(self._messages.values(), key=lambda m: m.message_id, reverse=True)
        return [m.report() for m in _paged(rows, params)]

    def _poll(self, msg: FakeMessage) -> FakeMessage:
        if self.blacklist_mode == "take" and _last10(msg.mobile) in self.blacklist \
                and msg.template_id is None:
            msg.state = 7
            return msg
        outcome = self._outcome_for.get(_last10(msg.mobile), self._outcome)
        if outcome is None or msg.state in (1, 2, 4, 6, 7):
            return msg
        msg.polls += 1
        if msg.polls > outcome.after_polls:
            msg.state = outcome.state
        return msg

    def _receive_latest(self, params: dict[str, str]) -> list[dict[str, Any]]:
        count = _int(params.get("count")) or 100
        if not 1 <= count <= 100:
            raise _Reply(16)
        rows = [m for m in self._inbox if not m.read][:count]
        for m in rows:
            m.read = True  # "each received SMS comes back from this method only once"
        return [self._inbound(m, with_id=True) for m in rows]

    def _receive_live(self, params: dict[str, str]) -> list[dict[str, Any]]:
        rows = list(self._inbox)
        if params.get("mobile"):
            rows = [m for m in rows if _last10(m.mobile) == _last10(params["mobile"])]
        if params.get("sortByNewest", "false").lower() == "true":
            rows.reverse()
        return [self._inbound(m, with_id=self.live_has_ids) for m in _paged(rows, params)]

    def _inbound(self, m: FakeInbound, *, with_id: bool) -> dict[str, Any]:
        row = {"messageText": m.text, "number": int(m.line), "mobile": int(_last10(m.mobile)),
               "receivedDateTime": m.received_at}
        return {"receiveReturnId": m.receive_id} | row if with_id else row

    def _credit(self, params: dict[str, str]) -> float:
        return float(self.credit)

    def _lines(self, params: dict[str, str]) -> list[int]:
        return [int(n) for n in self.lines]

    def _cancel(self, params: dict[str, str], pack_id: str) -> dict[str, Any]:
        raise _Reply(112)  # the fake schedules nothing


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _paged(rows: list[Any], params: dict[str, str]) -> list[Any]:
    size = _int(params.get("pageSize")) or 100
    number = _int(params.get("pageNumber")) or 1
    if not 1 <= size <= 100 or number < 1:
        raise _Reply(16)
    return rows[(number - 1) * size:number * size]


def _envelope(status: int, data: Any) -> str:
    return json.dumps({"status": status, "message": _MESSAGES.get(status, "error"),
                       "data": data}, ensure_ascii=False)


def _add(pattern: str, route: _Route) -> None:
    _ROUTES.append((re.compile(f"^/v1/{pattern}/?$"), route))


_add("send/bulk", _Route("send/bulk", "POST", FakeSmsIr._bulk))
_add("send/likeToLike", _Route("send/likeToLike", "POST", FakeSmsIr._like_to_like))
_add("send/verify", _Route("send/verify", "POST", FakeSmsIr._verify))
_add("send/live", _Route("send/live", "GET", FakeSmsIr._live))
_add(r"send/pack/(?P<arg>[0-9a-fA-F-]+)",
     _Route("send/pack/{packId}", "GET", FakeSmsIr._pack_report, "packId"))
_add(r"send/scheduled/(?P<arg>[0-9a-fA-F-]+)",
     _Route("send/scheduled/{packId}", "DELETE", FakeSmsIr._cancel, "packId"))
_add(r"send/(?P<arg>\d+)", _Route("send/{messageId}", "GET", FakeSmsIr._report, "messageId"))
_add("receive/latest", _Route("receive/latest", "GET", FakeSmsIr._receive_latest))
_add("receive/live", _Route("receive/live", "GET", FakeSmsIr._receive_live))
_add("credit", _Route("credit", "GET", FakeSmsIr._credit))
_add("line", _Route("line", "GET", FakeSmsIr._lines))


def _match(http_method: str, path: str) -> tuple[_Route, str | None] | None:
    for pattern, route in _ROUTES:
        found = pattern.match(path)
        if found and route.http_method == http_method:
            return route, found.groupdict().get("arg")
    return None


def _route_name(http_method: str, path: str) -> str | None:
    found = _match(http_method, path)
    return found[0].name if found else None


