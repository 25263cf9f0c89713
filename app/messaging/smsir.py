"""A small client for SMS.ir's REST API v1 (sync httpx), with typed results and classified errors.

The API key travels in the `X-API-KEY` header, never in a URL, so httpx's request line cannot
show it; it can still reach an exception text (a proxy echoing our headers in its error page),
so every text we build from an answer is scrubbed of it.

Every answer is one envelope, `{"status": 1, "message": "موفق", "data": ...}`: `status` 1 is
success, anything else one of SMS.ir's codes (see `classify`). The HTTP status says little more
(400 logical error, 401 key, 429 rate, 500 unexpected), so the envelope decides, and the HTTP
status only when the body is not an envelope. docs/smsir.md holds the facts and their sources.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import httpx

from app.messaging.provider_client import ProviderClient, as_int, as_str
from app.messaging.provider_error import Kind, ProviderError
from app.ops import metrics

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.sms.ir/v1"
MAX_MOBILES = 100       # send/bulk and send/likeToLike (codes 105, 106)
MAX_PAGE_SIZE = 100     # every report; receive/latest's count too
MAX_PARAMETER_CHARS = 25  # send/verify, each value (code 114)

OK = 1
UNKNOWN_PACK = 111  # "nothing was sent with this id": also what an unknown message id gets
BLACKLISTED = 115

# Delivery states (`deliveryState`) as SMS.ir numbers them; None: no report yet.
DELIVERED = 1
NOT_DELIVERED_TO_HANDSET = 2
AT_TELECOM = 3  # "delivered to telecom"; another SDK reads it "processing at telecom"
NOT_DELIVERED_TO_TELECOM = 4
AT_OPERATOR = 5
FAILED = 6
BLACKLIST = 7
UNKNOWN_STATE = 8

# 103 (an empty text), 114 (a parameter over 25 characters) and 117 (a text SMS.ir's filter
# refuses) belong to one message as much as 104 and 115 belong to one number.
_RECIPIENT = frozenset({103, 104, 114, 115, 117})
# The key, the account, its plan, its line or its credit: only the store owner fixes them.
_STORE = frozenset({10, 11, 12, 13, 14, 15, 101, 102, 119, 123, 124})
# 0 is SMS.ir's generic "your request failed"; 20 the rate limit; 118 "too many messages" is
# not a size we sent (105/106 are those), so a limit over time (unconfirmed): retry later.
_RETRY = frozenset({0, 20, 118})


def classify(status: int | None) -> Kind:
    """What a caller should do about an SMS.ir `status` (None: no answer at all). Unknown
    codes, like 16 (a bad parameter value) and 105-113 (sizes, counts, template id), are ours
    to fix: INVALID."""
    if status is None or status in _RETRY:
        return Kind.RETRY
    if status in _RECIPIENT:
        return Kind.RECIPIENT
    if status in _STORE:
        return Kind.STORE
    return Kind.INVALID


def _classify_http(http_status: int) -> Kind:
    """A body that is not SMS.ir's envelope: only the HTTP status speaks."""
    if http_status in (401, 403):
        return Kind.STORE
    if http_status == 429 or http_status >= 500 or http_status < 400:
        return Kind.RETRY
    return Kind.INVALID


class SmsIrError(ProviderError):
    """A failed call. `ambiguous`: SMS.ir may have acted (sent) before we lost its answer.
    `timed_out`: no answer within the deadline. `status` is SMS.ir's code when the envelope
    came back, else the HTTP status (None: no answer)."""

    provider = "SMS.ir"
    classify = staticmethod(classify)


def _decimal(value: Any) -> Decimal | None:
    try:
        return None if value is None or isinstance(value, bool) else Decimal(str(value))
    except InvalidOperation:
        return None


@dataclass(frozen=True)
class Pack:
    """What send/bulk and send/likeToLike answer: one message id per mobile, in order."""

    pack_id: str | None
    message_ids: tuple[int, ...]
    cost: Decimal | None  # in SMS.ir's credit unit (see docs/smsir.md)

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> Pack:
        ids = raw.get("messageIds") or []
        return cls(pack_id=as_str(raw.get("packId")),
                   message_ids=tuple(i for i in (as_int(v) for v in ids) if i is not None),
                   cost=_decimal(raw.get("cost")))


