"""A small client for Ghasedak's REST web service (sync httpx), with typed results and classified
errors.

The API key travels in the `ApiKey` header, never in a URL, so httpx's request log line cannot
show it. It can still come back in text we did not write (a proxy page echoing the request
headers), so every text we keep from an answer is passed through `_redact` first.

Every answer is one envelope, `{isSuccess, statusCode, message, data}`; a refusal comes with
`isSuccess: false` and, as the official .NET SDK reads it, a non-2xx HTTP status. What each
`statusCode` means is not published (see docs/ghasedak.md): `classify` holds our reading.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx

from app.messaging.provider_client import ProviderClient, as_int, as_str
from app.messaging.provider_error import Kind, ProviderError
from app.ops import metrics

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://gw.ghasedak.me/Rest/api/v1/WebService"
# SendPairToPairSMS states no limit; we send at most what one CheckSmsStatus call can look up
# again (100, Ghasedak's documentation), so a lost batch is accounted for in one question.
MAX_PAIR_ITEMS = 100
MAX_STATUS_IDS = 100
# SendOtpSMS takes named inputs; its older twin (SendOtpWithParams) has Param1..Param10, and a
# template has no more parameters than that.
MAX_OTP_INPUTS = 10
# CheckSmsStatus `Type`: what the Ids are.
BY_MESSAGE_ID, BY_REFERENCE = 1, 2
# Answers give times without an offset now and then; Iran has kept UTC+03:30 all year since 2022.
TEHRAN = timezone(timedelta(hours=3, minutes=30))

# Our reading of the envelope's statusCode (no table is published): it follows HTTP's codes.
_STORE = frozenset({401, 402, 403})       # the key, the credit, a line or IP not allowed
_RECIPIENT = frozenset({422})             # the receptor refused (kept for a documented code)
_RETRY = frozenset({408, 423, 429})       # timeout, locked, too many requests


def classify(status: int | None) -> Kind:
    """What a caller should do about an envelope's statusCode (None: no answer at all)."""
    if status is None or status in _RETRY or (status is not None and 500 <= status < 600):
        return Kind.RETRY
    if status in _STORE:
        return Kind.STORE
    if status in _RECIPIENT:
        return Kind.RECIPIENT
    return Kind.INVALID


class GhasedakError(ProviderError):
    """A failed call. `ambiguous`: Ghasedak may have acted (sent) before we lost the answer.
    `timed_out`: no answer within the deadline (asking again at once would likely wait as long
    again). `path` is the method's path: it never holds the key."""

    provider = "Ghasedak"
    classify = staticmethod(classify)


def _when(value: Any) -> datetime | None:
    """An answer's ISO time; one without an offset is Tehran's."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=TEHRAN)


def _get(raw: Mapping[str, Any], name: str) -> Any:
    """A field by its camelCase name, or in any other case (the service is .NET: it reads
    names case-insensitively, and answers camelCase)."""
    if name in raw:
        return raw[name]
    lowered = name.lower()
    return next((v for k, v in raw.items() if k.lower() == lowered), None)


@dataclass(frozen=True)
class Sent:
    """One message as a send answers it (SendSingleSMS, SendPairToPairSMS, SendOtpSMS)."""

    message_id: str | None
    receptor: str | None
    line_number: str | None = None
    cost: int | None = None  # Rial (as the account's credit; see docs/ghasedak.md)
    reference: str | None = None  # our clientReferenceId, echoed
    message: str | None = None    # the text sent (an OTP: the template filled in)
    send_date: datetime | None = None

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> Sent:
        return cls(message_id=as_str(_get(raw, "messageId")), receptor=as_str(_get(raw, "receptor")),
                   line_number=as_str(_get(raw, "lineNumber")), cost=as_int(_get(raw, "cost")),
                   reference=as_str(_get(raw, "clientReferenceId")),
                   message=as_str(_get(raw, "message") or _get(raw, "messageBody")),
                   send_date=_when(_get(raw, "sendDate")))


@dataclass(frozen=True)
class Report:
    """One message as CheckSmsStatus reports it; `status` is Ghasedak's own code."""

    message_id: str | None
    reference: str | None
    status: int | None
    receptor: str | None = None
    line_number: str | None = None
    message: str | None = None
    price: int | None = None  # Rial
    send_date: datetime | None = None

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> Report:
        return cls(message_id=as_str(_get(raw, "messageId")),
                   reference=as_str(_get(raw, "clientReferenceId")),
                   status=as_int(_get(raw, "status")), receptor=as_str(_get(raw, "receptor")),
                   line_number=as_str(_get(raw, "lineNumber")), message=as_str(_get(raw, "message")),
                   price=as_int(_get(raw, "price")), send_date=_when(_get(raw, "sendDate")))


