"""A fake Kavenegar on loopback, speaking the real wire format, for tests and local development.

Stdlib only (ThreadingHTTPServer in a thread, HTTP/1.1 keep-alive), so it needs nothing the app
does not already have. Tests drive it through Python methods: fail, delay or drop calls, refuse
numbers, choose final delivery statuses, push inbound texts, and read back what was sent.
Behaviour we could not confirm about the real gateway (dedupe window, the 419 for mismatched
localids on sms/send, localid dedupe on sendarray) is marked where it lives.
"""

from __future__ import annotations

import json
import logging
import random
import re
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from app.loopback import Drop, LoopbackServer, keepalive_handler, take_next
from app.messaging.kavenegar import redact
from app.messaging.segments import count_segments

log = logging.getLogger(__name__)

DEFAULT_LINE = "10004346"
_ROUTE = re.compile(r"^/v1/(?P<key>[^/]+)/(?P<scope>[a-z]+)/(?P<method>[a-z]+)\.json/?$")
_MOBILE = re.compile(r"^(\+98|0098|98|0)?9\d{9}$")
_STATUS_TEXT = {1: "در صف ارسال", 2: "زمان بندی شده", 4: "ارسال به مخابرات", 5: "ارسال به مخابرات",
                6: "خطا در ارسال", 10: "رسیده به گیرنده", 11: "نرسیده به گیرنده", 13: "لغو شده",
                14: "بلاک شده", 100: "شناسه نامعتبر"}
_FINAL = frozenset({6, 10, 11, 13, 14, 100})
# The real gateway answers in Persian; English here keeps test failures readable.
_ERROR_TEXT = {400: "incomplete parameters", 403: "invalid API key", 404: "unknown method",
               405: "wrong GET/POST", 406: "required parameters empty", 411: "invalid receptor",
               413: "message empty or too long", 414: "too many records",
               418: "insufficient credit", 419: "array lengths differ",
               424: "template not found or not approved", 431: "invalid token structure",
               432: "template has no %token"}
# verify/lookup: spaces each token may hold and its length (Kavenegar's documentation as the node
# SDK quotes it; our client is stricter where sources disagree, see kavenegar.LOOKUP_TOKEN_SPACES).
_TOKEN_SPACES = {"token": 0, "token2": 0, "token3": 0, "token10": 5, "token20": 8}
_TOKEN_CHARS = 100


class _Reply(Exception):
    """Ends a call with this code (and the standard envelope) or a raw body."""

    def __init__(self, code: int, message: str | None = None, raw_body: str | None = None):
        super().__init__(code)
        self.code, self.message, self.raw_body = code, message or _ERROR_TEXT.get(code, "error"), raw_body


@dataclass
class FakeMessage:
    messageid: int
    receptor: str
    message: str
    sender: str
    localid: int | None
    date: int
    cost: int
    parts: int
    status: int   # what the last status poll reported (1 queued, 2 scheduled, ...)
    polls: int = 0
    template: str | None = None  # verify/lookup: the template and the tokens that filled it
    tokens: dict[str, str] | None = None
    accepted_at: float = 0.0  # the clock when it was taken (date is whole seconds)

    def record(self) -> dict[str, Any]:
        """Everything known about it, for another process (GET /_fake/messages)."""
        return {"messageid": self.messageid, "receptor": self.receptor, "message": self.message,
                "sender": self.sender, "localid": self.localid, "date": self.date,
                "accepted_at": self.accepted_at, "cost": self.cost, "parts": self.parts,
                "status": self.status, "template": self.template}

    def entry(self) -> dict[str, Any]:
        return {"messageid": self.messageid, "message": self.message, "status": self.status,
                "statustext": _STATUS_TEXT.get(self.status, ""), "sender": self.sender,
                "receptor": self.receptor, "date": self.date, "cost": self.cost}


@dataclass
class Inbound:
    messageid: int
    message: str
    sender: str
    receptor: str
    date: int
    read: bool = False


@dataclass
class RecordedRequest:
    http_method: str
    path: str              # with the key, as received: tests compare clients on it
    form: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes


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


