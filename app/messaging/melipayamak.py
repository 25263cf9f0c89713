"""A small client for MeliPayamak's "console" REST API (sync httpx), with typed results and
classified errors.

The console API (https://console.melipayamak.com/api/…) takes the account's API key as the last
segment of every URL path (`/api/send/simple/{token}`) and JSON bodies. No official
documentation settled it for us (UNCONFIRMED: docs/melipayamak.md says what came from where).
Because the key is in the path, anything that prints a URL can leak it: we never put a raw URL in
our own messages, and `install_log_redaction` rewrites the request line httpx itself logs (INFO
on logger "httpx", "HTTP Request: POST <url> ...").

How a refusal looks is UNCONFIRMED too. We read a send's refusal from the id slot: a real recId
is a long number, while the panel's error codes (0 bad key, 2 no credit, 35 blacklisted, -4 bad
pattern, ...) are small, so `{"recId": 2, "status": "..."}` is code 2, whatever the HTTP status
(200 or 400). An answer with no id and only a text is classified by its HTTP status.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote

import httpx

from app.messaging.provider_client import ProviderClient, as_int
from app.messaging.provider_error import Kind, ProviderError
from app.ops import metrics

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://console.melipayamak.com/api"
# send/advanced takes a list of numbers; no source states a limit. 100 keeps a refused or lost
# call cheap (UNCONFIRMED).
MAX_ADVANCED_NUMBERS = 100
MAX_STATUS_IDS = 100  # recIds per receive/status call: no stated limit, kept modest
MAX_PAGE = 100        # count per receive/messages page
# Ids at or below this are the panel's error codes, not recIds (real recIds have 10+ digits;
# the codes we know run from -111 to 35).
MAX_ERROR_CODE = 1000
# Dates in receive/messages carry no offset; the panel shows Tehran time (UNCONFIRMED).
TEHRAN = timezone(timedelta(hours=3, minutes=30))

_TOKEN_IN_PATH = re.compile(r"(/api/(?:send|receive)/[A-Za-z0-9_]+/)[^/\s\"'?#]+")


def redact(text: str, api_key: str | None = None) -> str:
    """`text` with the key segment of any console URL (and the key itself) hidden."""
    text = _TOKEN_IN_PATH.sub(r"\1***", text)
    if api_key:
        text = text.replace(api_key, "***")
    return text


class _RedactTokenFilter(logging.Filter):
    """Rewrites records of the logger it sits on so that no console URL shows the key."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


def install_log_redaction() -> None:
    """Put the redacting filter on the "httpx" logger (idempotent), beside Kavenegar's.

    A filter, not a raised log level, for the reasons kavenegar.install_log_redaction gives:
    whoever configures logging later cannot turn the leak back on by lowering a level."""
    logger = logging.getLogger("httpx")
    if not any(isinstance(f, _RedactTokenFilter) for f in logger.filters):
        logger.addFilter(_RedactTokenFilter())


_MOBILE = re.compile(r"^(?:\+98|0098|98|0)?(9\d{9})$")


def local_number(number: str) -> str:
    """A mobile number as MeliPayamak's samples write it (09…), from +98…, 0098…, 98… or 09….
    Anything else goes as it is, for MeliPayamak to refuse."""
    match = _MOBILE.match(re.sub(r"[\s-]", "", number))
    return f"0{match[1]}" if match else number


# -- errors ---------------------------------------------------------------------------------------

