"""A small client for IPPanel's "Edge" REST API (sync httpx), with typed results and classified
errors. FarazSMS accounts created on IPPanel use the same API.

Every call is JSON with the key in the `Authorization` header, as it is, without "Bearer". httpx
never logs headers, so the key cannot reach a log line through a URL; it still must not reach an
exception text or a repr, which is why a body we quote is scrubbed of it.

All sends are one endpoint, `POST /api/send`; `sending_type` picks the method (webservice: one text
to many; peer_to_peer: a text per recipient list; pattern: an approved template, one recipient).
IPPanel takes no client reference, so there is no lookup by our own id: what a lost send did can
only be found by searching the outbox for the line and text (`search_outbox`, then `recipients`).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from app.messaging.provider_client import ProviderClient, as_float, as_int, as_str
from app.messaging.provider_error import Kind, ProviderError
from app.ops import metrics

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://edge.ippanel.com/v1"
# The documentation gives no limit for a peer_to_peer call; 100 messages keeps a request small
# (about 100 KB of Persian text) and a refused or lost call cheap. UNCONFIRMED.
MAX_PEER_TO_PEER = 100
MAX_PAGE = 100  # per_page/limit we ask for in reports: no documented maximum, kept modest

_MOBILE = re.compile(r"^(?:\+98|0098|98|0)?(9\d{9})$")


def to_e164(number: str) -> str:
    """An Iranian mobile number as IPPanel wants it (+989…), from +98…, 0098…, 98… or 09….
    Anything else is returned as given: the gateway judges it (a RECIPIENT error)."""
    digits = re.sub(r"[\s-]", "", number)
    match = _MOBILE.match(digits)
    return f"+98{match[1]}" if match else number


def line_e164(line: str) -> str:
    """A sender line as IPPanel wants it (+983000505), from +98…, 0098…, 98… or the bare
    number the panel shows (3000505, 0213000505)."""
    digits = re.sub(r"[\s-]", "", line)
    if digits.startswith("+"):
        return digits
    if digits.startswith("0098"):
        return "+" + digits[2:]
    if digits.startswith("98"):
        return "+" + digits
    return "+98" + digits.lstrip("0")


# -- errors ---------------------------------------------------------------------------------------

# Field names of a validation error (Laravel style: "params.3.recipients.0") that point at one
# message or number: the batch is fine without it.
_RECIPIENT_FIELDS = frozenset({"recipients", "recipient", "message"})
# Fields that point at the account: the line is not the account's, or the credit is gone.
_STORE_FIELDS = frozenset({"from_number", "credit", "balance"})


def classify(status: int | None, fields: Iterable[str] = ()) -> Kind:
    """What a caller should do about an IPPanel answer: its HTTP status (None: no answer at all)
    and, for a validation error (422/400), the names of the fields it blames.

    IPPanel documents few codes (401 "400-1" bad key, 422 "400-2" validation with `errors`, 404
    "404-1" not found); for the rest we rely on the HTTP status. 402 and 403 are taken as the
    account's (credit, access): UNCONFIRMED which the gateway uses for what.
    """
    if status is None or status == 429 or 500 <= status < 600:
        return Kind.RETRY
    if status in (401, 402, 403):
        return Kind.STORE
    if status in (400, 422):
        parts = [set(re.split(r"[.\[\]]", f)) for f in fields]
        if any(p & _STORE_FIELDS for p in parts):
            return Kind.STORE
        if parts and all(p & _RECIPIENT_FIELDS for p in parts):
            return Kind.RECIPIENT
    return Kind.INVALID


class IpPanelError(ProviderError):
    """A failed call. `ambiguous`: IPPanel may have acted (sent) before we lost the answer.
    `timed_out`: no answer within the deadline (asking again at once would likely wait as long
    again). `status` is the HTTP status (None: no answer); the message carries IPPanel's
    `message_code` when there was one."""

    provider = "IPPanel"
    classify = staticmethod(classify)


# -- results --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Accepted:
    """What a send answers: the outbox ids it created, one per message (peer_to_peer: one per
    params entry, in order; webservice and pattern: one for the whole call)."""

    outbox_ids: tuple[int, ...]


@dataclass(frozen=True)
class Bulk:
    """One outbox entry (a "bulk": a send call's message and its recipients), as the reports
    show it. `state_id` is the bulk's state (0 creating … 6 sent … 9 system error)."""

    outbox_id: int
    state_id: int | None
    number: str | None = None   # the sender line
    message: str | None = None
    recipients: int | None = None
    cost: float | None = None  # Rial (UNCONFIRMED unit; the panel bills in Rial)
    parts: int | None = None
    type: str | None = None

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> Bulk:
        return cls(outbox_id=as_int(raw.get("messages_outbox_id")) or 0,
                   state_id=as_int(raw.get("state_id")), number=as_str(raw.get("number")),
                   message=as_str(raw.get("message")), recipients=as_int(raw.get("rcpts_count")),
                   cost=as_float(raw.get("cost")), parts=as_int(raw.get("part")),
                   type=as_str(raw.get("type")))


@dataclass(frozen=True)
class Recipient:
    """One recipient of a bulk. `message_status` (0 sent to the operator, 1 operator received,
    2 delivered, 3 not delivered, 4 blacklisted) is there only once the bulk is final."""

    recipient: str
    message: str | None
    parts: int | None
    message_status: int | None

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> Recipient:
        return cls(recipient=str(raw.get("recipient", "")), message=as_str(raw.get("message")),
                   parts=as_int(raw.get("msg_parts")),
                   message_status=as_int(raw.get("message_status")))


@dataclass(frozen=True)
class InboundMessage:
    inbox_id: int
    sender: str   # "from"
    line: str     # "number": the account's line it came to
    message: str
    time: int | None  # unix seconds
    seen: bool

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> InboundMessage:
        return cls(inbox_id=as_int(raw.get("messages_inbox_id")) or 0,
                   sender=str(raw.get("from", "")), line=str(raw.get("number", "")),
                   message=str(raw.get("message", "")), time=as_int(raw.get("time")),
                   seen=str(raw.get("seen", "0")) not in ("0", "", "False", "false"))


@dataclass(frozen=True)
class InboxPage:
    messages: tuple[InboundMessage, ...]
    last_page: int


@dataclass(frozen=True)
class Credit:
    credit: float  # Rial (UNCONFIRMED: the documentation names no unit; the panel shows Rial)
    gift: float | None
    updated_at: str | None

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> Credit:
        return cls(credit=as_float(raw.get("credit")) or 0.0, gift=as_float(raw.get("gift")),
                   updated_at=as_str(raw.get("updated_at")))


@dataclass(frozen=True)
class PatternVariable:
    name: str
    type: str     # "string" or "integer"
    length: int   # "len": the longest value it takes; 0 seen on integers (no stated limit)


@dataclass(frozen=True)
class Pattern:
    code: str
    message: str
    status: str | None  # "active" once approved; "pending" while an admin reviews it
    variables: tuple[PatternVariable, ...]

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> Pattern:
        variables = raw.get("variable") or []
        return cls(code=str(raw.get("pattern_code", "")),
                   message=str(raw.get("pattern_message", "")),
                   status=as_str(raw.get("pattern_status")),
                   variables=tuple(PatternVariable(str(v.get("name", "")),
                                                   str(v.get("type", "string")),
                                                   as_int(v.get("len")) or 0)
                                   for v in variables if isinstance(v, dict)))


# -- the client -----------------------------------------------------------------------------------

# httpx exceptions raised before any byte of the request left: nothing can have been processed.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


class IpPanelClient(ProviderClient):
    """`read_timeout` bounds a send; `query_timeout` (at most the read timeout, 5 s by default)
    a question that changes nothing (reports, the outbox search, the credit)."""

    BASE_URL = DEFAULT_BASE_URL

    def _headers(self, api_key: str) -> dict[str, str]:
        return {"Authorization": api_key}  # the key itself: no "Bearer"

    # -- sends ----------------------------------------------------------------------------------

    def send_webservice(self, recipients: Sequence[str], message: str, *,
                        sender: str) -> Accepted:
        """One text to these numbers: one outbox id for all of them."""
        if not recipients:
            raise ValueError("recipients must not be empty")
        return self._send("webservice", {"from_number": sender, "message": message,
                                         "params": {"recipients": list(recipients)}})

    def send_peer_to_peer(self, messages: Sequence[tuple[Sequence[str], str]], *,
                          sender: str) -> Accepted:
        """(recipients, text) pairs in one call: one outbox id per pair, in order."""
        if not messages:
            raise ValueError("messages must not be empty")
        if len(messages) > MAX_PEER_TO_PEER:
            raise ValueError(f"messages: {len(messages)} given, we send at most "
                             f"{MAX_PEER_TO_PEER} per peer_to_peer call")
        params = [{"recipients": list(recipients), "message": text}
                  for recipients, text in messages]
        return self._send("peer_to_peer", {"from_number": sender, "params": params})

    def send_pattern(self, recipient: str, code: str, params: Mapping[str, str], *,
                     sender: str) -> Accepted:
        """An approved pattern filled with `params` (its %name% variables), to one number."""
        return self._send("pattern", {"from_number": sender, "code": code,
                                      "recipients": [recipient], "params": dict(params)})

    def cancel(self, outbox_id: int) -> None:
        """Cancel a scheduled send (IPPanel allows it up to 5 minutes before its time)."""
        self._call("cancel", "POST", "/api/send/cancel", body={"message_outbox_id": outbox_id})

    def _send(self, sending_type: str, body: dict[str, Any]) -> Accepted:
        data = self._call(sending_type, "POST", "/api/send",
                          body={"sending_type": sending_type} | body)
        ids = data.get("message_outbox_ids") if isinstance(data, dict) else None
        if not isinstance(ids, list) or not ids or any(as_int(i) is None for i in ids):
            # Taken (the envelope says so) but we cannot tell under which id.
            raise IpPanelError(200, "send answered without message_outbox_ids", Kind.RETRY,
                               ambiguous=True, path="/api/send")
        return Accepted(tuple(int(i) for i in ids))

    # -- questions ------------------------------------------------------------------------------

    def pattern(self, code: str) -> Pattern:
        data = self._call("pattern_by_code", "GET", f"/api/patterns/{code}", query=True)
        return Pattern.parse(data if isinstance(data, dict) else {})

    def bulk(self, outbox_id: int) -> Bulk | None:
        """The outbox entry, or None if IPPanel does not know the id (a 404, or no data:
        UNCONFIRMED which of the two it answers)."""
        data = self._call("by_bulk", "GET", "/api/report/by_bulk",
                          params={"messages_outbox_id": outbox_id}, query=True, missing_ok=True)
        return Bulk.parse(data) if isinstance(data, dict) and data else None

    def recipients(self, bulk_id: int, *, page: int = 1,
                   per_page: int = MAX_PAGE) -> list[Recipient]:
        data = self._call("recipients", "GET", "/api/report/recipients",
                          params={"bulk_id": bulk_id, "page": page, "per_page": per_page},
                          query=True, missing_ok=True)
        return [Recipient.parse(r) for r in _rows(data)]

    def search_outbox(self, *, number: str | None = None, message: str | None = None,
                      page: int = 1, limit: int = MAX_PAGE) -> list[Bulk]:
        """Outbox entries by sender line and text, newest first (how IPPanel matches the text,
        exactly or as a part, is UNCONFIRMED: callers compare it themselves)."""
        filters = {k: v for k, v in (("number", number), ("message", message)) if v is not None}
        data = self._call("new_list", "POST", "/api/report/new_list",
                          body={"page": page, "limit": limit, "filters": filters}, query=True)
        return [Bulk.parse(r) for r in _rows(data)]

    def inbox(self, *, from_id: int | None = None, page: int = 1,
              per_page: int = MAX_PAGE) -> InboxPage:
        """Inbound texts on all the account's lines. Reading marks nothing: `from_id` (the last
        id already kept) is the cursor, and any page can be read again."""
        body: dict[str, Any] = {"page": page, "per_page": per_page}
        if from_id is not None:
            body["filters"] = {"from_id": from_id}
        data, meta = self._call_meta("messages-inbox", "POST", "/api/report/messages-inbox",
                                     body=body, query=True)
        return InboxPage(tuple(InboundMessage.parse(r) for r in _rows(data)),
                         as_int(meta.get("last_page")) or 1)

    def credit(self) -> Credit:
        data = self._call("credit", "GET", "/api/payment/credit/mine", query=True)
        return Credit.parse(data if isinstance(data, dict) else {})

    # -- transport ------------------------------------------------------------------------------

    def _call(self, method: str, http_method: str, path: str, **kwargs: Any) -> Any:
        return self._call_meta(method, http_method, path, **kwargs)[0]

    def _call_meta(self, method: str, http_method: str, path: str, *,
                   body: dict[str, Any] | None = None, params: dict[str, Any] | None = None,
                   query: bool = False, missing_ok: bool = False) -> tuple[Any, dict[str, Any]]:
        """One call; (data, meta) of a successful envelope, or IpPanelError. `query`: a
        question that changes nothing, bounded by the query timeout. `missing_ok`: a 404
        envelope means "no such thing" (None), not an error."""
        started = time.monotonic()
        code: int | None = None  # ops: what the gateway answered, for the metrics below
        try:
            try:
                response = self._http.request(
                    http_method, f"{self._base_url}{path}", json=body, params=params,
                    timeout=self._query_timeout if query else httpx.USE_CLIENT_DEFAULT)
            except httpx.InvalidURL:
                raise IpPanelError(None, "invalid request URL", Kind.INVALID, path=path) from None
            except httpx.HTTPError as exc:
                raise IpPanelError(None, f"{type(exc).__name__}: {self._scrub(str(exc))}",
                                   Kind.RETRY, ambiguous=not isinstance(exc, _NOT_SENT),
                                   timed_out=isinstance(exc, httpx.TimeoutException),
                                   path=path) from None
            code = response.status_code
            log.debug("ippanel %s -> HTTP %s in %.0f ms", method, code,
                      (time.monotonic() - started) * 1000)
            return self._unwrap(response, path, missing_ok)
        finally:
            metrics.gateway_call("ippanel", method, code, time.monotonic() - started)

    def _unwrap(self, response: httpx.Response, path: str,
                missing_ok: bool) -> tuple[Any, dict[str, Any]]:
        http_status = response.status_code
        try:
            body = response.json()
            meta = body["meta"]
            ok = meta["status"]
            if not isinstance(ok, bool):
                raise TypeError("meta.status is not a boolean")
        except (ValueError, TypeError, KeyError):
            # Not IPPanel talking (a proxy's page, a truncated body): a success-looking or 5xx
            # answer may have been processed; a 4xx page (404, 429) was refused before the API.
            ambiguous = http_status < 400 or http_status >= 500
            kind = Kind.RETRY if ambiguous else classify(http_status)
            snippet = self._scrub(response.text[:120]).replace("\n", " ")
            raise IpPanelError(http_status, f"not an IPPanel envelope (HTTP {http_status}, "
                               f"{response.headers.get('content-type', 'no content type')}): "
                               f"{snippet!r}", kind, ambiguous=ambiguous, path=path) from None
        if ok and http_status < 300:
            return body.get("data"), meta
        if missing_ok and http_status == 404:
            return None, meta
        errors = meta.get("errors") or body.get("errors") or {}
        fields = list(errors) if isinstance(errors, dict) else []
        status = http_status if http_status >= 300 else _code_status(meta.get("message_code"))
        detail = "; ".join(f"{f}: {_first(errors[f])}" for f in fields[:3])
        message = f"[{meta.get('message_code')}] {meta.get('message') or ''}" + \
            (f" ({detail})" if detail else "")
        raise IpPanelError(http_status, self._scrub(message), classify(status, fields),
                           path=path)

    def _scrub(self, text: str) -> str:
        return text.replace(self._api_key, "***")


def _code_status(message_code: Any) -> int | None:
    """The HTTP-like number in a message_code ("400-2" → 400), for a refusal sent with 2xx."""
    return as_int(str(message_code or "").split("-")[0]) or 400


def _first(messages: Any) -> str:
    return str(messages[0]) if isinstance(messages, list) and messages else str(messages)


def _rows(data: Any) -> list[dict[str, Any]]:
    if data is None:
        return []
    if isinstance(data, list) and all(isinstance(r, dict) for r in data):
        return data
    raise IpPanelError(200, "report data is not a list of objects", Kind.RETRY)
