"""What a log line may carry: no phone beyond its last four digits, no API key, and the ids of
the request, store and message it belongs to."""

import io
import json
import logging

import httpx
import pytest

from app.ops import logs


@pytest.mark.parametrize("phone, shown", [
    ("+989123456789", "+********6789"),
    ("00989123456789", "**********6789"),
    ("989123456789", "********6789"),
    ("09123456789", "*******6789"),
    ("9123456789", "******6789"),
    ("۰۹۱۲۳۴۵۶۷۸۹", "*******۶۷۸۹"),
    ("٠٩١٢٣٤٥٦٧٨٩", "*******٦٧٨٩"),
    ("0912 345 6789", "**** *** 6789"),
    ("0912-345-6789", "****-***-6789"),
    ("+98 912 345 6789", "+** *** *** 6789"),
])
def test_a_mobile_in_any_form_keeps_only_its_last_four_digits(phone, shown):
    assert logs.mask_phones(f"sending to {phone}.") == f"sending to {shown}."


@pytest.mark.parametrize("text", [
    "message 4512 claimed at 2026-11-24T10:00:00",
    "localid 2000000000017",           # a test send's localid: 13 digits
    "order 19123456789012 applied",    # a longer number that merely contains a mobile's shape
    "gateway id 8123456789",           # ten digits, not starting with 9
])
def test_other_numbers_are_left_alone(text):
    assert logs.mask_phones(text) == text


def test_api_keys_never_survive_redaction():
    store_key = "bz_" + "A1b2C3d4E5" * 4 + "xyz"
    woo = "ck_" + "0123456789abcdef" * 2 + "01234567"
    url = "POST https://api.kavenegar.com/v1/5A6B7C-SECRET-KEY/sms/send.json"
    text = logs.redact(f"{store_key} {woo} {url}")
    assert store_key not in text and woo not in text and "SECRET" not in text
    assert "/v1/***/sms/send.json" in text
    # Another provider's path has no key in it: left as it is, readable.
    assert logs.redact("POST https://api.sms.ir/v1/send/likeToLike") == \
        "POST https://api.sms.ir/v1/send/likeToLike"


@pytest.fixture
def captured():
    """Records of a fresh logger through a handler of ours, with redaction installed for the
    process, as the edges (asgi, serve, Celery) install it."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(logs.ContextFilter())
    handler.setFormatter(logs.JsonFormatter())
    logger = logging.getLogger("tests.ops.captured")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    logs.install_redaction()
    yield logger, stream
    logs.uninstall_redaction()
    logger.removeHandler(handler)


def lines(stream) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_any_logger_any_argument_and_tracebacks_are_redacted(captured):
    logger, stream = captured
    logger.info("customer %s replied", "+989123456789")
    try:
        raise ValueError("bad receptor 09351234567 for key bz_" + "k" * 43)
    except ValueError:
        logger.exception("send failed")
    first, second = lines(stream)
    assert first["message"] == "customer +********6789 replied"
    assert "09351234567" not in second["exception"] and "*******4567" in second["exception"]
    assert "k" * 43 not in second["exception"]
    assert "ValueError" in second["exception"]


def test_a_record_keeps_its_arguments_when_only_they_carried_the_phone(captured):
    """uvicorn's access formatter unpacks record.args: a masked path must keep that shape."""
    logger, _ = captured
    record = logger.makeRecord(logger.name, logging.INFO, __file__, 1,
                               '%s - "%s %s HTTP/%s" %d',
                               ("127.0.0.1:5000", "GET", "/api/v1/contacts?phone=09123456789",
                                "1.1", 200), None)
    assert isinstance(record.args, tuple) and len(record.args) == 5
    assert record.args[2] == "/api/v1/contacts?phone=*******6789"


def test_json_lines_carry_the_context_ids(captured):
    logger, stream = captured
    with logs.log_context(request_id="req-1"):
        logs.bind(store_id=7)
        logger.warning("message %s held", 42, extra={"message_id": 42})
    logger.info("outside")
    inside, outside = lines(stream)
    assert inside["request_id"] == "req-1" and inside["store_id"] == 7
    assert inside["message_id"] == 42 and inside["level"] == "warning"
    assert inside["logger"] == "tests.ops.captured" and inside["time"].endswith("Z")
    assert "request_id" not in outside and "store_id" not in outside


def test_configure_json_formats_the_root_handler_and_is_idempotent(monkeypatch):
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    monkeypatch.setattr(root, "handlers", [])
    try:
        logs.configure("json", "INFO")
        logs.configure("json", "INFO")
        [handler] = root.handlers
        assert isinstance(handler.formatter, logs.JsonFormatter)
        assert sum(isinstance(f, logs.ContextFilter) for f in handler.filters) == 1
    finally:
        logs.uninstall_redaction()
        root.handlers, root.level = saved[0], saved[1]


def test_the_request_id_is_honoured_or_made_and_returned(client):
    given = client.get("/healthz", headers={"X-Request-ID": "lb-7f3a.2"})
    assert given.headers["x-request-id"] == "lb-7f3a.2"
    made = client.get("/healthz")
    assert len(made.headers["x-request-id"]) == 32
    unsafe = client.get("/healthz", headers={"X-Request-ID": "two words\tand a tab"})
    assert unsafe.headers["x-request-id"] != "two words\tand a tab"
    assert len(unsafe.headers["x-request-id"]) == 32


def test_lines_logged_while_serving_a_request_carry_its_id(database_url, free_redis_url):
    """/readyz logs which dependency is down: that line names the request it served."""
    from app.config import Settings
    from tests.conftest import LiveServer

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(logs.ContextFilter())
    handler.setFormatter(logs.JsonFormatter())
    health_log = logging.getLogger("app.ops.health")
    health_log.addHandler(handler)
    try:
        with LiveServer(Settings(database_url=database_url, redis_url=free_redis_url)) as server:
            answer = httpx.get(f"{server.url}/readyz", headers={"X-Request-ID": "probe-42"},
                               timeout=10)
    finally:
        health_log.removeHandler(handler)
    assert answer.status_code == 503
    [line] = [entry for entry in lines(stream) if "Redis is down" in entry["message"]]
    assert line["request_id"] == "probe-42"