@dataclass(frozen=True)
class Sent:
    """What send/verify answers."""

    message_id: int | None
    cost: Decimal | None

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> Sent:
        return cls(message_id=as_int(raw.get("messageId")), cost=_decimal(raw.get("cost")))


@dataclass(frozen=True)
class Report:
    """One sent message as the reports show it (send/{id}, send/pack/{id}, send/live)."""

    message_id: int | None
    mobile: str | None  # as SMS.ir gives it back: a number, without the leading 0
    text: str | None
    line: str | None
    sent_at: int | None       # unix seconds
    cost: Decimal | None
    delivery_state: int | None  # None: no delivery report yet
    delivered_at: int | None

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> Report:
        return cls(message_id=as_int(raw.get("messageId")), mobile=as_str(raw.get("mobile")),
                   text=as_str(raw.get("messageText")), line=as_str(raw.get("lineNumber")),
                   sent_at=as_int(raw.get("sendDateTime")), cost=_decimal(raw.get("cost")),
                   delivery_state=as_int(raw.get("deliveryState")),
                   delivered_at=as_int(raw.get("deliveryDateTime")))


@dataclass(frozen=True)
class Received:
    """One inbound text. receive/live rows carry no `receiveReturnId` in the documentation."""

    receive_id: int | None
    text: str
    line: str
    mobile: str
    received_at: int | None  # unix seconds

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> Received:
        return cls(receive_id=as_int(raw.get("receiveReturnId")),
                   text=str(raw.get("messageText") or ""), line=str(raw.get("number") or ""),
                   mobile=str(raw.get("mobile") or ""),
                   received_at=as_int(raw.get("receivedDateTime")))


@dataclass(frozen=True)
class Credit:
    amount: Decimal  # SMS.ir's credit unit (see docs/smsir.md)


@dataclass(frozen=True)
class Cancelled:
    returned_credit: Decimal | None
    sms_count: int | None


def _limit(name: str, values: Sequence[Any], most: int) -> None:
    if not values:
        raise ValueError(f"{name} must not be empty")
    if len(values) > most:
        raise ValueError(f"{name}: {len(values)} given, SMS.ir accepts at most {most}")


def _line(line: str | int) -> int:
    """lineNumber is a Long on the wire."""
    try:
        return int(line)
    except (TypeError, ValueError):
        raise ValueError(f"line number must be digits, not {line!r}") from None


def _page(number: int, size: int) -> dict[str, Any]:
    if number < 1 or not 1 <= size <= MAX_PAGE_SIZE:
        raise ValueError(f"page 1.. of 1..{MAX_PAGE_SIZE} items, not page {number} of {size}")
    return {"pageNumber": number, "pageSize": size}


# httpx exceptions raised before any byte of the request left: nothing can have been processed.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