@dataclass(frozen=True)
class Received:
    id: str | None
    message: str
    sender: str
    line_number: str
    receive_date: datetime | None

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> Received:
        return cls(id=as_str(_get(raw, "id")), message=str(_get(raw, "message") or ""),
                   sender=str(_get(raw, "sender") or ""),
                   line_number=str(_get(raw, "lineNumber") or ""),
                   receive_date=_when(_get(raw, "receiveDate")))


@dataclass(frozen=True)
class Account:
    credit: int | None  # as Ghasedak reports it (Rial, we believe: see docs/ghasedak.md)
    expire_date: datetime | None
    plan: str | None

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> Account:
        return cls(credit=as_int(_get(raw, "credit")), expire_date=_when(_get(raw, "expireDate")),
                   plan=as_str(_get(raw, "plan")))


@dataclass(frozen=True)
class PairItem:
    """One message of a SendPairToPairSMS call."""

    receptor: str
    message: str
    line_number: str
    reference: str | None = None


def _limit(name: str, values: Sequence[Any], most: int) -> None:
    if not values:
        raise ValueError(f"{name} must not be empty")
    if len(values) > most:
        raise ValueError(f"{name}: {len(values)} given, Ghasedak accepts at most {most}")


def _iso(value: datetime) -> str:
    if value.tzinfo is None:
        raise ValueError("send_date must be timezone-aware")
    return value.isoformat()


def _without_none(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if v is not None}


# httpx exceptions raised before any byte of the request left: nothing can have been processed.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


