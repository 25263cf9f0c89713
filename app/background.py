"""Embedded mode: background work in a thread of the `serve` process (no Redis, no Celery)."""

import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)


class BackgroundLoop:
    """Runs `work` when woken, and at least every `interval` seconds as a safety net."""

    def __init__(self, work: Callable[[], object], *, interval: float = 5.0, name: str = "bazgasht"):
        self._work = work
        self._interval = interval
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self._interval)
            self._wake.clear()
            try:
                self._work()
            except Exception:  # keep the loop alive; the next round retries
                log.exception("background work failed")
