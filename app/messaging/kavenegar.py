"""A small client for Kavenegar's REST API (sync httpx), with typed results and classified errors.

The API key is part of every URL (`/v1/{key}/sms/send.json`), so anything that prints a URL can
leak it. We never put a raw URL in our own messages, and `install_log_redaction` rewrites the one
line httpx itself emits (INFO on logger "httpx", "HTTP Request: POST <url> ...").
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

import httpx

from app.messaging.provider_client import ProviderClient, as_int, as_str
from app.messaging.provider_error import Kind, ProviderError
from app.ops import metrics
from app.ops.logs import redact_kavenegar_key as redact

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.kavenegar.com"
MAX_SEND_RECEPTORS = 200
MAX_STATUS_IDS = 500
# Name of sendarray's per-message id field. SDKs disagree (dotnet and the node typings:
# `localmessageids`, php: `localmessageid`, go: `localid`); the dotnet/REST spelling is our guess.
# We never rely on it alone: our database stays the real guard against duplicates.
SENDARRAY_LOCALID_FIELD = "localmessageids"

# verify/lookup tokens. token, token2 and token3 may hold no space at all (else 431); token10
# and token20 allow a few. Kavenegar's documentation (as the node SDK quotes it) says 5 for
# token10 and 8 for token20, each up to 100 characters; its support once told a merchant 4 for
# token10 (kavenegar-php issue #8, 2019). Where sources disagree we take the stricter figure.
LOOKUP_TOKENS = ("token", "token2", "token3", "token10", "token20")
LOOKUP_TOKEN_SPACES = {"token": 0, "token2": 0, "token3": 0, "token10": 4, "token20": 8}
MAX_LOOKUP_TOKEN_CHARS = 100
# What stands in for a space a token may not hold: the zero-width non-joiner (Persian
# "half-space"). Between Persian words it reads naturally (چای‌سبز); an underscore would show.
# It is not whitespace to Kavenegar (nor to .NET's char.IsWhiteSpace or Python's str.split).
ZWNJ = "\u200c"


class TokenProblem(ValueError):
    """A rendered token that cannot be sent as it is (the message names the token)."""


def fit_token(name: str, value: str) -> str:
    """A rendered token value made acceptable to verify/lookup, or TokenProblem.

    Whitespace is folded to single spaces; spaces beyond what the token allows become ZWNJs
    (the first ones are kept). Over 100 characters, text is cut with an ellipsis, but a link is
    refused: a cut link is worse than no message.
    """
    allowed = LOOKUP_TOKEN_SPACES[name]
    words = value.split()
    value = " ".join(words[:allowed + 1]) + "".join(ZWNJ + w for w in words[allowed + 1:]) \
        if words else ""
    if len(value) > MAX_LOOKUP_TOKEN_CHARS:
        if "://" in value:
            raise TokenProblem(f"{name} is a link of {len(value)} characters; verify/lookup "
                               f"accepts {MAX_LOOKUP_TOKEN_CHARS}")
        value = value[:MAX_LOOKUP_TOKEN_CHARS - 1].rstrip(" " + ZWNJ) + "…"
    return value


class _RedactKeyFilter(logging.Filter):
    """Rewrites records of the logger it sits on so that no URL shows the key."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


def install_log_redaction() -> None:
    """Put the redacting filter on the "httpx" logger (idempotent).

    A filter, not a raised log level: httpx's request lines stay useful for debugging, and
    whoever configures logging later cannot turn the leak back on by lowering a level. A logger
    filter only sees records logged on that exact logger; httpx logs on "httpx" itself, and
    httpcore's DEBUG lines carry no URL (the tests assert both).
    """
    logger = logging.getLogger("httpx")
    if not any(isinstance(f, _RedactKeyFilter) for f in logger.filters):
        logger.addFilter(_RedactKeyFilter())


_RECIPIENT = frozenset({411, 413, 420, 422})
# 426, 427 and 501 are capabilities of the store's account or line (advanced service, line
# access level, test account restricted to the owner's number): only the store owner fixes them.
_STORE = frozenset({401, 403, 407, 412, 416, 418, 426, 427, 429, 501})
# 402 "operation failed" is Kavenegar's generic failure with no hint of a bad request; it is an
# answer (so the send did not happen), hence a plain, non-ambiguous retry, bounded by the caller.
_RETRY = frozenset({402, 409, 451})


def classify(status: int | None) -> Kind:
    """What a caller should do about a Kavenegar `return.status` (None: no answer at all)."""
    if status is None or status in _RETRY:
        return Kind.RETRY
    if status in _RECIPIENT:
        return Kind.RECIPIENT
    if status in _STORE:
        return Kind.STORE
    if 500 <= status < 600:
        return Kind.RETRY
    return Kind.INVALID


class KavenegarError(ProviderError):
    """A failed call. `ambiguous` means the gateway may have acted (e.g. sent) before we lost it:
    check `status_by_localid` before sending again. `timed_out`: no answer within the deadline
    (asking again at once would likely wait as long again)."""

    provider = "Kavenegar"
    classify = staticmethod(classify)


