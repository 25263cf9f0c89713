"""The lifecycle the fake outside services share (Kavenegar, a WooCommerce store): a stdlib
ThreadingHTTPServer on loopback, in a thread for tests or on the caller's thread for the CLI."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self


class LoopbackServer:
    name = "fake"

    def __init__(self, handler: type[BaseHTTPRequestHandler], host: str, port: int):
        self._host = host
        self._released = threading.Event()  # set on stop(): held answers finish at once
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

    def stop(self) -> None:
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
