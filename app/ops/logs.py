"""Logs: text for a person at a terminal (embedded default), JSON lines in production.

Every record, whoever logs it and whichever handler writes it, has phone numbers masked to their
last four digits and API keys removed before any handler sees it: `install_redaction` puts that
into the logging module's record factory, so a library's logger, a handler added later (Celery
adds its own) or an exception's traceback cannot carry them out.

Context (request id, store id, message id) lives in a context variable holding one mutable dict
per request or task: FastAPI runs sync code in threads on copies of the context, and a shared
dict lets what one of them learns (the store) show in the lines of the others.
"""

import contextvars
import json
import logging
import re
import sys
import traceback
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone

CONTEXT_FIELDS = ("request_id", "task_id", "job", "store_id", "message_id")

_context: contextvars.ContextVar[dict | None] = contextvars.ContextVar("bazgasht_log_context",
                                                                       default=None)

# ---- redaction ------------------------------------------------------------------------------

_DIGIT = r"[0-9۰-۹٠-٩]"
_SEP = r"[\s\-\u200c\u200e\u200f\u202a-\u202e]?"  # a space, dash or direction mark between groups
# An Iranian mobile in any form people type it: +98 / 0098 / 98 / 0 / nothing, then 9 and nine
# more digits (Latin, Persian or Arabic-Indic), optionally grouped. Not inside a longer number.
_MOBILE = re.compile(
    rf"(?<![0-9۰-۹٠-٩])"
    rf"(?:(?:\+|00)?(?:98|۹۸|٩٨){_SEP}|[0۰٠])?"
    rf"[9۹٩](?:{_SEP}{_DIGIT}){{9}}"
    rf"(?![0-9۰-۹٠-٩])")
_ANY_DIGIT = re.compile(_DIGIT)
# Our store API keys, WooCommerce REST keys; Kavenegar keys sit in URL paths (redacted there).
_KEYS = re.compile(r"\bbz_[A-Za-z0-9]{43}\b|\b(?:ck|cs)_[0-9a-f]{40}\b")
# Kavenegar puts the API key in every URL's path: /v1/{key}/sms/send.json (other providers'
# paths, such as SMS.ir's /v1/send/bulk, end in no {scope}/{method}.json and are left alone).
_KAVENEGAR_KEY_IN_PATH = re.compile(r"/v1/[^/\s\"'?#]+/(?=[a-z]+/[a-z]+\.json)")
# Our own receive URL carries its secret as the last segment (app/messaging/kavenegar_push.py):
# an access line for it must not hand the URL to whoever reads the logs. Its query string (a
# GET push: the customer's number and text) goes with it.
_RECEIVE_TOKEN_IN_PATH = re.compile(r"(/hooks/kavenegar/[^/\s\"'?#]*/)[^\s\"'#]+")


def redact_kavenegar_key(text: str, api_key: str | None = None) -> str:
    """Hide the key segment of any Kavenegar URL in `text` (and the key itself, wherever it is)."""
    text = _KAVENEGAR_KEY_IN_PATH.sub("/v1/***/", text)
    if api_key:
        text = text.replace(api_key, "***")
    return text


def mask_phones(text: str) -> str:
    """Every Iranian mobile number in `text` with all but its last four digits starred."""
    def mask(match: re.Match) -> str:
        value = match.group(0)
        digits = [m.start() for m in _ANY_DIGIT.finditer(value)]
        hide = set(digits[:-4])
        return "".join("*" if i in hide else ch for i, ch in enumerate(value))

    return _MOBILE.sub(mask, text)


def redact(text: str) -> str:
    """What a log line may show of `text`: phones masked, API keys and key-bearing URLs hidden
    (Kavenegar's, and our receive URL's token)."""
    text = _RECEIVE_TOKEN_IN_PATH.sub(r"\1***", redact_kavenegar_key(text))
    return _KEYS.sub("***", mask_phones(text))