class SmsIrClient(ProviderClient):
    """`read_timeout` bounds a send; `query_timeout` (at most the read timeout, 5 s by default)
    a question that changes nothing (reports, the credit, the inbox's day view)."""

    BASE_URL = DEFAULT_BASE_URL

    def _headers(self, api_key: str) -> dict[str, str]:
        return {"X-API-KEY": api_key}

    # -- sending ------------------------------------------------------------------------------

    def send_bulk(self, line: str | int, text: str, mobiles: list[str], *,
                  send_at: int | None = None) -> Pack:
        """One text to up to 100 mobiles; `send_at` (unix seconds, 1 h to 365 days ahead)
        schedules it."""
        _limit("mobiles", mobiles, MAX_MOBILES)
        body = {"lineNumber": _line(line), "messageText": text, "mobiles": list(mobiles),
                "sendDateTime": send_at}
        return Pack.parse(self._object("POST", "send/bulk", body=body))

    def send_like_to_like(self, line: str | int, texts: list[str], mobiles: list[str], *,
                          send_at: int | None = None) -> Pack:
        """texts[i] to mobiles[i], up to 100 of them, in one call."""
        _limit("mobiles", mobiles, MAX_MOBILES)
        if len(texts) != len(mobiles):
            raise ValueError("texts and mobiles must have equal lengths")
        body = {"lineNumber": _line(line), "messageTexts": list(texts),
                "mobiles": list(mobiles), "sendDateTime": send_at}
        return Pack.parse(self._object("POST", "send/likeToLike", body=body))

    def send_verify(self, mobile: str, template_id: int, parameters: Mapping[str, str]) -> Sent:
        """A template approved in the panel, filled with `parameters` (name → value, each value
        at most 25 characters), sent on SMS.ir's service lines."""
        for name, value in parameters.items():
            if not name:
                raise ValueError("a parameter needs a name")
            if len(value) > MAX_PARAMETER_CHARS:
                raise ValueError(f"parameter {name!r} has {len(value)} characters; SMS.ir "
                                 f"accepts at most {MAX_PARAMETER_CHARS}")
        body = {"mobile": mobile, "templateId": int(template_id),
                "parameters": [{"name": k, "value": v} for k, v in parameters.items()]}
        return Sent.parse(self._object("POST", "send/verify", body=body))

    def cancel_scheduled(self, pack_id: str) -> Cancelled:
        raw = self._object("DELETE", f"send/scheduled/{pack_id}", name="send/scheduled/{packId}")
        return Cancelled(_decimal(raw.get("returnedCreditCount")), as_int(raw.get("smsCount")))

    # -- questions ------------------------------------------------------------------------------

    def report(self, message_id: int) -> Report | None:
        """One message and its delivery state; None if SMS.ir knows no such id (it answers
        111, or data null: sources differ)."""
        try:
            data = self._call("GET", f"send/{int(message_id)}", name="send/{messageId}",
                              query=True)
        except SmsIrError as exc:
            if exc.status == UNKNOWN_PACK:
                return None
            raise
        return Report.parse(data) if isinstance(data, dict) else None

    def pack_report(self, pack_id: str) -> list[Report]:
        return self._reports(f"send/pack/{pack_id}", "send/pack/{packId}", {})

    def live_report(self, *, page: int = 1, page_size: int = MAX_PAGE_SIZE) -> list[Report]:
        """Today's sends, a page at a time."""
        return self._reports("send/live", "send/live", _page(page, page_size))

    def receive_latest(self, count: int = MAX_PAGE_SIZE) -> list[Received]:
        """Unread inbound texts, which this marks read: each comes back from it only once.
        Persist what comes back before processing it."""
        if not 1 <= count <= MAX_PAGE_SIZE:
            raise ValueError(f"count must be 1..{MAX_PAGE_SIZE}")
        return self._received("receive/latest", {"count": count}, query=False)

    def receive_live(self, *, page: int = 1, page_size: int = MAX_PAGE_SIZE,
                     newest_first: bool = False, mobile: str | None = None) -> list[Received]:
        """Today's inbound texts, read or not (early in the day, yesterday's too); reads
        nothing as read."""
        params = _page(page, page_size) | {"sortByNewest": "true" if newest_first else "false"}
        if mobile:
            params["mobile"] = mobile
        return self._received("receive/live", params, query=True)

    def credit(self) -> Credit:
        data = self._call("GET", "credit", query=True)
        amount = _decimal(data)
        if amount is None:
            raise SmsIrError(None, f"credit answered {type(data).__name__}, not a number",
                             Kind.RETRY, path=self._path("credit"))
        return Credit(amount)

    def lines(self) -> list[str]:
        data = self._call("GET", "line", query=True)
        return [str(n) for n in data] if isinstance(data, list) else []

    # -- transport ------------------------------------------------------------------------------

    def _path(self, name: str) -> str:
        return f"/v1/{name}"

    def _reports(self, route: str, name: str, params: dict[str, Any]) -> list[Report]:
        data = self._call("GET", route, name=name, params=params, query=True)
        return [Report.parse(r) for r in self._rows(data, name)]

    def _received(self, route: str, params: dict[str, Any], *, query: bool) -> list[Received]:
        data = self._call("GET", route, params=params, query=query)
        return [Received.parse(r) for r in self._rows(data, route)]

    def _rows(self, data: Any, name: str) -> list[dict[str, Any]]:
        if data is None:
            return []
        if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
            raise SmsIrError(None, "data is not a list of objects", Kind.RETRY, ambiguous=True,
                             path=self._path(name))
        return data

    def _object(self, method: str, route: str, *, name: str | None = None,
                body: dict[str, Any] | None = None) -> dict[str, Any]:
        data = self._call(method, route, name=name, body=body)
        if not isinstance(data, dict):
            # Success without the answer: it was done, we cannot say what it made.
            raise SmsIrError(OK, "answered success without its data", Kind.RETRY,
                             ambiguous=True, path=self._path(name or route))
        return data

    def _call(self, method: str, route: str, *, name: str | None = None,
              params: dict[str, Any] | None = None, body: dict[str, Any] | None = None,
              query: bool = False) -> Any:
        """One request; the envelope's `data`, or SmsIrError. `name` is the route as a
        template (send/{messageId}): metrics and errors never carry ids. `query`: a question
        that changes nothing, bounded by the query timeout."""
        name = name or route
        path = self._path(name)
        content = None
        headers = {}
        if body is not None:
            content = json.dumps({k: v for k, v in body.items() if v is not None},
                                 ensure_ascii=False).encode("utf-8")
            headers["Content-Type"] = "application/json"
        started = time.monotonic()
        code: int | None = None  # ops: what SMS.ir answered, for the metrics below
        try:
            try:
                response = self._http.request(
                    method, f"{self._base_url}/{route}", params=params, content=content,
                    headers=headers, timeout=self._query_timeout if query else httpx.USE_CLIENT_DEFAULT)
            except httpx.InvalidURL:
                raise SmsIrError(None, "invalid request URL", Kind.INVALID, path=path) from None
            except httpx.HTTPError as exc:
                raise SmsIrError(None, f"{type(exc).__name__}: {self._scrub(str(exc))}",
                                 Kind.RETRY, ambiguous=not isinstance(exc, _NOT_SENT),
                                 timed_out=isinstance(exc, httpx.TimeoutException),
                                 path=path) from None
            log.debug("smsir %s %s -> HTTP %s in %.0f ms", method, name, response.status_code,
                      (time.monotonic() - started) * 1000)
            data = self._unwrap(response, path)
            code = OK
            return data
        except SmsIrError as exc:
            code = exc.status
            raise
        finally:
            metrics.gateway_call("smsir", name, code, time.monotonic() - started)

    def _scrub(self, text: str) -> str:
        return text.replace(self._api_key, "***")

    def _unwrap(self, response: httpx.Response, path: str) -> Any:
        http_status = response.status_code
        try:
            body = response.json()
            status = int(body["status"])
            message = str(body.get("message") or "")
        except (ValueError, TypeError, KeyError, AttributeError):
            # Not SMS.ir talking (a proxy page, a truncated body): a success-looking or 5xx
            # answer may have been processed.
            kind = _classify_http(http_status)
            snippet = self._scrub(response.text[:120]).replace("\n", " ")
            raise SmsIrError(http_status, f"not an SMS.ir envelope (HTTP {http_status}, "
                             f"{response.headers.get('content-type', 'no content type')}): "
                             f"{snippet!r}", kind,
                             ambiguous=kind is Kind.RETRY and http_status not in (429,),
                             path=path) from None
        if status != OK:
            raise SmsIrError(status, f"{self._scrub(message)} (HTTP {http_status})", path=path)
        if http_status >= 300:
            # Success in the body, failure in HTTP: it was done, with an answer we cannot trust.
            raise SmsIrError(http_status, f"status 1 with HTTP {http_status}", Kind.RETRY,
                             ambiguous=True, path=path)
        return body.get("data")