@dataclass(frozen=True)
class Entry:
    """One message as Kavenegar reports it (send, sendarray, lookup, status, cancel).

    Status answers carry only some fields; the rest stay None."""

    messageid: int | None
    status: int | None
    statustext: str | None = None
    message: str | None = None
    sender: str | None = None
    receptor: str | None = None
    date: int | None = None  # unix seconds
    cost: int | None = None  # Rial
    localid: int | None = None  # statuslocalmessageid echoes it

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> Entry:
        return cls(messageid=as_int(raw.get("messageid")), status=as_int(raw.get("status")),
                   statustext=as_str(raw.get("statustext")), message=as_str(raw.get("message")),
                   sender=as_str(raw.get("sender")), receptor=as_str(raw.get("receptor")),
                   date=as_int(raw.get("date")), cost=as_int(raw.get("cost")),
                   localid=as_int(raw.get("localid")))


@dataclass(frozen=True)
class InboundMessage:
    messageid: int | None
    message: str
    sender: str
    receptor: str
    date: int | None

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> InboundMessage:
        return cls(messageid=as_int(raw.get("messageid")), message=str(raw.get("message", "")),
                   sender=str(raw.get("sender", "")), receptor=str(raw.get("receptor", "")),
                   date=as_int(raw.get("date")))


@dataclass(frozen=True)
class AccountInfo:
    remaincredit: int | None  # Rial
    expiredate: int | None    # unix seconds
    type: str | None

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> AccountInfo:
        return cls(remaincredit=as_int(raw.get("remaincredit")),
                   expiredate=as_int(raw.get("expiredate")), type=as_str(raw.get("type")))


def _csv(values: Iterable[Any]) -> str:
    return ",".join(str(v) for v in values)


def _json_array(values: Sequence[Any]) -> str:
    # Compact UTF-8 JSON, as the Go SDK sends it (php's \u-escaped form parses the same).
    return json.dumps(list(values), ensure_ascii=False, separators=(",", ":"))


def _unix(value: datetime | int) -> int:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("date must be timezone-aware")
        return int(value.timestamp())
    return int(value)


def _limit(name: str, values: Sequence[Any], most: int) -> None:
    if not values:
        raise ValueError(f"{name} must not be empty")
    if len(values) > most:
        raise ValueError(f"{name}: {len(values)} given, Kavenegar accepts at most {most}")


# httpx exceptions raised before any byte of the request left: nothing can have been processed.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


