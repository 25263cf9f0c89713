"""A merchant's webhook endpoint: a real HTTP server on loopback that records what it is sent."""

import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self):
        return json.loads(self.body)


class WebhookReceiver:
    """Answers each request with the next scripted status (200 once the script runs out)."""

    def __init__(self):
        self.requests: list[Received] = []
        self.script: list[int] = []
        self._lock = threading.Lock()
        # Set: answers wait (after the request is recorded) until `release()` or the end.
        self._answer = threading.Event()
        self._answer.set()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver._lock:
                    receiver.requests.append(Received("POST", self.path, dict(self.headers), body))
                    status = receiver.script.pop(0) if receiver.script else 200
                receiver._answer.wait()
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def hold(self) -> None:
        """Requests are taken and recorded, their answers held until `release()`."""
        self._answer.clear()

    def release(self) -> None:
        self._answer.set()

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._answer.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)
