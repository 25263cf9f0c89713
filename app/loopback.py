"""The lifecycle the fake outside services share (Kavenegar, a WooCommerce store): a stdlib
ThreadingHTTPServer on loopback, in a thread for tests or on the caller's thread for the CLI."""

from __future__ import annotations

import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self


class LoopbackServer:
    name = "fake"

    def __init__(self, handler: type[BaseHTTPRequestHandler], host: str, port: int):
        self._host = host
        self._released = threading.Event()  # set on stop(): held answers finish at once
        self._holds: dict[str, threading.Event] = {}
        self._holds_lock = threading.Lock()
        self._waiting: Counter[str] = Counter()  # answers held right now, by name
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
        self._after_stop()

    def _after_stop(self) -> None:
        """Subclasses close what outlives the server (idle keep-alive connections)."""

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
