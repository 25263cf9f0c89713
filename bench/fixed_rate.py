"""An open-loop, fixed-rate HTTP/1.1 load generator (what wrk2's -R does; wrk2 is not packaged).

Request i is due at start + i/rate whatever happened before it. It goes out on an idle
keep-alive connection, or waits in a queue until one frees up, so a slow server makes requests
late instead of making the generator slow down. Latency is reported two ways:

- `latency_ms`: from the request's due time to its full response (wrk2's "corrected" latency,
  which counts time spent queued because the server was behind; the figure checked);
- `service_ms`: from the moment it was written to its full response (what wrk reports).

Runs as its own process (asyncio + uvloop + httptools) and prints one JSON object:

    python bench/fixed_rate.py --url http://127.0.0.1:8000/path --rate 1000 --duration 10 \
        --connections 16 --body-file body.json -H 'Content-Type: application/json' ...
    python bench/fixed_rate.py --url http://127.0.0.1:8000 --method GET --paths-file codes.txt \
        --ok-status 302 --rate 1000 ...   # GET each path of the file in turn, 302 is success
"""

import argparse
import asyncio
import json
import math
import sys
import time
from collections import Counter, deque
from urllib.parse import urlsplit

import httptools

try:
    import uvloop
except ImportError:  # pragma: no cover
    uvloop = None


class Connection(asyncio.Protocol):
    def __init__(self, gen: "Generator"):
        self.gen = gen
        self.transport = None
        self.parser = httptools.HttpResponseParser(self)
        self.current = None  # (due, sent)
        self.closed = asyncio.get_running_loop().create_future()

    # asyncio
    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            self.gen.errors["parse"] += 1
            self.transport.close()

    def connection_lost(self, exc):
        if self.current is not None:
            self.gen.errors["closed"] += 1
            self.gen.finish(None, self.current, time.perf_counter())
            self.current = None
        self.gen.lost(self)
        if not self.closed.done():
            self.closed.set_result(None)

    # httptools
    def on_message_complete(self):
        now = time.perf_counter()
        current, self.current = self.current, None
        self.gen.finish(self.parser.get_status_code(), current, now)
        self.gen.release(self)

    def send(self, due: float) -> None:
        self.current = (due, time.perf_counter())
        self.transport.write(self.gen.next_request())


class Generator:
    def __init__(self, host, port, requests: list[bytes], rate: float, duration: float,
                 connections: int, max_queue: int, ok_status: int | None = None):
        self.host, self.port, self.requests = host, port, requests
        self.next_index = 0
        self.ok_status = ok_status  # None: any 2xx
        self.max_queue, self.skipped = max_queue, 0
        self.rate, self.total, self.connections = rate, int(rate * duration), connections
        self.idle: deque[Connection] = deque()
        self.backlog: deque[float] = deque()
        self.latency, self.service = [], []
        self.statuses: Counter = Counter()
        self.errors: Counter = Counter()
        self.done_count = 0
        self.max_backlog = 0
        self.all_done = None
        self.conns: list[Connection] = []

    def next_request(self) -> bytes:
        request = self.requests[self.next_index]
        self.next_index = (self.next_index + 1) % len(self.requests)
        return request

    async def connect(self) -> Connection:
        loop = asyncio.get_running_loop()
        _, conn = await loop.create_connection(lambda: Connection(self), self.host, self.port)
        self.conns.append(conn)
        return conn

    def finish(self, status, current, now):
        due, sent = current
        if status is not None:
            self.statuses[status] += 1
            self.latency.append(now - due)
            self.service.append(now - sent)
        self.last_done = now
        self.done_count += 1
        if self.done_count + self.skipped == self.total and not self.all_done.done():
            self.all_done.set_result(None)

    def release(self, conn: Connection):
        if self.backlog:
            conn.send(self.backlog.popleft())
        else:
            self.idle.append(conn)

    def lost(self, conn: Connection):
        if conn in self.idle:
            self.idle.remove(conn)
        if self.running:
            asyncio.get_running_loop().create_task(self._replace())

    async def _replace(self):
        try:
            self.release(await self.connect())
        except OSError:
            self.errors["connect"] += 1

    def dispatch(self, due: float):
        if self.idle:
            self.idle.popleft().send(due)
        else:
            self.backlog.append(due)
            self.max_backlog = max(self.max_backlog, len(self.backlog))

    async def run(self, drain_timeout: float) -> dict:
        self.running = True
        self.all_done = asyncio.get_running_loop().create_future()
        for _ in range(self.connections):
            self.idle.append(await self.connect())
        start = time.perf_counter() + 0.01
        self.last_done = start
        i = 0
        while i < self.total:
            now = time.perf_counter()
            due = start + i / self.rate
            if due > now:
                await asyncio.sleep(due - now)
                continue
            while i < self.total and start + i / self.rate <= now:
                self.dispatch(start + i / self.rate)
                i += 1
            if len(self.backlog) > self.max_queue:
                # Hopelessly behind: stop sending, count the rest as skipped, answer what is out.
                self.skipped = len(self.backlog) + self.total - i
                self.backlog.clear()
                i = self.total
                if self.done_count + self.skipped == self.total and not self.all_done.done():
                    self.all_done.set_result(None)
        try:
            await asyncio.wait_for(asyncio.shield(self.all_done), drain_timeout)
        except asyncio.TimeoutError:
            self.errors["unfinished"] += self.total - self.done_count - self.skipped
        self.running = False
        for conn in self.conns:
            conn.transport.close()
        elapsed = self.last_done - start
        ok_2xx = sum(n for s, n in self.statuses.items() if 200 <= s < 300)
        ok = ok_2xx if self.ok_status is None else self.statuses[self.ok_status]
        return {
            "target_rps": self.rate,
            "connections": self.connections,
            "planned": self.total,
            "sent": self.total - self.skipped,
            "overloaded": self.skipped > 0,
            "completed": sum(self.statuses.values()),
            "ok_2xx": ok_2xx,
            "ok_status": "2xx" if self.ok_status is None else str(self.ok_status),
            "ok": ok,  # answers with ok_status: what achieved_rps counts
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "errors": dict(self.errors),
            "elapsed_s": round(elapsed, 3),
            "achieved_rps": round(ok / elapsed, 1) if elapsed > 0 else 0.0,
            "max_queued": self.max_backlog,
            "latency_ms": _summary(self.latency),
            "service_ms": _summary(self.service),
        }