class RedactFilter(logging.Filter):
    """Rewrites a record so that neither its message nor its traceback shows a phone or a key."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: leave it to the handler to report
            return True
        clean = redact(message)
        if clean != message:
            self._rewrite(record, clean)
        if record.exc_info and not record.exc_text:
            record.exc_text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True

    @staticmethod
    def _rewrite(record: logging.LogRecord, clean: str) -> None:
        # Keep the record's shape where the redacted parts still make the redacted line: some
        # formatters read record.args themselves (uvicorn's access lines unpack them).
        if isinstance(record.args, tuple) and isinstance(record.msg, str):
            args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
            msg = redact(record.msg)
            try:
                if (msg % args if args else msg) == clean:
                    record.msg, record.args = msg, args
                    return
            except (TypeError, ValueError):
                pass
        record.msg, record.args = clean, None


_redact_filter = RedactFilter()


def install_redaction() -> None:
    """Redact every record of this process as it is made (idempotent)."""
    factory = logging.getLogRecordFactory()
    if getattr(factory, "bazgasht_redacting", False):
        return

    def make_record(*args, **kwargs) -> logging.LogRecord:
        record = factory(*args, **kwargs)
        _redact_filter.filter(record)
        return record

    make_record.bazgasht_redacting = True
    make_record.wrapped = factory
    logging.setLogRecordFactory(make_record)


def uninstall_redaction() -> None:
    factory = logging.getLogRecordFactory()
    if getattr(factory, "bazgasht_redacting", False):
        logging.setLogRecordFactory(factory.wrapped)


# ---- context ----------------------------------------------------------------------------------

def context() -> dict:
    return _context.get() or {}


@contextmanager
def log_context(**fields) -> Iterator[dict]:
    """Fields for every line logged inside, nested contexts adding to their parents'."""
    token = _context.set(context() | {k: v for k, v in fields.items() if v is not None})
    try:
        yield _context.get()
    finally:
        _context.reset(token)


def bind(**fields) -> None:
    """Add fields to the current request's or task's context (seen by all its threads)."""
    current = _context.get()
    if current is None:
        _context.set({k: v for k, v in fields.items() if v is not None})
    else:
        current.update({k: v for k, v in fields.items() if v is not None})


class ContextFilter(logging.Filter):
    """Copies the context's fields onto the record (unless the call gave them in `extra`)."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in context().items():
            if not hasattr(record, key):
                setattr(record, key, value)
        return True


# ---- formats ----------------------------------------------------------------------------------

class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC), level, logger, message, the context's ids, and the
    traceback if any."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, timezone.utc)
            .isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in CONTEXT_FIELDS:
            value = getattr(record, key, None)
            if value is None:
                value = context().get(key)
            if value is not None:
                line[key] = value
        if record.exc_info and not record.exc_text:
            record.exc_text = redact(self.formatException(record.exc_info))
        if record.exc_text:
            line["exception"] = record.exc_text
        if record.stack_info:
            line["stack"] = record.stack_info
        return json.dumps(line, ensure_ascii=False, default=str)


TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_BAZGASHT_HANDLER = "bazgasht"


def configure(log_format: str = "text", level: str = "INFO", *,
              loggers: tuple[str, ...] = ("uvicorn", "uvicorn.error", "uvicorn.access",
                                          "celery", "celery.task")) -> None:
    """Process-wide logging for the edges (the ASGI module, `serve`, Celery workers): redaction
    for every record, one stream handler on the root logger in the chosen format, and the same
    format on the handlers uvicorn and Celery installed on their own loggers. Idempotent."""
    install_redaction()
    formatter = JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT)
    root = logging.getLogger()
    ours = next((h for h in root.handlers if h.get_name() == _BAZGASHT_HANDLER), None)
    if ours is None and not root.handlers:
        ours = logging.StreamHandler(sys.stderr)
        ours.set_name(_BAZGASHT_HANDLER)
        root.addHandler(ours)
    root.setLevel(level.upper())
    handlers = list(root.handlers)
    for name in loggers:
        handlers += logging.getLogger(name).handlers
    for handler in handlers:
        if not any(isinstance(f, ContextFilter) for f in handler.filters):
            handler.addFilter(ContextFilter())
        if log_format == "json" or handler is ours:
            handler.setFormatter(formatter)


# ---- request ids ------------------------------------------------------------------------------

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")


def request_id_from(header: str | None) -> str:
    """The caller's X-Request-ID if it is a sane token, else a new one."""
    if header and _REQUEST_ID.match(header):
        return header
    return uuid.uuid4().hex


class RequestIdMiddleware:
    """Pure ASGI (no per-request task or body copy): honours or makes X-Request-ID, puts it in
    the log context for the request, and returns it on the response."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        given = None
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                given = value.decode("latin-1")
                break
        request_id = request_id_from(given)
        header = (b"x-request-id", request_id.encode())

        async def send_with_id(message):
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), header]
            await send(message)

        token = _context.set({"request_id": request_id})
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            _context.reset(token)