class GhasedakClient(ProviderClient):
    """`read_timeout` bounds a send; `query_timeout` (at most the read timeout, 5 s by default)
    a question that changes nothing (statuses, inbox, the credit): small, quick answers whose
    callers ask again rather than wait."""

    BASE_URL = DEFAULT_BASE_URL

    def _headers(self, api_key: str) -> dict[str, str]:
        return {"ApiKey": api_key}

    # -- methods -------------------------------------------------------------------------------

    def send_single(self, receptor: str, message: str, *, line_number: str | None = None,
                    reference: str | None = None, send_date: datetime | None = None) -> Sent:
        """One text to one receptor. Without a line, Ghasedak picks one of the account's."""
        body = _without_none({
            "lineNumber": line_number, "receptor": receptor, "message": message,
            "clientReferenceId": reference,
            "sendDate": None if send_date is None else _iso(send_date), "udh": False})
        data = self._post("SendSingleSMS", body)
        if not isinstance(data, dict):
            raise self._no_data("SendSingleSMS")
        return Sent.parse(data)

    def send_pair_to_pair(self, items: Sequence[PairItem]) -> list[Sent]:
        """A text (and line) per receptor, in one call; each with our reference."""
        _limit("items", items, MAX_PAIR_ITEMS)
        body = {"items": [_without_none({
            "lineNumber": i.line_number, "receptor": i.receptor, "message": i.message,
            "clientReferenceId": i.reference}) for i in items], "udh": False}
        return [Sent.parse(e) for e in self._items("SendPairToPairSMS", self._post(
            "SendPairToPairSMS", body))]

    def send_otp(self, receptor: str, template: str, inputs: Mapping[str, str], *,
                 reference: str | None = None) -> Sent:
        """A message from an approved template (OTP, "pattern"): one receptor per call."""
        if not inputs:
            raise ValueError("a template needs at least one input")
        if len(inputs) > MAX_OTP_INPUTS:
            raise ValueError(f"inputs: {len(inputs)} given, Ghasedak accepts at most "
                             f"{MAX_OTP_INPUTS}")
        body = {"receptors": [_without_none({"mobile": receptor, "clientReferenceId": reference})],
                "templateName": template,
                "inputs": [{"param": k, "value": v} for k, v in inputs.items()],
                "udh": False, "isVoice": False}
        data = self._post("SendOtpSMS", body)
        items = self._items("SendOtpSMS", data)
        if not items:
            raise self._no_data("SendOtpSMS")
        return Sent.parse(items[0])

    def status(self, ids: Sequence[str], *, by: int = BY_MESSAGE_ID) -> list[Report]:
        """Reports of sent messages by Ghasedak's message ids, or (by=BY_REFERENCE) by our
        clientReferenceIds: the way to learn whether an ambiguous send went out."""
        _limit("ids", ids, MAX_STATUS_IDS)
        # A comma list, as the documentation, the php and the .NET SDKs send it.
        data = self._get("CheckSmsStatus", {"Ids": ",".join(ids), "Type": by})
        rows = data if isinstance(data, list) else self._items("CheckSmsStatus", data)
        return [Report.parse(r) for r in rows if isinstance(r, dict)]

    def received(self, line_number: str, *, is_read: bool) -> list[Received]:
        """The latest texts to a line. Unread ones (is_read=False) are marked read by the
        reading: keep what comes back before acting on it."""
        data = self._get("GetReceivedSmses", {"LineNumber": line_number,
                                              "IsRead": "true" if is_read else "false"})
        return [Received.parse(r) for r in self._items("GetReceivedSmses", data)]

    def account(self) -> Account:
        data = self._get("GetAccountInformation", {})
        return Account.parse(data if isinstance(data, dict) else {})

    # -- transport -----------------------------------------------------------------------------

    def _post(self, method: str, body: dict[str, Any]) -> Any:
        return self._call("POST", method, json=body)

    def _get(self, method: str, params: dict[str, Any]) -> Any:
        return self._call("GET", method, params=params, query=True)

    def _no_data(self, method: str) -> GhasedakError:
        # isSuccess with nothing in it: it may well have sent; we cannot tell what.
        return GhasedakError(200, f"{method} succeeded without data", Kind.RETRY,
                             ambiguous=True, path=f"/{method}")

    def _items(self, method: str, data: Any) -> list[dict[str, Any]]:
        items = _get(data, "items") if isinstance(data, dict) else None
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            raise GhasedakError(200, f"{method}: data has no list of items", Kind.RETRY,
                                ambiguous=True, path=f"/{method}")
        return items

    def _call(self, http_method: str, method: str, *, json: dict[str, Any] | None = None,
              params: dict[str, Any] | None = None, query: bool = False) -> Any:
        """Call `method`; return the envelope's `data` or raise GhasedakError. `query`: a
        question that changes nothing, bounded by the query timeout."""
        path = f"/{method}"
        started = time.monotonic()
        code: int | None = None  # ops: what Ghasedak answered, for the metrics below
        try:
            try:
                response = self._http.request(
                    http_method, f"{self._base_url}{path}", json=json, params=params,
                    timeout=self._query_timeout if query else httpx.USE_CLIENT_DEFAULT)
            except httpx.InvalidURL:
                raise GhasedakError(None, "invalid request URL", Kind.INVALID, path=path) from None
            except httpx.HTTPError as exc:
                # `from None`: nothing of the request (its headers hold the key) rides along.
                raise GhasedakError(None, f"{type(exc).__name__}: {self._redact(str(exc))}",
                                    Kind.RETRY, ambiguous=not isinstance(exc, _NOT_SENT),
                                    timed_out=isinstance(exc, httpx.TimeoutException),
                                    path=path) from None
            log.debug("ghasedak %s -> HTTP %s in %.0f ms", method, response.status_code,
                      (time.monotonic() - started) * 1000)
            data = self._unwrap(response, path)
            code = 200
            return data
        except GhasedakError as exc:
            code = exc.status
            raise
        finally:
            metrics.gateway_call("ghasedak", method, code, time.monotonic() - started)

    def _unwrap(self, response: httpx.Response, path: str) -> Any:
        http_status = response.status_code
        try:
            body = response.json()
            success = body["isSuccess"]
            status = int(body["statusCode"]) if body.get("statusCode") is not None else None
            if not isinstance(success, bool):
                raise TypeError("isSuccess is not a boolean")
        except (ValueError, TypeError, KeyError, AttributeError):
            # Not Ghasedak talking (a proxy page, a truncated body): a success-looking or 5xx
            # answer may have been processed.
            kind = classify(http_status) if http_status >= 400 else Kind.RETRY
            snippet = self._redact(response.text[:120]).replace("\n", " ")
            raise GhasedakError(http_status, f"not a Ghasedak envelope (HTTP {http_status}, "
                                f"{response.headers.get('content-type', 'no content type')}): "
                                f"{snippet!r}", kind,
                                ambiguous=kind is Kind.RETRY and http_status not in _RETRY,
                                path=path) from None
        if not success:
            message = self._redact(str(body.get("message") or ""))
            # The envelope's code, or the HTTP status when it carries none (or says 200). A
            # refusal that names no error is a passing one: the caller's retries are bounded.
            code = status if status and status != 200 else http_status
            raise GhasedakError(code, message or f"refused (HTTP {http_status})",
                                Kind.RETRY if code == 200 else classify(code), path=path)
        return body.get("data")

    def _redact(self, text: str) -> str:
        return text.replace(self._api_key, "***")
