"""A fake MeliPayamak console API on loopback, speaking its wire format, for tests and local
development.

Stdlib only (ThreadingHTTPServer in a thread, HTTP/1.1 keep-alive). Paths carry the key as their
last segment (`/api/send/simple/{token}`), bodies are JSON, answers are `{recId|recIds, status}`,
`{results, resultsAsCode, status}`, `{messages, status}`, `{amount, status}`, as third-party
clients of the console API show them. What no source settled is a knob (UNCONFIRMED, see
docs/melipayamak.md), so tests can play either answer:

- a refusal's HTTP status: 200 or 400, the panel's code in the id slot either way —
  `refusal_http`;
- a bad number in a send/advanced: the whole call refused, or the other numbers taken and the
  code in that number's slot — `per_number_codes`;
- a number in the telecom blacklist: refused at send (35) or taken and reported 35 —
  `blacklist_at_send`;
- reading the inbox: marks what it returns read and hides it next time, or not —
  `inbox_consumes`;
- the outbox (receive/messages type "out") may not list a message yet — `list_outbox`;
- a recId receive/status does not know: its code — `unknown_code`.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import unquote, urlsplit

from app.loopback import Drop, LoopbackServer, keepalive_handler, take_next
from app.messaging.segments import count_segments

log = logging.getLogger(__name__)

DEFAULT_LINE = "50004000123456"
SHARED_LINE = "50002710000000"  # the service line pattern sends go out from
TEHRAN = timezone(timedelta(hours=3, minutes=30))
OK = "ارسال موفق بود"
# The panel's texts for the codes the fake gives (SendSms and the pattern send).
TEXTS = {0: "نام کاربری یا رمز عبور اشتباه است", 2: "اعتبار کافی نیست",
         5: "شماره فرستنده معتبر نیست", 6: "سامانه در حال بروزرسانی است",
         14: "امکان ارسال لینک از این خط وجود ندارد",
         15: "ارسال به چند شماره بدون درج «لغو11» امکان پذیر نیست",
         17: "متن پیام خالی است", 18: "شماره گیرنده نامعتبر است",
         35: "شماره گیرنده در لیست سیاه مخابرات است",
         -4: "کد متن صحیح نیست یا تایید نشده است", -5: "تعداد متغیرها با متن همخوانی ندارد"}
_HTTP_TEXTS = {401: "توکن نامعتبر است", 404: "یافت نشد", 429: "تعداد درخواست بیش از حد مجاز",
               500: "خطای داخلی", 502: "Bad Gateway", 503: "سرویس در دسترس نیست"}
# Delivery codes (resultsAsCode) of the payamak-panel family.
IN_QUEUE, DELIVERED, NOT_DELIVERED, TELECOM_ERROR, BLACKLIST = 0, 1, 2, 3, 35
OPT_OUT = "لغو11"


class _Reply(Exception):
    """Ends a call with this HTTP status and body (JSON object or raw text)."""

    def __init__(self, status: int, body: dict[str, Any] | str):
        super().__init__(status)
        self.status, self.body = status, body


@dataclass
class FakeMessage:
    rec_id: int
    receptor: str  # as it was sent (09…)
    text: str
    sender: str
    cost: int  # Rial
    sent_at: datetime
    body_id: int | None = None
    args: list[str] | None = None
    delivery: int | None = None  # final code once reported
    polls: int = 0


@dataclass
class FakeInbound:
    msg_id: int
    sender: str
    line: str
    text: str
    at: datetime
    read: bool = False


@dataclass
class RecordedRequest:
    http_method: str
    path: str  # with the key segment
    body: Any  # the parsed JSON body (None when there was none or it did not parse)
    headers: dict[str, str]


@dataclass
class _Fault:
    value: int  # the panel's code (< 100) or an HTTP status
    times: int
    raw_body: str | None


@dataclass
class _Outcome:
    code: int
    after_polls: int


@dataclass
class _State:
    """What the gateway holds; one lock guards it all."""

    messages: list[FakeMessage] = field(default_factory=list)
    inbox: list[FakeInbound] = field(default_factory=list)
    requests: list[RecordedRequest] = field(default_factory=list)
    faults: dict[str, list[_Fault]] = field(default_factory=lambda: defaultdict(list))
    drops: dict[str, list[Drop]] = field(default_factory=lambda: defaultdict(list))
    delays: dict[str, float] = field(default_factory=dict)
    stalls: dict[str, float] = field(default_factory=dict)
    outcome: _Outcome | None = None
    outcome_for: dict[str, _Outcome] = field(default_factory=dict)
    next_id: int = 4_120_700_000_000


class FakeMeliPayamak(LoopbackServer):
    name = "fake-melipayamak"

    def __init__(self, api_key: str = "test-token", port: int = 0, *, host: str = "127.0.0.1",
                 credit: int = 10_000_000, price_per_part: int = 1_150,
                 clock: Callable[[], float] = time.time):
        self.api_key = api_key
        self.credit = credit  # Rial
        self.price_per_part = price_per_part
        self.lines: set[str] = {DEFAULT_LINE}  # `from` values the account may use
        self.patterns: dict[int, int] = {1001: 1}  # bodyId → how many variables (%0, %1, ...)
        self.invalid_receptors: set[str] = set()  # 09… numbers refused with 18
        self.blacklisted: set[str] = set()        # 09… numbers in the telecom blacklist
        self.links_allowed = True       # False: a text with a link is refused (14)
        self.require_opt_out = False    # True: several numbers need «لغو11» in the text (15)
        self.refusal_http = 200         # or 400
        self.per_number_codes = False
        self.blacklist_at_send = False
        self.inbox_consumes = False
        self.list_outbox = True
        self.unknown_code = 100
        self._clock = clock
        self._lock = threading.RLock()
        self._state = _State()
        handler = keepalive_handler(self, methods=("GET", "POST"), name="fake melipayamak",
                                    log_line=lambda path, line: str(_method(urlsplit(path).path)))
        super().__init__(handler, host, port)

    @property
    def base_url(self) -> str:
        """Where the API lives, like https://console.melipayamak.com/api (the client's base)."""
        return f"{super().base_url}/api"


    # -- knobs for tests ------------------------------------------------------------------------

    def fail_next(self, method: str, code_or_http: int, *, times: int = 1,
                  raw_body: str | None = None) -> None:
        """Answer the next `times` calls of `method` (send/simple, send/advanced, send/shared,
        receive/status, receive/messages, receive/credit) without doing the work: a value under
        100 is the panel's code (a refusal, as `refusal_http` shapes it), else an HTTP status
        with `{"status": text}`; `raw_body` replaces the body."""
        with self._lock:
            self._state.faults[method].append(_Fault(code_or_http, times, raw_body))

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

    def set_outcome(self, code: int, *, after_polls: int = 0, receptor: str | None = None) -> None:
        """The delivery code (1 delivered, 2 not delivered, 3 telecom error, 35 blacklist, ...)
        reported from the (after_polls + 1)-th receive/status poll of a message on, for one
        receptor (09…) or all; before that it is 0 (in the queue)."""
        with self._lock:
            outcome = _Outcome(code, after_polls)
            if receptor is None:
                self._state.outcome = outcome
            else:
                self._state.outcome_for[receptor] = outcome

    def push_inbound(self, sender: str, text: str, *, line: str = DEFAULT_LINE) -> int:
        with self._lock:
            msg_id = self._new_id()
            self._state.inbox.append(FakeInbound(msg_id, sender, line, text, self._now()))
            return msg_id

    # -- what happened --------------------------------------------------------------------------

    @property
    def messages(self) -> list[FakeMessage]:
        with self._lock:
            return list(self._state.messages)

    def sent_to(self, receptor: str) -> list[FakeMessage]:
        with self._lock:
            return [m for m in self._state.messages if m.receptor == receptor]

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._state.requests)

    def calls(self, method: str) -> list[RecordedRequest]:
        with self._lock:
            return [r for r in self._state.requests if _method(r.path) == method]

    # -- the API --------------------------------------------------------------------------------

    def handle(self, http_method: str, raw_path: str, raw_body: bytes,
               headers: dict[str, str]) -> tuple[int, str] | None:
        """One HTTP call → (status, body), or None: close without answering."""
        path = urlsplit(raw_path).path
        try:
            body = json.loads(raw_body) if raw_body else None
        except ValueError:
            body = None
        name = _method(path) or ""
        with self._lock:
            self._state.requests.append(RecordedRequest(http_method, path, body, headers))
        try:
            route = _ROUTES.get(name)
            if route is None or http_method != route[0]:
                raise _Reply(404, {"status": _HTTP_TEXTS[404]})
            if unquote(path.rsplit("/", 1)[-1]) != self.api_key:
                raise _Reply(401, {"status": _HTTP_TEXTS[401]})
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
                answer = route[1](self, body if isinstance(body, dict) else {})
                delay = self._state.delays.get(name, 0.0)
                gate = self._gate(name)
            if drop is not None:
                return None
        except _Reply as reply:
            text = reply.body if isinstance(reply.body, str) else json.dumps(reply.body,
                                                                            ensure_ascii=False)
            return reply.status, text
        if delay:
            self._released.wait(delay)
        self._wait_at(name, gate)
        return 200, json.dumps(answer, ensure_ascii=False)

    def _inject_fault(self, name: str) -> None:
        fault = take_next(self._state.faults.get(name, []))
        if fault is None:
            return
        if fault.raw_body is not None:
            raise _Reply(fault.value, fault.raw_body)
        if fault.value >= 100:
            raise _Reply(fault.value, {"status": _HTTP_TEXTS.get(fault.value, "خطا")})
        self._refuse(name, fault.value)

    def _refuse(self, name: str, code: int) -> None:
        raise self._refusal(name, code)

    def _refusal(self, name: str, code: int) -> _Reply:
        """The panel's refusal with `code` in the call's id slot (none for a question)."""
        text = TEXTS.get(code, f"خطای {code}")
        slot: dict[str, Any] = {"recIds": [code]} if name == "send/advanced" else {"recId": code}
        if not name.startswith("send/"):
            slot = {}
        return _Reply(self.refusal_http, slot | {"status": text})

    def _new_id(self) -> int:
        self._state.next_id += 1
        return self._state.next_id

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), TEHRAN).replace(tzinfo=None,
                                                                     microsecond=0)

    # -- sends ----------------------------------------------------------------------------------

    def _send_simple(self, body: dict[str, Any]) -> dict[str, Any]:
        [rec_id] = self._take_numbers("send/simple", body, [str(body.get("to") or "")])
        return {"recId": rec_id, "status": OK}

    def _send_advanced(self, body: dict[str, Any]) -> dict[str, Any]:
        to = body.get("to")
        if not isinstance(to, list) or not to:
            raise _Reply(400, _problem("to"))
        return {"recIds": self._take_numbers("send/advanced", body, [str(t) for t in to]),
                "status": OK}

    def _take_numbers(self, name: str, body: dict[str, Any], to: list[str]) -> list[int]:
        sender, text = body.get("from"), body.get("text")
        if not isinstance(sender, str) or not isinstance(text, str):
            raise _Reply(400, _problem("from" if not isinstance(sender, str) else "text"))
        if sender not in self.lines:
            self._refuse(name, 5)
        if not text.strip():
            self._refuse(name, 17)
        if not self.links_allowed and ("http://" in text or "https://" in text
                                       or "www." in text):
            self._refuse(name, 14)
        if self.require_opt_out and len(to) > 1 and OPT_OUT not in text:
            self._refuse(name, 15)
        codes = [self._number_code(r) for r in to]
        if any(codes) and not (self.per_number_codes and len(to) > 1 and not all(codes)):
            self._refuse(name, next(c for c in codes if c))
        parts = count_segments(text).parts
        taken = [r for r, c in zip(to, codes, strict=True) if not c]
        if parts * self.price_per_part * len(taken) > self.credit:
            self._refuse(name, 2)
        ids = [c or self._keep(r, text, sender, parts).rec_id
               for r, c in zip(to, codes, strict=True)]
        return ids

    def _number_code(self, receptor: str) -> int | None:
        if not (len(receptor) == 11 and receptor.startswith("09") and receptor.isdigit()) \
                or receptor in self.invalid_receptors:
            return 18
        if receptor in self.blacklisted and self.blacklist_at_send:
            return BLACKLIST
        return None

    def _keep(self, receptor: str, text: str, sender: str, parts: int, *,
              body_id: int | None = None, args: list[str] | None = None) -> FakeMessage:
        cost = parts * self.price_per_part
        self.credit -= cost
        message = FakeMessage(self._new_id(), receptor, text, sender, cost, self._now(),
                              body_id, args)
        self._state.messages.append(message)
        return message

    def _send_shared(self, body: dict[str, Any]) -> dict[str, Any]:
        to, body_id, args = body.get("to"), body.get("bodyId"), body.get("args")
        if not isinstance(body_id, int) or not isinstance(args, list):
            raise _Reply(400, _problem("bodyId" if not isinstance(body_id, int) else "args"))
        if not isinstance(to, str) or "," in to:
            raise self._refusal("send/shared", -2)
        if body_id not in self.patterns:
            self._refuse("send/shared", -4)
        if len(args) != self.patterns[body_id]:
            self._refuse("send/shared", -5)
        code = self._number_code(to)
        if code:
            self._refuse("send/shared", code)
        text = " ".join(str(a) for a in args)
        parts = count_segments(text).parts
        if parts * self.price_per_part > self.credit:
            self._refuse("send/shared", 2)
        message = self._keep(to, text, SHARED_LINE, parts, body_id=body_id,
                             args=[str(a) for a in args])
        return {"recId": message.rec_id, "status": OK}

    # -- questions ------------------------------------------------------------------------------

    def _poll(self, message: FakeMessage) -> int:
        if message.delivery is not None:
            return message.delivery
        if message.receptor in self.blacklisted:
            message.delivery = BLACKLIST
            return BLACKLIST
        outcome = self._state.outcome_for.get(message.receptor, self._state.outcome)
        if outcome is None:
            return IN_QUEUE
        message.polls += 1
        if message.polls <= outcome.after_polls:
            return IN_QUEUE
        message.delivery = outcome.code
        return outcome.code

    def _status(self, body: dict[str, Any]) -> dict[str, Any]:
        rec_ids = body.get("recIds")
        if not isinstance(rec_ids, list):
            raise _Reply(400, _problem("recIds"))
        by_id = {m.rec_id: m for m in self._state.messages}
        codes = [self._poll(by_id[i]) if (i := _opt_int(r)) in by_id else self.unknown_code
                 for r in rec_ids]
        return {"results": [_DELIVERY_TEXTS.get(c, "نامشخص") for c in codes],
                "resultsAsCode": codes, "status": ""}

    def _messages(self, body: dict[str, Any]) -> dict[str, Any]:
        kind, number = body.get("type"), str(body.get("number") or "")
        index, count = _opt_int(body.get("index")) or 0, _opt_int(body.get("count")) or 100
        if kind == "in":
            rows = [m for m in reversed(self._state.inbox)
                    if (not number or m.line == number)
                    and not (self.inbox_consumes and m.read)][index:index + count]
            if self.inbox_consumes:
                for m in rows:
                    m.read = True
            return {"messages": [{"msgID": m.msg_id, "body": m.text, "sender": m.sender,
                                  "receiver": m.line, "sendDate": m.at.isoformat(),
                                  "isRead": m.read} for m in rows], "status": ""}
        if kind == "out":
            sent = [m for m in reversed(self._state.messages)
                    if self.list_outbox and (not number or m.sender == number)]
            return {"messages": [{"msgID": m.rec_id, "body": m.text, "sender": m.sender,
                                  "receiver": m.receptor, "sendDate": m.sent_at.isoformat()}
                                 for m in sent[index:index + count]], "status": ""}
        raise _Reply(400, _problem("type"))

    def _credit(self, body: dict[str, Any]) -> dict[str, Any]:
        return {"amount": float(self.credit), "status": ""}