# The panel's codes (SendSms, and the pattern send's negative ones) and what a caller should do.
CODES: dict[int, Kind] = {
    0: Kind.STORE,       # wrong username/password (the key)
    2: Kind.STORE,       # not enough credit
    3: Kind.RETRY,       # daily send limit: lifts by itself
    4: Kind.STORE,       # volume limit of the account
    5: Kind.STORE,       # the sender line is not valid
    6: Kind.RETRY,       # the system is being updated
    7: Kind.RECIPIENT,   # the text has filtered words
    8: Kind.INVALID,     # below the minimum
    9: Kind.STORE,       # public lines cannot send through the web service
    10: Kind.STORE,      # the panel is not active
    11: Kind.RECIPIENT,  # the number is in the panel's blacklist
    12: Kind.STORE,      # the account's documents are incomplete
    14: Kind.STORE,      # this line may not send links: the store changes line or texts
    15: Kind.INVALID,     # several numbers without «لغو11»: the same text one number per call
    16: Kind.RECIPIENT,  # the number was not found
    17: Kind.INVALID,     # empty text
    18: Kind.RECIPIENT,  # invalid number
    19: Kind.RETRY,      # hourly send limit
    35: Kind.RECIPIENT,  # the number is in the telecom blacklist
    -1: Kind.STORE,      # pattern sends are not enabled for the account
    -2: Kind.INVALID,    # a pattern send takes one number
    -3: Kind.STORE,      # no service line for the account
    -4: Kind.INVALID,    # the pattern (bodyId) is wrong or not approved
    -5: Kind.INVALID,    # the values do not match the pattern's variables
    -6: Kind.RETRY,      # internal error
    -7: Kind.STORE,      # the sender number
    -10: Kind.INVALID,   # a pattern's values may not hold links
    -108: Kind.STORE,    # the IP is blocked after failed attempts
    -109: Kind.STORE,    # the IP must be registered in the panel
    -110: Kind.STORE,    # use the API key, not the password
    -111: Kind.STORE,    # the IP is not allowed
}
# The number is on the telecom blacklist (35) or the panel's own (11): it refuses advertising SMS.
BLACKLISTED = frozenset({11, 35})


def classify(code: int | None) -> Kind:
    """What a caller should do about one of the panel's codes (None: no answer at all). A code
    we do not know is INVALID: an answer we cannot place, never silently retried."""
    if code is None:
        return Kind.RETRY
    return CODES.get(code, Kind.INVALID)


def classify_http(status: int) -> Kind:
    """What a caller should do about an answer that carries no code, by its HTTP status."""
    if status in (401, 403):
        return Kind.STORE
    if status == 429 or status >= 500:
        return Kind.RETRY
    return Kind.INVALID


class MeliPayamakError(ProviderError):
    """A failed call. `status`: the panel's code when it gave one, else the HTTP status (None: no
    answer). `ambiguous`: MeliPayamak may have acted (sent) before we lost the answer.
    `timed_out`: no answer within the deadline (asking again at once would likely wait as long)."""

    provider = "MeliPayamak"
    classify = staticmethod(classify)


# -- results --------------------------------------------------------------------------------------


def _first(raw: Mapping[str, Any], *names: str) -> Any:
    """The first of these fields present (the console's spelling is UNCONFIRMED: we read the
    legacy API's PascalCase too)."""
    return next((raw[n] for n in names if raw.get(n) is not None), None)


def is_rec_id(value: int) -> bool:
    return value > MAX_ERROR_CODE


@dataclass(frozen=True)
class Sent:
    """What a send answers: per number, in order, its recId, or the panel's code for a number
    refused alone (see is_rec_id). `status` is the panel's text ("ارسال موفق بود", say)."""

    rec_ids: tuple[int, ...]
    status: str


@dataclass(frozen=True)
class Delivery:
    """One message's state as receive/status gives it: the code (resultsAsCode) and its text."""

    rec_id: int
    code: int | None
    text: str | None


@dataclass(frozen=True)
class ConsoleMessage:
    """A message in the inbox (type "in") or the outbox (type "out") of receive/messages."""

    msg_id: int
    sender: str
    receiver: str
    body: str
    sent_at: datetime | None

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> ConsoleMessage:
        return cls(msg_id=as_int(_first(raw, "msgID", "MsgID", "id", "recId")) or 0,
                   sender=str(_first(raw, "sender", "Sender") or ""),
                   receiver=str(_first(raw, "receiver", "Receiver") or ""),
                   body=str(_first(raw, "body", "Body", "text") or ""),
                   sent_at=_date(_first(raw, "sendDate", "SendDate", "date")))


def _date(value: Any) -> datetime | None:
    try:
        when = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=TEHRAN)


@dataclass(frozen=True)
class Credit:
    amount: float  # Rial (UNCONFIRMED unit: the panel's prices read as Rial)


# -- the client -----------------------------------------------------------------------------------