_CHAOS_KINDS = ("fail", "drop", "timeout")


@dataclass
class _Chaos:
    rate: float
    timeout: float
    rng: random.Random
    mix: dict[str, float] | None = None  # kind → its share of the calls; None: in turn


class FakeKavenegar(LoopbackServer):
    name = "fake-kavenegar"

    def __init__(self, api_key: str = "test-key", port: int = 0, *, host: str = "127.0.0.1",
                 credit: int = 10_000_000, price_per_part: int = 1_200,
                 clock: Callable[[], float] = time.time, control: bool = False):
        self.api_key = api_key
        self.control = control  # serve the /_fake/ debug API (another process drives it)
        self.credit = credit
        self.price_per_part = price_per_part  # Rial; Persian costs more through more parts
        self.entries_as_object = False  # answer single-entry results as an object, not a list
        self.templates: dict[str, str] = {"verify": "کد تایید شما: %token"}
        # Numbers the gateway refuses (411): a batch naming one is refused as a whole.
        self.invalid_receptors: set[str] = set()
        self.requests: list[RecordedRequest] = []
        self._clock = clock
        self._lock = threading.RLock()
        self._messages: dict[int, FakeMessage] = {}
        self._by_localid: dict[int, int] = {}
        self._sends_per_localid: Counter[int] = Counter()
        # A localid offered again after it was taken: without the dedupe, a second SMS.
        self.resubmitted: Counter[int] = Counter()
        self._inbox: list[Inbound] = []
        self._next_id = 1_000_000
        self._faults: dict[str, list[_Fault]] = defaultdict(list)
        self._drops: dict[str, list[Drop]] = defaultdict(list)
        self._delays: dict[str, float] = {}
        self._stalls: dict[str, float] = {}
        self._outcome: _Outcome | None = None
        self._outcome_for: dict[str, _Outcome] = {}
        self._chaos: _Chaos | None = None
        self.chaos_counts: Counter[str] = Counter()
        self.answers: Counter[int] = Counter()  # API calls by the status they were answered with
        handler = keepalive_handler(self, methods=("GET", "POST"), name="fake kavenegar",
                                    log_line=lambda path, line: redact(line, self.api_key))
        super().__init__(handler, host, port)


    # -- knobs for tests -----------------------------------------------------------------------

    def fail_next(self, method: str, code: int, *, times: int = 1, receptor: str | None = None,
                  raw_body: str | None = None) -> None:
        """Answer the next `times` calls of `method` ("sms/send") with `code` (HTTP status too),
        only calls naming `receptor` if given; `raw_body` replaces the JSON envelope."""
        with self._lock:
            self._faults[method].append(_Fault(code, times, receptor, raw_body))

    def drop_next(self, method: str, *, after_work: bool = False, times: int = 1) -> None:
        """Close the connection of the next `times` calls of `method` without answering, before
        doing the work (nothing happened) or after it (it happened; the client cannot know)."""
        with self._lock:
            self._drops[method].append(Drop(times, after_work))

    def delay(self, method: str, seconds: float) -> None:
        """Hold answers of `method` this long AFTER doing the work: a client that times out
        meanwhile has sent for real without knowing it (the ambiguous case)."""
        with self._lock:
            self._delays[method] = seconds

    def stall(self, method: str, seconds: float) -> None:
        """Hold calls of `method` this long WITHOUT doing the work, then close the connection: a
        gateway too busy to take the request (the client times out, and nothing happened)."""
        with self._lock:
            self._stalls[method] = seconds

    def set_outcome(self, status: int, *, after_polls: int = 0, receptor: str | None = None) -> None:
        """Final delivery status reported from the (after_polls + 1)-th status poll on, for one
        receptor or for all. Without an outcome, messages stay queued (1)."""
        with self._lock:
            outcome = _Outcome(status, after_polls)
            if receptor is None:
                self._outcome = outcome
            else:
                self._outcome_for[receptor] = outcome

    def chaos(self, rate: float, *, timeout: float = 20.0, seed: int | None = None,
              mix: dict[str, float] | None = None) -> None:
        """From now on a `rate` share of all calls, at random, goes wrong in one of three ways,
        in turn: a proxy's 502 page before any work ("fail"), the connection closed after the
        work ("drop"), or the answer held `timeout` seconds after the work ("timeout": a
        client with a shorter read timeout gives up on a send that happened). 0 ends it.
        `mix` ({"fail": 0.3, "drop": 0.05, "timeout": 0.05}) draws the kind by those weights
        instead of in turn."""
        if mix and set(mix) - set(_CHAOS_KINDS):
            raise ValueError(f"chaos kinds are {_CHAOS_KINDS}")
        with self._lock:
            self._chaos = (_Chaos(rate, timeout, random.Random(seed), mix or None) if rate > 0
                           else None)

    def _roll_chaos(self) -> str | None:
        if self._chaos is None or self._chaos.rng.random() >= self._chaos.rate:
            return None
        if self._chaos.mix:
            kinds = list(self._chaos.mix)
            kind = self._chaos.rng.choices(kinds, weights=[self._chaos.mix[k] for k in kinds])[0]
        else:
            kind = _CHAOS_KINDS[sum(self.chaos_counts.values()) % 3]
        self.chaos_counts[kind] += 1
        return kind

    def push_inbound(self, sender: str, message: str, *, line: str = DEFAULT_LINE,
                     date: int | None = None) -> int:
        with self._lock:
            messageid = self._new_id()
            self._inbox.append(Inbound(messageid, message, sender, line,
                                       int(self._clock()) if date is None else date))
            return messageid

    # -- what happened -------------------------------------------------------------------------

    @property
    def messages(self) -> list[FakeMessage]:
        with self._lock:
            return list(self._messages.values())

    def sends_with_localid(self, localid: int) -> int:
        """How many messages were really created for this localid (dedupe keeps it at 1)."""
        with self._lock:
            return self._sends_per_localid[localid]

    def calls(self, method: str) -> list[RecordedRequest]:
        with self._lock:
            return [r for r in self.requests if r.path.endswith(f"/{method}.json")]

    # -- the API -------------------------------------------------------------------------------

    def handle(self, http_method: str, raw_path: str, body: bytes,
               headers: dict[str, str]) -> tuple[int, str] | None:
        """One HTTP call → (status, body), or None: close without answering. Runs on the
        server's request threads."""
        split = urlsplit(raw_path)
        if self.control and split.path.startswith("/_fake/"):
            return self._control(http_method, split.path, body)
        form = parse_qs(body.decode("utf-8"), keep_blank_values=True) if http_method == "POST" \
            else parse_qs(split.query, keep_blank_values=True)
        with self._lock:
            self.requests.append(RecordedRequest(http_method, split.path, form, headers, body))
        match = _ROUTE.match(split.path)
        try:
            if not match:
                raise _Reply(404)
            if unquote(match["key"]) != self.api_key:
                raise _Reply(403)
            name = f"{match['scope']}/{match['method']}"
            route = _ROUTES.get(name)
            if route is None:
                raise _Reply(404)
            params = {k: v[0] for k, v in form.items()}
            with self._lock:
                drop = take_next(self._drops.get(name, []))
                if drop is not None and not drop.after_work:
                    return None
                stall = self._stalls.get(name, 0.0)
            if stall:
                self._released.wait(stall)
                return None
            with self._lock:
                chaos = self._roll_chaos()
                if chaos == "fail":
                    raise _Reply(502, raw_body="<html><body><h1>502 Bad Gateway</h1></body></html>")
                self._inject_fault(name, params)
                if name == "sms/sendarray" and http_method != "POST":
                    raise _Reply(405)
                entries = route(self, params)
                delay = self._delays.get(name, 0.0)
                gate = self._gate(name)
                if chaos == "drop":
                    return None
                if chaos == "timeout":
                    delay = max(delay, self._chaos.timeout if self._chaos else 0.0)
            if drop is not None:
                return None
        except _Reply as reply:
            with self._lock:
                self.answers[reply.code] += 1
            if reply.raw_body is not None:
                return reply.code, reply.raw_body
            return reply.code, _envelope(reply.code, reply.message, [])
        if delay:
            self._released.wait(delay)
        self._wait_at(name, gate)
        if self.entries_as_object and isinstance(entries, list) and len(entries) == 1:
            entries = entries[0]
        with self._lock:
            self.answers[200] += 1
        return 200, _envelope(200, "تایید شد", entries)

    def _inject_fault(self, name: str, params: dict[str, str]) -> None:
        named = set(_receptors(params))
        for fault in self._faults.get(name, []):
            if fault.times > 0 and (fault.receptor is None or fault.receptor in named):
                fault.times -= 1
                raise _Reply(fault.code, raw_body=fault.raw_body)

    def _new_id(self) -> int:
        self._next_id += 1
        return self._next_id

    def _accept(self, receptors: list[str], messages: list[str], senders: list[str],
                localids: list[int | None], date: int | None, *, template: str | None = None,
                tokens: dict[str, str] | None = None) -> list[dict[str, Any]]:
        """Record a batch all-or-nothing; a known localid returns its earlier message instead."""
        for receptor in receptors:
            if not _MOBILE.match(receptor) or receptor in self.invalid_receptors:
                raise _Reply(411)
        for text in messages:
            if not text.strip():
                raise _Reply(413)
        fresh: set[int] = set()
        seen = set(self._by_localid)
        for i, localid in enumerate(localids):
            if localid is None or localid not in seen:
                fresh.add(i)
            if localid is not None:
                seen.add(localid)
        cost = sum(count_segments(messages[i]).parts for i in fresh) * self.price_per_part
        if cost > self.credit:
            raise _Reply(418)
        now = int(self._clock())
        scheduled = date is not None and date > now
        entries = []
        batch = zip(receptors, messages, senders, localids, strict=True)
        for i, (receptor, text, sender, localid) in enumerate(batch):
            if localid is not None and i not in fresh:
                # The dedupe window is unconfirmed upstream (and for sendarray, whether it dedupes
                # at all); the fake never forgets.
                self.resubmitted[localid] += 1
                entries.append(self._messages[self._by_localid[localid]].entry())
                continue
            parts = count_segments(text).parts
            msg = FakeMessage(self._new_id(), receptor, text, sender, localid, date or now,
                              parts * self.price_per_part, parts, 2 if scheduled else 1,
                              template=template, tokens=tokens, accepted_at=self._clock())
            self._messages[msg.messageid] = msg
            if localid is not None:
                self._by_localid[localid] = msg.messageid
                self._sends_per_localid[localid] += 1
            entries.append(msg.entry())
        self.credit -= cost
        return entries

    def _send(self, params: dict[str, str]) -> list[dict[str, Any]]:
        receptors = _receptors(params)
        if "receptor" not in params or "message" not in params:
            raise _Reply(400)
        if not receptors:
            raise _Reply(406)
        if len(receptors) > 200:
            raise _Reply(414)
        localids = _int_list(params.get("localid")) or [None] * len(receptors)
        if len(localids) != len(receptors):
            raise _Reply(419)  # unconfirmed which code the real one uses here
        sender = params.get("sender") or DEFAULT_LINE
        return self._accept(receptors, [params["message"]] * len(receptors),
                            [sender] * len(receptors), localids, _opt_int(params.get("date")))

    def _sendarray(self, params: dict[str, str]) -> list[dict[str, Any]]:
        try:
            receptors, senders, messages = (_json_list(params[k]) for k in ("receptor", "sender", "message"))
            raw_ids = next((params[k] for k in ("localmessageids", "localmessageid", "localid")
                            if params.get(k)), None)
            localids: list[int | None] = ([int(i) for i in _json_list(raw_ids)] if raw_ids
                                          else [None] * len(receptors))
        except (KeyError, ValueError, TypeError):
            raise _Reply(400) from None
        if len({len(receptors), len(senders), len(messages), len(localids)}) != 1:
            raise _Reply(419)
        if len(receptors) > 200:
            raise _Reply(414)
        return self._accept([str(r) for r in receptors], [str(m) for m in messages],
                            [str(s) for s in senders], localids, _opt_int(params.get("date")))

    def _lookup(self, params: dict[str, str]) -> list[dict[str, Any]]:
        if not params.get("receptor") or not params.get("template") or not params.get("token"):
            raise _Reply(400)
        template = self.templates.get(params["template"])
        if template is None:
            raise _Reply(424)
        if "%token" not in template:
            raise _Reply(432)
        text, tokens = template, {}
        # Longest names first: %token10 must not be filled as %token followed by "10".
        for name in sorted(_TOKEN_SPACES, key=len, reverse=True):
            value = params.get(name, "")
            if len(value) > _TOKEN_CHARS or len(re.findall(r"\s", value)) > _TOKEN_SPACES[name]:
                raise _Reply(431)
            if name in params:
                tokens[name] = value
            text = text.replace(f"%{name}", value)
        return self._accept([params["receptor"]], [text], [DEFAULT_LINE], [None], None,
                            template=params["template"],
                            tokens={n: tokens[n] for n in _TOKEN_SPACES if n in tokens})

    def _status(self, params: dict[str, str]) -> list[dict[str, Any]]:
        ids = _csv(params.get("messageid"))
        if len(ids) > 500:
            raise _Reply(414)
        out = []
        for raw in ids:
            msg = self._messages.get(_opt_int(raw) or -1)
            out.append(self._poll(msg).entry() if msg else
                       {"messageid": _opt_int(raw) or 0, "status": 100, "statustext": _STATUS_TEXT[100]})
        return out

    def _status_local(self, params: dict[str, str]) -> list[dict[str, Any]]:
        ids = _csv(params.get("localid"))
        if len(ids) > 500:
            raise _Reply(414)
        out = []
        for raw in ids:
            messageid = self._by_localid.get(_opt_int(raw) or -1)
            if messageid is None:
                out.append({"messageid": 0, "localid": raw, "status": 100,
                            "statustext": _STATUS_TEXT[100]})
            else:
                msg = self._poll(self._messages[messageid])
                out.append({"messageid": msg.messageid, "localid": raw, "status": msg.status,
                            "statustext": _STATUS_TEXT.get(msg.status, "")})
        return out

    def _poll(self, msg: FakeMessage) -> FakeMessage:
        outcome = self._outcome_for.get(msg.receptor, self._outcome)
        if msg.status in _FINAL or msg.status == 2 or outcome is None:
            return msg
        msg.polls += 1
        if msg.polls > outcome.after_polls:
            msg.status = outcome.status
        return msg

    def _receive(self, params: dict[str, str]) -> list[dict[str, Any]]:
        if "linenumber" not in params or params.get("isread") not in ("0", "1"):
            raise _Reply(400)
        want_read = params["isread"] == "1"
        rows = [m for m in self._inbox if m.receptor == params["linenumber"] and m.read == want_read][:100]
        for m in rows:
            m.read = True  # like the real one: fetching unread texts marks them read
        return [{"messageid": m.messageid, "message": m.message, "sender": m.sender,
                 "receptor": m.receptor, "date": m.date} for m in rows]

    def _account_info(self, params: dict[str, str]) -> dict[str, Any]:
        return {"remaincredit": self.credit, "expiredate": int(self._clock()) + 365 * 86400,
                "type": "master"}

    def _cancel(self, params: dict[str, str]) -> list[dict[str, Any]]:
        out = []
        for raw in _csv(params.get("messageid")):
            msg = self._messages.get(_opt_int(raw) or -1)
            if msg is None:
                out.append({"messageid": _opt_int(raw) or 0, "status": 100,
                            "statustext": _STATUS_TEXT[100]})
                continue
            if msg.status == 2:
                msg.status = 13
                self.credit += msg.cost  # cancelled messages are refunded
            out.append({"messageid": msg.messageid, "status": msg.status,
                        "statustext": _STATUS_TEXT.get(msg.status, "")})
        return out

    # -- control from another process (`bazgasht fake-kavenegar --control`) --------------------

    def _control(self, http_method: str, path: str, body: bytes) -> tuple[int, str]:
        """A debug API for harnesses that run the fake as its own process: GET /_fake/messages
        (every message taken), GET /_fake/state; POST /_fake/control with a JSON object
        {"op": "chaos" | "credit" | "push_inbound" | "outcome" | "fail_next", ...}."""
        if http_method == "GET" and path == "/_fake/messages":
            with self._lock:
                return 200, json.dumps([m.record() | {"resubmitted": self.resubmitted.get(
                    m.localid, 0) if m.localid is not None else 0}
                    for m in self._messages.values()], ensure_ascii=False)
        if http_method == "GET" and path == "/_fake/state":
            with self._lock:
                return 200, json.dumps({"credit": self.credit, "calls": len(self.requests),
                                        "messages": len(self._messages),
                                        "chaos": dict(self.chaos_counts),
                                        "answers": {str(k): v for k, v in self.answers.items()}})
        if http_method != "POST" or path != "/_fake/control":
            return 404, json.dumps({"error": "unknown control path"})
        try:
            cmd = json.loads(body or b"{}")
            op = cmd.pop("op")
            if op == "chaos":
                self.chaos(float(cmd["rate"]), timeout=float(cmd.get("timeout", 20.0)),
                           seed=cmd.get("seed"), mix=cmd.get("mix"))
            elif op == "credit":
                with self._lock:
                    self.credit = int(cmd["value"])
            elif op == "push_inbound":
                return 200, json.dumps({"messageid": self.push_inbound(cmd["sender"],
                                                                       cmd["message"])})
            elif op == "outcome":
                self.set_outcome(int(cmd["status"]), after_polls=int(cmd.get("after_polls", 0)),
                                 receptor=cmd.get("receptor"))
            elif op == "fail_next":
                self.fail_next(cmd["method"], int(cmd["code"]), times=int(cmd.get("times", 1)))
            else:
                return 400, json.dumps({"error": f"unknown op {op!r}"})
        except (KeyError, TypeError, ValueError) as exc:
            return 400, json.dumps({"error": f"bad control command: {exc}"})
        return 200, json.dumps({"ok": True})


