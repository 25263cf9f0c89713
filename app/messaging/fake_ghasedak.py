"""A fake Ghasedak on loopback, speaking its REST wire format, for tests and local development.

Stdlib only (ThreadingHTTPServer in a thread, HTTP/1.1 keep-alive). The wire: JSON bodies, the
key in the `ApiKey` header, every answer the envelope `{isSuccess, statusCode, message, data}`,
a refusal with `isSuccess: false` and the same HTTP status. Tests drive it through Python
methods: fail, delay, stall or drop calls, refuse numbers, choose delivery statuses (in
Ghasedak's own codes), push inbound texts, and read back what was sent.

What no source settled is a knob, so tests can play either answer:
- `dedupe_references`: whether a clientReferenceId offered again returns the earlier message
  (True) or sends a second SMS (False, the default: the worse case);
- the error codes for a refused number (400) and for too little credit (402) are our guesses.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qs, urlsplit

from app.loopback import Drop, LoopbackServer, keepalive_handler, take_next
from app.messaging.segments import count_segments

log = logging.getLogger(__name__)

API_PATH = "/Rest/api/v1/WebService"
DEFAULT_LINE = "30005006"
_ROUTE = re.compile(r"^/rest/api/v1/webservice/(?P<method>[a-z]+)/?$", re.IGNORECASE)
_MOBILE = re.compile(r"^(\+98|0098|98|0)?9\d{9}$")
_TEHRAN = timezone(timedelta(hours=3, minutes=30))
# Final in the python SDK's SendStatus: rejected, debug mode, internal failed, cancelled,
# internal blacklisted, blacklisted, not delivered, delivered, blocked, failed.
_FINAL = frozenset({1, 5, 6, 7, 8, 12, 13, 14, 15, 16})
TO_BE_SENT, SENT_TO_PROVIDER, BLACKLISTED, DELIVERED = 2, 10, 12, 14
# The real service answers in Persian; English here keeps test failures readable.
_ERROR_TEXT = {400: "invalid request", 401: "invalid ApiKey", 402: "insufficient credit",
               404: "not found", 405: "method not allowed", 500: "internal error"}
INVALID_RECEPTOR, NO_CREDIT = 400, 402


class _Reply(Exception):
    """Ends a call with this code (the envelope's statusCode and the HTTP status) or a raw body."""

    def __init__(self, code: int, message: str | None = None, raw_body: str | None = None):
        super().__init__(code)
        self.code, self.raw_body = code, raw_body
        self.message = message or _ERROR_TEXT.get(code, "error")


@dataclass
class FakeMessage:
    message_id: str
    receptor: str
    message: str
    line_number: str
    reference: str | None
    cost: int   # Rial
    parts: int
    status: int  # Ghasedak's SendStatus code, as the last poll reported it
    send_date: datetime
    polls: int = 0
    template: str | None = None  # SendOtpSMS: the template and the inputs that filled it
    inputs: dict[str, str] | None = None

    def report(self) -> dict[str, Any]:
        return {"messageId": self.message_id, "clientReferenceId": self.reference,
                "message": self.message, "lineNumber": self.line_number,
                "receptor": self.receptor, "status": self.status, "price": self.cost,
                "sendDate": self.send_date.replace(tzinfo=None).isoformat()}

    def sent(self) -> dict[str, Any]:
        return {"lineNumber": self.line_number, "receptor": self.receptor,
                "messageId": self.message_id, "cost": self.cost,
                "clientReferenceId": self.reference, "message": self.message,
                "sendDate": self.send_date.isoformat()}


@dataclass
class Inbound:
    id: int
    message: str
    sender: str
    line_number: str
    receive_date: datetime
    read: bool = False


@dataclass
class RecordedRequest:
    http_method: str
    method: str                       # the API method, as the route names it (SendSingleSMS)
    query: dict[str, list[str]]
    body: Any                         # the JSON body, parsed (None for a GET)
    headers: dict[str, str]


@dataclass
class _Fault:
    code: int
    times: int
    receptor: str | None
    raw_body: str | None


@dataclass
class _Outcome:
    status: int
    after_polls: int


class FakeGhasedak(LoopbackServer):
    name = "fake-ghasedak"

    def __init__(self, api_key: str = "test-key", port: int = 0, *, host: str = "127.0.0.1",
                 credit: int = 10_000_000, price_per_part: int = 840,
                 dedupe_references: bool = False):
        self.api_key = api_key
        self.credit = credit  # Rial
        self.price_per_part = price_per_part
        self.dedupe_references = dedupe_references
        self.initial_status = TO_BE_SENT
        # name → text with %Param% placeholders (as GetOtpTemplateParameters shows them)
        self.templates: dict[str, str] = {"verify": "کد تایید شما %Code% می باشد"}
        self.invalid_receptors: set[str] = set()  # refused at send (400): the whole call fails
        self.blacklisted: set[str] = set()  # taken, then reported 12 (blacklisted) at once
        self.requests: list[RecordedRequest] = []
        self.answers: Counter[int] = Counter()
        self._lock = threading.RLock()
        self._messages: dict[str, FakeMessage] = {}
        self._inbox: list[Inbound] = []
        self._next_id = 5_000_000
        self._faults: dict[str, list[_Fault]] = defaultdict(list)
        self._drops: dict[str, list[Drop]] = defaultdict(list)
        self._delays: dict[str, float] = {}
        self._stalls: dict[str, float] = {}
        self._outcome: _Outcome | None = None
        self._outcome_for: dict[str, _Outcome] = {}
        handler = keepalive_handler(self, methods=("GET", "POST", "PUT"), name="fake ghasedak")
        super().__init__(handler, host, port)

    @property
    def base_url(self) -> str:
        """Where a client points: the web service's root, as on gw.ghasedak.me."""
        return f"{self.root_url}{API_PATH}"

    @property
    def root_url(self) -> str:
        return super().base_url


    # -- knobs for tests -----------------------------------------------------------------------

    def fail_next(self, method: str, code: int, *, times: int = 1, receptor: str | None = None,
                  raw_body: str | None = None) -> None:
        """Refuse the next `times` calls of `method` ("SendPairToPairSMS") with the envelope's
        statusCode `code` (and that HTTP status), only calls naming `receptor` if given;
        `raw_body` replaces the envelope (a proxy's page)."""
        with self._lock:
            self._faults[method.lower()].append(_Fault(code, times, receptor, raw_body))

    def drop_next(self, method: str, *, after_work: bool = False, times: int = 1) -> None:
        """Close the connection of the next `times` calls of `method` without answering, before
        doing the work (nothing happened) or after it (it happened; the client cannot know)."""
        with self._lock:
            self._drops[method.lower()].append(Drop(times, after_work))

    def delay(self, method: str, seconds: float) -> None:
        """Hold answers of `method` this long AFTER doing the work."""
        with self._lock:
            self._delays[method.lower()] = seconds

    def stall(self, method: str, seconds: float) -> None:
        """Hold calls of `method` this long WITHOUT doing the work, then close the connection."""
        with self._lock:
            self._stalls[method.lower()] = seconds

    def set_outcome(self, status: int, *, after_polls: int = 0,
                    receptor: str | None = None) -> None:
        """The status (Ghasedak's code) reported from the (after_polls + 1)-th poll on, for one
        receptor or for all. Without one, messages keep `initial_status`."""
        with self._lock:
            outcome = _Outcome(status, after_polls)
            if receptor is None:
                self._outcome = outcome
            else:
                self._outcome_for[receptor] = outcome

    def push_inbound(self, sender: str, text: str, *, line: str = DEFAULT_LINE,
                     when: datetime | None = None) -> int:
        with self._lock:
            self._next_id += 1
            self._inbox.append(Inbound(self._next_id, text, sender, line,
                                       when or datetime(2026, 1, 1, 12, 0, tzinfo=_TEHRAN)))
            return self._next_id

    # -- what happened -------------------------------------------------------------------------

    @property
    def messages(self) -> list[FakeMessage]:
        with self._lock:
            return list(self._messages.values())

    def sends_with_reference(self, reference: str) -> int:
        """How many SMS really went out under this clientReferenceId."""
        with self._lock:
            return sum(1 for m in self._messages.values() if m.reference == reference)

    def calls(self, method: str) -> list[RecordedRequest]:
        with self._lock:
            return [r for r in self.requests if r.method.lower() == method.lower()]

    # -- the API -------------------------------------------------------------------------------

    def handle(self, http_method: str, raw_path: str, raw_body: bytes,
               headers: dict[str, str]) -> tuple[int, str] | None:
        """One HTTP call → (status, body), or None: close without answering."""
        split = urlsplit(raw_path)
        query = parse_qs(split.query, keep_blank_values=True)
        match = _ROUTE.match(split.path)
        method = match["method"] if match else split.path
        try:
            body = json.loads(raw_body) if raw_body else None
        except ValueError:
            body = _MALFORMED
        with self._lock:
            self.requests.append(RecordedRequest(http_method, method, query, body, headers))
        name = method.lower()
        try:
            if not match or name not in _ROUTES:
                raise _Reply(404)
            if _header(headers, "ApiKey") != self.api_key:
                raise _Reply(401)
            route_method, route = _ROUTES[name]
            if http_method != route_method:
                raise _Reply(405)
            if body is _MALFORMED:
                raise _Reply(400, "malformed JSON")
            with self._lock:
                drop = take_next(self._drops.get(name, []))
                if drop is not None and not drop.after_work:
                    return None
                stall = self._stalls.get(name, 0.0)
            if stall:
                self._released.wait(stall)
                return None
            with self._lock:
                self._inject_fault(name, body)
                data = route(self, _Params(query), _lower_keys(body))
                delay = self._delays.get(name, 0.0)
                gate = self._gate(method)
            if drop is not None:
                return None
        except _Reply as reply:
            with self._lock:
                self.answers[reply.code] += 1
            if reply.raw_body is not None:
                return reply.code, reply.raw_body
            return reply.code, _envelope(False, reply.code, reply.message, None)
        if delay:
            self._released.wait(delay)
        self._wait_at(method, gate)
        with self._lock:
            self.answers[200] += 1
        return 200, _envelope(True, 200, "", data)

    def _inject_fault(self, name: str, body: Any) -> None:
        named = set(_receptors(body))
        for fault in self._faults.get(name, []):
            if fault.times > 0 and (fault.receptor is None or fault.receptor in named):
                fault.times -= 1
                raise _Reply(fault.code, raw_body=fault.raw_body)

    def _accept(self, batch: list[tuple[str, str, str, str | None]], *,
                template: str | None = None,
                inputs: dict[str, str] | None = None) -> list[FakeMessage]:
        """Take (receptor, text, line, reference) messages all-or-nothing."""
        for receptor, text, _, _ in batch:
            if not _MOBILE.match(receptor) or receptor in self.invalid_receptors:
                raise _Reply(INVALID_RECEPTOR, f"invalid receptor {receptor}")
            if not text.strip():
                raise _Reply(400, "message is empty")
        # With dedupe on, a reference seen before (earlier, or in this very batch) is the
        # message it named then.
        earlier = [self._by_reference(ref) if self.dedupe_references else None
                   for _, _, _, ref in batch]
        parts = [count_segments(text).parts for _, text, _, _ in batch]
        cost = sum(p for p, e in zip(parts, earlier, strict=True) if e is None) \
            * self.price_per_part
        if cost > self.credit:
            raise _Reply(NO_CREDIT)
        taken: list[FakeMessage] = []
        for (receptor, text, line, reference), n, known in zip(batch, parts, earlier,
                                                               strict=True):
            known = known or (self._by_reference(reference) if self.dedupe_references else None)
            if known is not None:
                taken.append(known)
                continue
            self._next_id += 1
            msg = FakeMessage(str(self._next_id), receptor, text, line, reference,
                              n * self.price_per_part, n, self.initial_status,
                              datetime(2026, 1, 1, 12, 0, tzinfo=_TEHRAN),
                              template=template, inputs=inputs)
            self.credit -= msg.cost
            self._messages[msg.message_id] = msg
            taken.append(msg)
        return taken

    def _by_reference(self, reference: str | None) -> FakeMessage | None:
        if reference is None:
            return None
        return next((m for m in self._messages.values() if m.reference == reference), None)

    def _send_single(self, query: _Params, body: dict[str, Any]) -> dict[str, Any]:
        receptor, text = body.get("receptor"), body.get("message")
        if not isinstance(receptor, str) or not isinstance(text, str):
            raise _Reply(400, "receptor and message are required")
        [msg] = self._accept([(receptor, text, str(body.get("linenumber") or DEFAULT_LINE),
                               _opt_str(body.get("clientreferenceid")))])
        return msg.sent()

    def _send_pair(self, query: _Params, body: dict[str, Any]) -> dict[str, Any]:
        items = body.get("items")
        if not isinstance(items, list) or not items:
            raise _Reply(400, "items are required")
        batch = []
        for raw in items:
            item = _lower_keys(raw)
            if not all(isinstance(item.get(k), str) for k in ("linenumber", "receptor", "message")):
                raise _Reply(400, "lineNumber, receptor and message are required")
            batch.append((item["receptor"], item["message"], item["linenumber"],
                          _opt_str(item.get("clientreferenceid"))))
        return {"items": [m.sent() for m in self._accept(batch)]}

    def _send_otp(self, query: _Params, body: dict[str, Any]) -> dict[str, Any]:
        receptors = body.get("receptors")
        template = self.templates.get(str(body.get("templatename")))
        if not isinstance(receptors, list) or not receptors:
            raise _Reply(400, "receptors are required")
        if template is None:
            raise _Reply(400, "template not found")
        inputs = {str(_lower_keys(i).get("param")): str(_lower_keys(i).get("value"))
                  for i in body.get("inputs") or []}
        needed = set(re.findall(r"%(\w+)%", template))
        if needed - set(inputs) or set(inputs) - needed:
            raise _Reply(400, f"the template takes {sorted(needed)}")
        text = re.sub(r"%(\w+)%", lambda m: inputs[m[1]], template)
        batch = [(str(_lower_keys(r).get("mobile")), text, DEFAULT_LINE,
                  _opt_str(_lower_keys(r).get("clientreferenceid"))) for r in receptors]
        taken = self._accept(batch, template=str(body.get("templatename")), inputs=inputs)
        items = [{"messageBody": m.message} | m.sent() for m in taken]
        return {"items": items, "totalCost": sum(m.cost for m in taken)}

    def _status(self, query: _Params, body: dict[str, Any]) -> list[dict[str, Any]]:
        ids = [i.strip() for v in query.all("ids") for i in v.split(",") if i.strip()]
        kind = query.one("type")
        if not ids or kind not in ("1", "2"):
            raise _Reply(400, "Ids and Type (1 or 2) are required")
        if len(ids) > 100:
            raise _Reply(400, "at most 100 ids")
        wanted = set(ids)
        found = [m for m in self._messages.values()
                 if (m.message_id if kind == "1" else m.reference) in wanted]
        return [self._poll(m).report() for m in found]

    def _poll(self, msg: FakeMessage) -> FakeMessage:
        if msg.receptor in self.blacklisted:
            msg.status = BLACKLISTED
            return msg
        outcome = self._outcome_for.get(msg.receptor, self._outcome)
        if msg.status in _FINAL or outcome is None:
            return msg
        msg.polls += 1
        if msg.polls > outcome.after_polls:
            msg.status = outcome.status
        return msg

    def _received(self, query: _Params, body: dict[str, Any]) -> dict[str, Any]:
        line, is_read = query.one("linenumber"), (query.one("isread") or "false").lower()
        if not line or is_read not in ("true", "false", "0", "1"):
            raise _Reply(400, "LineNumber and IsRead are required")
        want_read = is_read in ("true", "1")
        rows = [m for m in self._inbox if m.line_number == line and m.read == want_read][-100:]
        for m in rows:
            m.read = True  # the documentation: what an answer carries is marked read
        return {"items": [{"id": m.id, "message": m.message, "sender": m.sender,
                           "lineNumber": m.line_number,
                           "receiveDate": m.receive_date.isoformat()} for m in rows]}

    def _account(self, query: _Params, body: dict[str, Any]) -> dict[str, Any]:
        return {"credit": self.credit, "expireDate": "2027-01-01T00:00:00", "plan": "gold"}

    def _template_parameters(self, query: _Params, body: dict[str, Any]) -> dict[str, Any]:
        template = self.templates.get(query.one("templatename") or "")
        if template is None:
            raise _Reply(400, "template not found")
        return {"params": re.findall(r"%(\w+)%", template), "message": template}


_MALFORMED = object()


class _Params:
    """A query string read case-insensitively, as ASP.NET binds it."""

    def __init__(self, query: dict[str, list[str]]):
        self._query = {k.lower(): v for k, v in query.items()}

    def all(self, name: str) -> list[str]:
        return self._query.get(name, [])

    def one(self, name: str) -> str | None:
        values = self._query.get(name)
        return values[0] if values else None


_ROUTES: dict[str, tuple[str, Any]] = {
    "sendsinglesms": ("POST", FakeGhasedak._send_single),
    "sendpairtopairsms": ("POST", FakeGhasedak._send_pair),
    "sendotpsms": ("POST", FakeGhasedak._send_otp),
    "checksmsstatus": ("GET", FakeGhasedak._status),
    "getreceivedsmses": ("GET", FakeGhasedak._received),
    "getaccountinformation": ("GET", FakeGhasedak._account),
    "getotptemplateparameters": ("GET", FakeGhasedak._template_parameters),
}


def _envelope(success: bool, code: int, message: str, data: Any) -> str:
    return json.dumps({"isSuccess": success, "statusCode": code, "message": message,
                       "data": data}, ensure_ascii=False)


def _header(headers: dict[str, str], name: str) -> str | None:
    return next((v for k, v in headers.items() if k.lower() == name.lower()), None)


def _lower_keys(raw: Any) -> dict[str, Any]:
    return {str(k).lower(): v for k, v in raw.items()} if isinstance(raw, dict) else {}


def _opt_str(value: Any) -> str | None:
    return None if value in (None, "") else str(value)


def _receptors(body: Any) -> list[str]:
    data = _lower_keys(body)
    found = [data["receptor"]] if isinstance(data.get("receptor"), str) else []
    for item in data.get("items") or []:
        found.append(str(_lower_keys(item).get("receptor")))
    for item in data.get("receptors") or []:
        found.append(str(_lower_keys(item).get("mobile")))
    return found