_DELIVERY_TEXTS = {0: "در صف ارسال", 1: "رسیده به گوشی", 2: "نرسیده به گوشی",
                   3: "خطای مخابراتی", 8: "رسیده به مخابرات", 35: "لیست سیاه",
                   100: "نامشخص"}

_Route = Callable[[FakeMeliPayamak, dict[str, Any]], dict[str, Any]]
_ROUTES: dict[str, tuple[str, _Route]] = {
    "send/simple": ("POST", FakeMeliPayamak._send_simple),
    "send/advanced": ("POST", FakeMeliPayamak._send_advanced),
    "send/shared": ("POST", FakeMeliPayamak._send_shared),
    "receive/status": ("POST", FakeMeliPayamak._status),
    "receive/messages": ("POST", FakeMeliPayamak._messages),
    "receive/credit": ("GET", FakeMeliPayamak._credit),
}


def _method(path: str) -> str | None:
    """The knob name of a call: /api/send/simple/{token} → "send/simple"."""
    parts = path.strip("/").split("/")
    if len(parts) == 4 and parts[0] == "api":
        return f"{parts[1]}/{parts[2]}"
    return None


def _problem(name: str) -> dict[str, Any]:
    """ASP.NET's validation answer for a missing or mistyped field."""
    return {"type": "https://tools.ietf.org/html/rfc9110#section-15.5.1",
            "title": "One or more validation errors occurred.", "status": 400,
            "errors": {name: [f"The {name} field is required."]}}


def _opt_int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None

