"""The lifecycle the fake outside services share (Kavenegar, a WooCommerce store): a stdlib
ThreadingHTTPServer on loopback, in a thread for tests or on the caller's thread for the CLI."""

from __future__ import annotations

import logging
import socket
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

log = logging.getLogger(__name__)


@dataclass
class Drop:
    """A fake's knob: close the next `times` calls unanswered, before or after doing the work."""

    times: int
    after_work: bool


def take_next(knobs: list[Any]) -> Any:
    """The first of a method's armed knobs (drops, faults: each with `times` left) that still
    has a use, that use spent; None when none has."""
    for knob in knobs:
        if knob.times > 0:
            knob.times -= 1
            return knob
    return None


class LoopbackServer:
    name = "fake"

    def __init__(self, handler: type[BaseHTTPRequestHandler], host: str, port: int):
        self._host = host
        self._released = threading.Event()  # set on stop(): held answers finish at once
        self._holds: dict[str, threading.Event] = {}
        self._holds_lock = threading.Lock()
        self._waiting: Counter[str] = Counter()  # answers held right now, by name
        # Open keep-alive connections (keepalive_handler): stop() ends the idle ones at once.
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        self._server = ThreadingHTTPServer((host, port), handler)
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self._host}:{self._server.server_address[1]}"

    def start(self) -> Self:
        self._released.clear()
        # A short poll interval: shutdown() waits up to one interval, once per test.
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,),
                                        daemon=True, name=self.name)
        self._thread.start()
        return self

    def hold(self, name: str) -> None:
        """Hold answers of `name` (an API method, a route) AFTER doing the work until
        `release(name)` (or stop): the test, not a clock, decides when the answer comes."""
        with self._holds_lock:
            self._holds[name] = threading.Event()

    def release(self, name: str) -> None:
        with self._holds_lock:
            gate = self._holds.pop(name, None)
        if gate is not None:
            gate.set()

    def _gate(self, name: str) -> threading.Event | None:
        """What an answer of `name` waits for, if it is held."""
        with self._holds_lock:
            return self._holds.get(name)

    def _wait_at(self, name: str, gate: threading.Event | None) -> None:
        """Hold an answer of `name` until its gate opens (untimed: release() or stop())."""
        if gate is None:
            return
        with self._holds_lock:
            self._waiting[name] += 1
        try:
            gate.wait()
        finally:
            with self._holds_lock:
                self._waiting[name] -= 1

    def handle(self, http_method: str, raw_path: str, body: bytes,
               headers: dict[str, str]) -> tuple[int, str] | None:
        """One call → (status, body), or None: close without answering (keepalive_handler)."""
        raise NotImplementedError

    def holding(self, name: str) -> int:
        """How many answers of `name` are held right now (a test waits for its call)."""
        with self._holds_lock:
            return self._waiting[name]

    def stop(self) -> None:
        with self._holds_lock:  # held answers go out now: the server waits for its handlers
            gates, self._holds = list(self._holds.values()), {}
        for gate in gates:
            gate.set()
        self._released.set()
        if self._thread:
            self._server.shutdown()
            self._thread.join()
            self._thread = None
        self._server.server_close()
        with self._connections_lock:  # idle keep-alive connections: their threads end at once
            connections, self._connections = set(self._connections), set()
        for conn in connections:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def serve_forever(self) -> None:
        """Serve on the calling thread (the CLI) until interrupted."""
        try:
            self._server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def keepalive_handler(server: LoopbackServer, *,
                      methods: Sequence[str] = ("GET", "POST"),
                      log_line: Callable[[str, str], str] = lambda path, line: line,
                      name: str = "fake") -> type[BaseHTTPRequestHandler]:
    """The request handler the fake outside services share: each call goes to `server.handle`;
    a None answer closes the connection unanswered (a lost answer). HTTP/1.1 keeps connections
    open between calls, as real gateways do; `log_line(path, line)` is what a request line may
    show in the DEBUG log (a fake whose key is in the URL redacts it there)."""

    class Handler(BaseHTTPRequestHandler):
        # HTTP/1.1 keeps connections open between calls (a connection per call made the fake
        # the bottleneck of the send benchmark); stop() closes the idle ones.
        protocol_version = "HTTP/1.1"
        # Headers and body are separate writes: on a kept-alive connection Nagle could hold the
        # body back until the client's delayed ACK (up to ~40 ms per call on Linux).
        disable_nagle_algorithm = True
        timeout = 60  # an idle connection's thread ends after this long

        def setup(self) -> None:
            super().setup()
            with server._connections_lock:
                server._connections.add(self.connection)

        def finish(self) -> None:
            with server._connections_lock:
                server._connections.discard(self.connection)
            super().finish()

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            answer = server.handle(self.command, self.path, body, dict(self.headers.items()))
            if answer is None:  # a lost answer: the connection ends without a response
                self.close_connection = True
                try:
                    self.connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                return
            status, text = answer
            payload = text.encode("utf-8")
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8"
                                 if text.startswith(("{", "[")) else "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True  # the client gave up (timed out) before we answered

        def log_message(self, format: str, *args) -> None:
            log.debug("%s: %s", name, log_line(self.path, format % args))

    for method in methods:
        setattr(Handler, f"do_{method}", Handler._serve)
    return Handler
