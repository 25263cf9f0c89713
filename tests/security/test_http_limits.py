"""Limits at the HTTP layer (audit finding 10): no request makes the server buffer a body of
any size, hold headers of any size, or wait for a body forever; and production publishes the
reverse proxy, not uvicorn, with no default database password.

The server here runs with the options `bazgasht serve` uses (app/limits.py server_options).
"""

import asyncio
import socket
import threading
import time
from contextlib import contextmanager

import httpx
import pytest
import uvicorn

from app.config import Settings
from app.limits import BodyLimits, server_options
from app.main import create_app
from tests.conftest import _free_port

CAP = 2 * 1024 * 1024  # Settings.max_request_body_bytes' default
CHUNK = 64 * 1024


@contextmanager
def _serving(database_url: str, **settings_values):
    """The app under the serve options, on a loopback port; stopped also on failure."""
    port = _free_port()
    settings = Settings(database_url=database_url, redis_url=None,
                        bazgasht_public_url=f"http://127.0.0.1:{port}", **settings_values)
    app = create_app(settings, background=False)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           lifespan="on", **server_options(settings)))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "server did not start"
            time.sleep(0.01)
        yield f"http://127.0.0.1:{port}", port
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.fixture(scope="module")
def limited_server(database_url):
    with _serving(database_url) as served:
        yield served


def _raw(port: int, head: bytes, body: bytes = b"") -> bytes:
    """Send a request as raw bytes, then read the answer until the server closes. A server
    that closes with part of the request unread resets the connection, which may drop its
    answer on the way: b"" then."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        answer = b""
        try:
            sock.sendall(head + body)
            while chunk := sock.recv(65536):
                answer += chunk
        except (ConnectionResetError, BrokenPipeError):
            pass
        return answer


def test_a_150_mb_body_declared_up_front_is_refused_before_a_byte_is_read(limited_server):
    _, port = limited_server
    answer = _raw(port, b"POST /api/v1/campaigns HTTP/1.1\r\nHost: x\r\n"
                        b"Content-Type: application/json\r\n"
                        b"Content-Length: 157286400\r\n\r\n", b"[")
    assert answer.startswith(b"HTTP/1.1 413 ")
    assert b'"code": "payload_too_large"' in answer
    assert str(CAP).encode() in answer  # says the limit


def test_a_streamed_150_mb_body_is_refused_at_the_cap_and_the_connection_closed(limited_server):
    base, _ = limited_server
    sent = 0

    def body():
        nonlocal sent
        yield b'{"name": "'
        while sent < 150 * 1024 * 1024:
            sent += CHUNK
            yield b"a" * CHUNK

    with httpx.Client(base_url=base, timeout=10) as client:
        try:
            response = client.post("/api/v1/campaigns", content=body(),
                                   headers={"Content-Type": "application/json"})
        except httpx.TransportError:
            response = None  # the server closed with the rest unread: a reset beat its 413
    if response is not None:
        assert response.status_code == 413
        assert response.json()["error"]["code"] == "payload_too_large"
    # The server stopped reading at the cap: the client could only push what the sockets'
    # buffers hold on top of it, not the 150 MB.
    assert sent < CAP + 16 * 1024 * 1024


def test_the_middleware_reads_no_further_than_the_cap():
    """The same, counted exactly at the ASGI boundary: the body is pulled chunk by chunk and
    the endpoint (which would read it all) never gets more than the cap."""
    pulled = 0
    answers: list[dict] = []

    async def receive():
        nonlocal pulled
        pulled += CHUNK
        return {"type": "http.request", "body": b"a" * CHUNK, "more_body": pulled < 150 * 2**20}

    async def send(message):
        answers.append(message)

    async def endpoint(scope, receive, send):  # reads everything, as FastAPI's body() does
        while (await receive())["type"] == "http.request":
            pass

    limited = BodyLimits(endpoint, max_bytes=CAP, timeout=30)
    # In a thread of its own: a browser test may have left this thread's event loop running.
    runner = threading.Thread(target=asyncio.run, args=(limited(
        {"type": "http", "headers": [(b"transfer-encoding", b"chunked")]}, receive, send),))
    runner.start()
    runner.join(30)
    assert pulled == CAP + CHUNK  # the chunk that went over, and not one more
    assert answers[0]["status"] == 413 and b"payload_too_large" in answers[1]["body"]


def test_a_body_that_never_finishes_ends_at_the_deadline(database_url):
    with _serving(database_url, body_timeout_seconds=0.5) as (_, port):
        answer = _raw(port, b"POST /webhooks/woocommerce/1 HTTP/1.1\r\nHost: x\r\n"
                            b"Content-Length: 1000\r\n\r\n", b"{" * 10)
    assert answer.startswith(b"HTTP/1.1 408 ")
    assert b'"code": "request_timeout"' in answer


def test_a_normal_request_still_passes(limited_server):
    base, _ = limited_server
    with httpx.Client(base_url=base, timeout=10) as client:
        assert client.get("/healthz").json() == {"ok": True}
        refused = client.post("/api/v1/campaigns", json={"name": "x"})  # no key: the usual 401
        assert refused.status_code == 401


def test_huge_headers_are_refused(limited_server):
    base, port = limited_server
    with httpx.Client(base_url=base, timeout=10) as client:
        # A long but sane user agent passes...
        assert client.get("/healthz", headers={"User-Agent": "a" * 10_000}).status_code == 200
    # ...a head over the limit does not: 32 KB (read in full, so the 400 arrives intact)...
    answer = _raw(port, b"GET /healthz HTTP/1.1\r\nHost: x\r\nUser-Agent: " + b"a" * 32_768)
    assert answer.startswith(b"HTTP/1.1 400 ")
    # ...nor a megabyte (the server closes with most of it unread: its 400 or a reset).
    answer = _raw(port, b"GET /healthz HTTP/1.1\r\nHost: x\r\nUser-Agent: "
                  + b"a" * (1024 * 1024) + b"\r\n\r\n")
    assert answer == b"" or answer.startswith(b"HTTP/1.1 400 ")
