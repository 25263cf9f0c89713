"""Limits at the HTTP layer, before any endpoint or authentication runs.

- A request body is capped at MAX_REQUEST_BODY_BYTES: a larger Content-Length is refused with
  413 before a byte is read; a body sent without one (chunked) is counted as it arrives and
  refused the moment it passes the cap, so nothing past it is ever buffered.
- A body must arrive within BODY_TIMEOUT_SECONDS of the request's start (slow uploads hold a
  connection and a task each): 408 then.
Either way the endpoint, still reading, sees the client gone, and the server closes the
connection (the rest of the body is never read).

Header size and keep-alive are the server's (`server_options`, used by `bazgasht serve`);
slow headers are the reverse proxy's to time out (README, "Security").
"""

import asyncio
import json

from app.config import Settings

_DISCONNECT = {"type": "http.disconnect"}


def server_options(settings: Settings) -> dict:
    """uvicorn's options that bound what one connection can make the server hold: headers
    (h11 refuses a request whose head is larger, with 400; httptools has no such limit) and
    idle keep-alive connections."""
    return dict(http="h11", h11_max_incomplete_event_size=settings.max_header_bytes,
                timeout_keep_alive=settings.keep_alive_seconds)


def _error(status: int, code: str, message: str) -> tuple[dict, dict]:
    body = json.dumps({"error": {"code": code, "message": message}}).encode()
    return ({"type": "http.response.start", "status": status,
             "headers": [(b"content-type", b"application/json"),
                         (b"content-length", str(len(body)).encode()),
                         (b"connection", b"close")]},
            {"type": "http.response.body", "body": body})


class BodyLimits:
    """Pure ASGI middleware: no copy of the body, one counter per request."""

    def __init__(self, app, *, max_bytes: int, timeout: float):
        self.app, self.max_bytes, self.timeout = app, max_bytes, timeout

    def _too_large(self) -> tuple[dict, dict]:
        return _error(413, "payload_too_large",
                      f"request bodies are limited to {self.max_bytes} bytes")

    def _too_slow(self) -> tuple[dict, dict]:
        return _error(408, "request_timeout",
                      f"the request body did not arrive within {self.timeout:g} seconds")

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        has_body = False
        for name, value in scope["headers"]:
            if name == b"content-length":
                if value.isdigit() and int(value) > self.max_bytes:
                    for message in self._too_large():
                        await send(message)
                    return None
                has_body = value != b"0"
            elif name == b"transfer-encoding":
                has_body = True
        if not has_body:  # most requests (the redirect): nothing to count or wait for
            return await self.app(scope, receive, send)
        deadline = asyncio.get_running_loop().time() + self.timeout
        received = 0
        answered = False  # by us: what the endpoint sends afterwards goes nowhere
        started = False
        complete = False

        async def refuse(messages: tuple[dict, dict]) -> dict:
            nonlocal answered
            if not started:
                for message in messages:
                    await send(message)
            answered = True
            return _DISCONNECT

        async def limited_receive() -> dict:
            nonlocal received, complete
            if answered:
                return _DISCONNECT
            if complete:  # the body is in: what follows is waiting for a disconnect
                return await receive()
            try:
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                return await refuse(self._too_slow())
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    return await refuse(self._too_large())
                complete = not message.get("more_body", False)
            return message

        async def guarded_send(message: dict) -> None:
            nonlocal started
            if answered:
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except Exception:
            if not answered:
                raise
            # The endpoint failed because we cut its body off (Starlette's ClientDisconnect):
            # already answered, nothing to report.