_ROUTES: dict[str, Callable[[FakeKavenegar, dict[str, str]], Any]] = {
    "sms/send": FakeKavenegar._send,
    "sms/sendarray": FakeKavenegar._sendarray,
    "verify/lookup": FakeKavenegar._lookup,
    "sms/status": FakeKavenegar._status,
    "sms/statuslocalmessageid": FakeKavenegar._status_local,
    "sms/receive": FakeKavenegar._receive,
    "account/info": FakeKavenegar._account_info,
    "sms/cancel": FakeKavenegar._cancel,
}


def _envelope(code: int, message: str, entries: Any) -> str:
    return json.dumps({"return": {"status": code, "message": message}, "entries": entries},
                      ensure_ascii=False)


def _csv(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split(",") if v.strip()]


def _receptors(params: dict[str, str]) -> list[str]:
    raw = params.get("receptor", "")
    if raw.startswith("["):
        try:
            return [str(r) for r in json.loads(raw)]
        except ValueError:
            return []
    return _csv(raw)


def _opt_int(value: str | None) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except ValueError:
        return None


def _int_list(value: str | None) -> list[int | None]:
    return [_opt_int(v) for v in _csv(value)]


def _json_list(value: str) -> list[Any]:
    parsed = json.loads(value)
    if not isinstance(parsed, list):
        raise ValueError("not a JSON array")
    return parsed



def main(port: int = 8787, api_key: str = "test-key", control: bool = False) -> None:
    """Serve in the foreground until interrupted (`bazgasht fake-kavenegar --port N`)."""
    fake = FakeKavenegar(api_key=api_key, port=port, control=control)
    print(f"fake Kavenegar on {fake.base_url} (API key {api_key!r}); Ctrl-C stops it", flush=True)
    fake.serve_forever()