# httpx exceptions raised before any byte of the request left: nothing can have been processed.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


class MeliPayamakClient(ProviderClient):
    """`read_timeout` bounds a send; `query_timeout` (at most the read timeout, 5 s by default)
    a question that changes nothing (statuses, messages, the credit)."""

    BASE_URL = DEFAULT_BASE_URL

    def __init__(self, api_key: str, **options) -> None:
        install_log_redaction()  # the key is in every URL: httpx's request lines hide it
        super().__init__(api_key, **options)

    # -- sends ----------------------------------------------------------------------------------

    def send_simple(self, to: str, text: str, *, sender: str) -> Sent:
        """One text to one number."""
        return self._send("send/simple", {"from": sender, "to": to, "text": text}, 1)

    def send_advanced(self, to: Sequence[str], text: str, *, sender: str,
                      udh: str = "") -> Sent:
        """One text to several numbers: one recId per number, in order."""
        if not to:
            raise ValueError("to must not be empty")
        if len(to) > MAX_ADVANCED_NUMBERS:
            raise ValueError(f"to: {len(to)} numbers given, we send at most "
                             f"{MAX_ADVANCED_NUMBERS} per send/advanced call")
        return self._send("send/advanced", {"from": sender, "to": list(to), "text": text,
                                            "udh": udh}, len(to))

    def send_shared(self, to: str, body_id: int, args: Sequence[str]) -> Sent:
        """An approved pattern (bodyId) filled with `args` (its %0, %1, ... in order), to one
        number, from the shared service line."""
        return self._send("send/shared", {"to": to, "bodyId": body_id, "args": list(args)}, 1)

    def _send(self, method: str, body: dict[str, Any], numbers: int) -> Sent:
        data = self._call(method, body)
        raw = data.get("recIds") if "recIds" in data else [data.get("recId")]
        ids = [as_int(i) for i in raw] if isinstance(raw, list) else []
        status = str(data.get("status") or "")
        if ids and all(i is not None and not is_rec_id(i) for i in ids):
            code = ids[0]
            raise MeliPayamakError(code, redact(status, self._api_key) or f"code {code}",
                                   path=self._path(method))
        if len(ids) != numbers or any(i is None for i in ids):
            # Taken (no refusal code) but we cannot tell under which ids.
            raise MeliPayamakError(None, f"{method} answered {raw!r} for {numbers} number(s)",
                                   Kind.RETRY, ambiguous=True, path=self._path(method))
        return Sent(tuple(i for i in ids if i is not None), status)

    # -- questions ------------------------------------------------------------------------------

    def statuses(self, rec_ids: Sequence[int]) -> list[Delivery]:
        """Delivery states by recId, in order (a short answer leaves the rest out)."""
        if not rec_ids:
            return []
        if len(rec_ids) > MAX_STATUS_IDS:
            raise ValueError(f"rec_ids: {len(rec_ids)} given, we ask at most {MAX_STATUS_IDS}")
        data = self._call("receive/status", {"recIds": [str(i) for i in rec_ids]}, query=True,
                          expect="resultsAsCode")
        codes = data.get("resultsAsCode") or []
        texts = data.get("results") or []
        if not isinstance(codes, list) or not isinstance(texts, list):
            raise MeliPayamakError(None, "receive/status: results are not lists", Kind.RETRY,
                                   path=self._path("receive/status"))
        return [Delivery(rec_id, as_int(code), str(texts[i]) if i < len(texts) else None)
                for i, (rec_id, code) in enumerate(zip(rec_ids, codes, strict=False))]

    def messages(self, kind: str, number: str, *, index: int = 0,
                 count: int = MAX_PAGE) -> list[ConsoleMessage]:
        """A page of the inbox (kind "in") or outbox ("out") of the line `number`, from
        position `index`. Whether reading the inbox marks messages read, and so hides them
        from the next read, is UNCONFIRMED: callers must work either way."""
        data = self._call("receive/messages", {"type": kind, "number": number, "index": index,
                                               "count": count}, query=True, expect="messages")
        rows = data.get("messages") or []
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            raise MeliPayamakError(None, "receive/messages: messages is not a list of objects",
                                   Kind.RETRY, path=self._path("receive/messages"))
        return [ConsoleMessage.parse(r) for r in rows]

    def credit(self) -> Credit:
        data = self._call("receive/credit", None, query=True, expect="amount")
        try:
            return Credit(float(data["amount"]))
        except (TypeError, ValueError):
            raise MeliPayamakError(None, f"receive/credit: amount {data['amount']!r} is not a "
                                   "number", Kind.RETRY, path=self._path("receive/credit")) \
                from None

    # -- transport ------------------------------------------------------------------------------

    def _path(self, method: str) -> str:
        return f"/api/{method}/***"

    def _call(self, method: str, body: dict[str, Any] | None, *, query: bool = False,
              expect: str | None = None) -> dict[str, Any]:
        """One call: the answer's object, or MeliPayamakError. `body` None is a GET. `query`: a
        question that changes nothing, bounded by the query timeout. `expect`: the field a
        successful answer has (sends have an id slot instead)."""
        path = self._path(method)
        url = f"{self._base_url}/{method}/{quote(self._api_key, safe='')}"
        started = time.monotonic()
        code: int | None = None  # ops: what MeliPayamak answered, for the metrics below
        try:
            try:
                timeout = self._query_timeout if query else httpx.USE_CLIENT_DEFAULT
                response = (self._http.get(url, timeout=timeout) if body is None
                            else self._http.post(url, json=body, timeout=timeout))
            except httpx.InvalidURL:
                raise MeliPayamakError(None, "invalid request URL", Kind.INVALID,
                                       path=path) from None
            except httpx.HTTPError as exc:
                # `from None`: the httpx exception holds the request, whose URL holds the key.
                raise MeliPayamakError(None, f"{type(exc).__name__}: "
                                       f"{redact(str(exc), self._api_key)}", Kind.RETRY,
                                       ambiguous=not isinstance(exc, _NOT_SENT),
                                       timed_out=isinstance(exc, httpx.TimeoutException),
                                       path=path) from None
            code = response.status_code
            log.debug("melipayamak %s -> HTTP %s in %.0f ms", method, code,
                      (time.monotonic() - started) * 1000)
            return self._unwrap(response, path, expect)
        finally:
            metrics.gateway_call("melipayamak", method, code, time.monotonic() - started)

    def _unwrap(self, response: httpx.Response, path: str,
                expect: str | None) -> dict[str, Any]:
        http_status = response.status_code
        try:
            data = response.json()
            if not isinstance(data, dict):
                raise TypeError("not an object")
        except (ValueError, TypeError):
            # Not MeliPayamak talking (a proxy's page, a truncated body): a success-looking or
            # 5xx answer may have been processed; a 4xx page was refused before the API.
            ambiguous = http_status < 400 or http_status >= 500
            snippet = redact(response.text[:120], self._api_key).replace("\n", " ")
            raise MeliPayamakError(http_status, f"not a MeliPayamak answer (HTTP {http_status}, "
                                   f"{response.headers.get('content-type', 'no content type')})"
                                   f": {snippet!r}",
                                   Kind.RETRY if ambiguous else classify_http(http_status),
                                   ambiguous=ambiguous, path=path) from None
        if http_status in (401, 403) or http_status == 429 or http_status >= 500:
            raise self._refused(http_status, data, path)
        if isinstance(data.get("status"), int) and "errors" in data:
            # ASP.NET's validation problem (a field missing or of the wrong type): ours.
            raise MeliPayamakError(http_status, redact(f"{data.get('title') or 'invalid'}: "
                                                       f"{data.get('errors')}", self._api_key)[:300],
                                   Kind.INVALID, path=path)
        has_answer = (expect in data) if expect else ("recId" in data or "recIds" in data)
        if not has_answer or (expect and data.get(expect) is None and http_status >= 300):
            raise self._refused(http_status, data, path)
        return data

    def _refused(self, http_status: int, data: dict[str, Any], path: str) -> MeliPayamakError:
        text = redact(str(data.get("status") or data.get("message") or ""), self._api_key)
        return MeliPayamakError(http_status, f"HTTP {http_status}: {text or 'refused'}",
                                classify_http(http_status), path=path)