class KavenegarClient(ProviderClient):
    """`read_timeout` bounds a send; `query_timeout` (at most the read timeout, 5 s by default)
    a question that changes nothing (statuses, the credit): those are small, quick answers,
    and their callers ask again rather than wait."""

    BASE_URL = DEFAULT_BASE_URL

    def __init__(self, api_key: str, **options) -> None:
        install_log_redaction()  # the key is in every URL: httpx's request lines hide it
        super().__init__(api_key, **options)

    def _headers(self, api_key: str) -> dict[str, str]:
        return {"Content-Type": "application/x-www-form-urlencoded"}

    # -- methods -------------------------------------------------------------------------------

    def send(self, receptors: list[str], message: str, *, sender: str | None = None,
             localids: list[int] | None = None, date: datetime | int | None = None,
             type: int | None = None, hide: bool | None = None,
             tag: str | None = None) -> list[Entry]:
        """One text to up to 200 receptors; `localids[i]` is our id for `receptors[i]`."""
        _limit("receptors", receptors, MAX_SEND_RECEPTORS)
        if localids is not None and len(localids) != len(receptors):
            raise ValueError("localids must match receptors one to one")
        params = {
            "receptor": _csv(receptors), "message": message, "sender": sender,
            "date": None if date is None else _unix(date), "type": type,
            "localid": None if localids is None else _csv(localids),
            "hide": 1 if hide else None, "tag": tag,
        }
        return self._entries("sms", "send", params)

    def sendarray(self, receptors: list[str], senders: list[str], messages: list[str],
                  localids: list[int] | None = None) -> list[Entry]:
        """A different text (and line) per receptor, in one call."""
        _limit("receptors", receptors, MAX_SEND_RECEPTORS)
        lengths = {len(receptors), len(senders), len(messages)}
        if localids is not None:
            lengths.add(len(localids))
        if len(lengths) != 1:
            raise ValueError("receptors, senders, messages (and localids) must have equal lengths")
        params = {
            "receptor": _json_array(receptors), "sender": _json_array(senders),
            "message": _json_array(messages),
            SENDARRAY_LOCALID_FIELD: None if localids is None else _json_array(localids),
        }
        return self._entries("sms", "sendarray", params)

    def verify_lookup(self, receptor: str, template: str, token: str, token2: str | None = None,
                      token3: str | None = None, token10: str | None = None,
                      token20: str | None = None, type: str = "sms") -> Entry:
        params = {"receptor": receptor, "template": template, "token": token, "token2": token2,
                  "token3": token3, "token10": token10, "token20": token20, "type": type}
        entries = self._entries("verify", "lookup", params)
        if not entries:
            raise KavenegarError(None, "verify/lookup answered 200 without an entry",
                                 Kind.RETRY, ambiguous=True, path=self._path("verify", "lookup"))
        return entries[0]

    def status(self, messageids: list[int]) -> list[Entry]:
        _limit("messageids", messageids, MAX_STATUS_IDS)
        return self._entries("sms", "status", {"messageid": _csv(messageids)}, query=True)

    def status_by_localid(self, localids: list[int]) -> list[Entry]:
        """Statuses by our own ids: the way to learn whether an ambiguous send went out."""
        _limit("localids", localids, MAX_STATUS_IDS)
        return self._entries("sms", "statuslocalmessageid", {"localid": _csv(localids)},
                             query=True)

    def receive(self, linenumber: str, isread: bool) -> list[InboundMessage]:
        """Inbound texts on a line. Reading unread ones (isread=False) marks them read at
        Kavenegar: persist what comes back before processing it."""
        raw = self._call("sms", "receive", {"linenumber": linenumber, "isread": 1 if isread else 0})
        return [InboundMessage.parse(e) for e in raw]

    def account_info(self) -> AccountInfo:
        raw = self._call("account", "info", {}, query=True)
        return AccountInfo.parse(raw[0] if raw else {})

    def cancel(self, messageids: list[int]) -> list[Entry]:
        """Cancel scheduled messages (status 13 when it worked)."""
        _limit("messageids", messageids, MAX_STATUS_IDS)
        return self._entries("sms", "cancel", {"messageid": _csv(messageids)})

    # -- transport -----------------------------------------------------------------------------

    def _path(self, scope: str, method: str) -> str:
        return f"/v1/***/{scope}/{method}.json"

    def _entries(self, scope: str, method: str, params: dict[str, Any], *,
                 query: bool = False) -> list[Entry]:
        return [Entry.parse(e) for e in self._call(scope, method, params, query=query)]

    def _call(self, scope: str, method: str, params: dict[str, Any], *,
              query: bool = False) -> list[dict[str, Any]]:
        """POST the form, return `entries` as a list of objects, or raise KavenegarError.
        `query`: a question that changes nothing, bounded by the query timeout."""
        path = self._path(scope, method)
        url = f"{self._base_url}/v1/{quote(self._api_key, safe='')}/{scope}/{method}.json"
        # httpx would send None as an empty field; the SDKs (requests) leave such keys out.
        form = {k: str(v) for k, v in params.items() if v is not None}
        started = time.monotonic()
        code: int | None = None  # ops: what the gateway answered, for the metrics below
        try:
            try:
                response = (self._http.post(url, data=form, timeout=self._query_timeout)
                            if query else self._http.post(url, data=form))
            except httpx.InvalidURL:
                raise KavenegarError(None, "invalid request URL", Kind.INVALID, path=path) from None
            except httpx.HTTPError as exc:
                # `from None`: the httpx exception holds the request, whose URL holds the key.
                raise KavenegarError(None, f"{type(exc).__name__}: "
                                     f"{redact(str(exc), self._api_key)}", Kind.RETRY,
                                     ambiguous=not isinstance(exc, _NOT_SENT), path=path,
                                     timed_out=isinstance(exc, httpx.TimeoutException)) from None
            log.debug("kavenegar %s/%s -> HTTP %s in %.0f ms", scope, method,
                      response.status_code, (time.monotonic() - started) * 1000)
            entries = self._unwrap(response, path)
            code = 200
            return entries
        except KavenegarError as exc:
            code = exc.status
            raise
        finally:
            metrics.gateway_call("kavenegar", f"{scope}/{method}", code,
                                 time.monotonic() - started)

    def _unwrap(self, response: httpx.Response, path: str) -> list[dict[str, Any]]:
        http_status = response.status_code
        try:
            body = response.json()
            outcome = body["return"]
            status = int(outcome["status"])
        except (ValueError, TypeError, KeyError):
            # Not Kavenegar talking (a proxy page, a truncated body): we cannot know what
            # happened, so a success-looking or 5xx answer is a retry that may have been processed.
            kind = classify(http_status) if http_status >= 400 else Kind.RETRY
            snippet = redact(response.text[:120], self._api_key).replace("\n", " ")
            raise KavenegarError(http_status, f"not a Kavenegar envelope (HTTP {http_status}, "
                                 f"{response.headers.get('content-type', 'no content type')}): "
                                 f"{snippet!r}", kind, ambiguous=kind is Kind.RETRY,
                                 path=path) from None
        if status != 200:
            message = str(outcome.get("message") or "")
            raise KavenegarError(status, redact(message, self._api_key), path=path)
        entries = body.get("entries")
        if entries is None:
            return []
        # Some answers carry one object instead of a list (verify/lookup samples, account/info).
        items = [entries] if isinstance(entries, dict) else entries
        if not isinstance(items, list) or not all(isinstance(e, dict) for e in items):
            raise KavenegarError(http_status, "entries is neither an object nor a list of objects",
                                 Kind.RETRY, ambiguous=True, path=path)
        return items