def _summary(samples: list[float]) -> dict:
    if not samples:
        return {}
    s = sorted(samples)

    def pct(p):  # nearest-rank
        return round(s[min(len(s) - 1, max(0, math.ceil(p / 100 * len(s)) - 1))] * 1000, 3)

    return {"mean": round(sum(s) / len(s) * 1000, 3), "p50": pct(50), "p75": pct(75),
            "p90": pct(90), "p99": pct(99), "p999": pct(99.9), "max": round(s[-1] * 1000, 3)}


def varied(url: str, headers: list[str], method: str, prefix_file: str, suffix_file: str,
           signatures_file: str, base: str) -> list[tuple[str, int, bytes]]:
    """One request per signature: the body prefix + (base + i) + suffix, signed."""
    with open(prefix_file, "rb") as f:
        prefix = f.read()
    with open(suffix_file, "rb") as f:
        suffix = f.read()
    with open(signatures_file) as f:
        signatures = [line.strip() for line in f if line.strip()]
    kept = [h for h in headers if not h.lower().startswith(("x-wc-webhook-signature:",
                                                             "x-wc-webhook-delivery-id:"))]
    return [build_request(url, kept + [f"X-WC-Webhook-Signature: {sig}",
                                       f"X-WC-Webhook-Delivery-ID: {int(base) + i}"],
                          prefix + str(int(base) + i).encode() + suffix, method)
            for i, sig in enumerate(signatures)]


def build_request(url: str, headers: list[str], body: bytes, method: str = "POST",
                  path: str | None = None) -> tuple[str, int, bytes]:
    parts = urlsplit(url)
    host, port = parts.hostname, parts.port or 80
    path = path or parts.path or "/"
    lines = [f"{method} {path} HTTP/1.1", f"Host: {parts.netloc}"]
    if body or method not in ("GET", "HEAD"):
        lines.append(f"Content-Length: {len(body)}")
    lines += headers
    return host, port, ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", required=True)
    ap.add_argument("--rate", type=float, required=True, help="requests per second")
    ap.add_argument("--duration", type=float, default=10.0, help="seconds of sending")
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--method", default="POST", help="GET or POST (HEAD is not supported: "
                    "the response parser would wait for a body)")
    ap.add_argument("--body-file", help="the request body (none if not given)")
    ap.add_argument("--paths-file", help="one path per line, used in turn instead of the URL's")
    ap.add_argument("--ok-status", type=int, help="the status counted as success (default: 2xx)")
    ap.add_argument("-H", "--header", action="append", default=[])
    ap.add_argument("--vary", help="prefix,suffix,signatures,base: every request a different "
                    "body, prefix + (base + i) + suffix, with X-WC-Webhook-Signature line i "
                    "of the signatures file (as bench/post.lua)")
    ap.add_argument("--drain-timeout", type=float, default=10.0)
    ap.add_argument("--max-queue-seconds", type=float, default=2.0,
                    help="give up (overloaded) once this many seconds of requests wait for a "
                         "free connection")
    args = ap.parse_args(argv)
    if args.method == "HEAD":
        ap.error("HEAD is not supported")
    body = b""
    if args.body_file:
        with open(args.body_file, "rb") as f:
            body = f.read()
    paths = [None]
    if args.paths_file:
        with open(args.paths_file) as f:
            paths = [line.strip() for line in f if line.strip()]
    if args.vary:
        built = varied(args.url, args.header, args.method, *args.vary.split(","))
    else:
        built = [build_request(args.url, args.header, body, args.method, path)
                 for path in paths]
    host, port = built[0][:2]
    gen = Generator(host, port, [request for _, _, request in built], args.rate, args.duration,
                    args.connections, max_queue=max(1, int(args.rate * args.max_queue_seconds)),
                    ok_status=args.ok_status)
    runner = uvloop.run if uvloop is not None else asyncio.run
    result = runner(gen.run(args.drain_timeout))
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
