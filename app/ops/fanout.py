"""Each store's calls to the outside world, side by side and within a deadline.

A store's SMS gateway or alert endpoint can take its whole timeouts (15 s and more) to fail.
Asked one store after another, one slow store would delay every other store's replies, delivery
reports and alerts, and, in a round that runs the jobs in turn, its due messages too.
`fan_out` gives each store's work to a small pool (WORKERS at a time) and waits for the round
at most `deadline` seconds.

A store's work is its call, then what the answer changes, written in a short transaction of
its own: nothing is open while the call runs, and no store waits for another's answer to be
recorded. Work still running at the deadline is not waited for: it finishes on its own timeouts
and records what it learnt (every such write is conditional, like every status change here),
or, if it never answers, its rows still say what is left to do and the next round does it.
Work that had not started by then is dropped for this round.
"""

import contextvars
import logging
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Protocol, TypeVar

from app.ops.logs import log_context

log = logging.getLogger(__name__)

R = TypeVar("R")

WORKERS = 8


class Deadline(Protocol):
    """How long a round waits for its stores' work: returns when the round stops waiting."""

    def wait(self, futures: dict[int, Future], *, what: str) -> None: ...


@dataclass(frozen=True)
class Seconds:
    """At most this many seconds (of the machine's time: a wait, not a date)."""

    seconds: float

    def wait(self, futures: dict[int, Future], *, what: str) -> None:
        wait(futures.values(), timeout=self.seconds)

    def __str__(self) -> str:
        return f"{self.seconds:g} s"


# A job round's wait for its stores. Below a gateway's read timeout on purpose: a store that
# slow is still heard (its work records its answer when it comes), just not waited for.
DEADLINE: Deadline = Seconds(10.0)
THREAD_PREFIX = "fan-out"


def fan_out(work: Callable[[int], R], store_ids: Iterable[int], *, what: str,
            deadline: Deadline = DEADLINE, workers: int = WORKERS) -> list[R]:
    """Run `work(store_id)` for each store, at most `workers` at a time; return the results of
    those done within `deadline`, in the stores' order. A store's work that raises is
    logged and left out; the others go on. Lines logged by a store's work carry its store_id
    (and the caller's log context, such as the job's name)."""
    ids = list(dict.fromkeys(store_ids))
    if not ids:
        return []
    pool = ThreadPoolExecutor(min(workers, len(ids)),
                              thread_name_prefix=f"{THREAD_PREFIX} {what}")
    try:
        by_store = {store_id: pool.submit(contextvars.copy_context().run, _for_store, work,
                                          store_id) for store_id in ids}
        deadline.wait(by_store, what=what)
    finally:
        # Never wait for late work here: that is the point. Not started yet: dropped.
        pool.shutdown(wait=False, cancel_futures=True)
    # One look at what is done: work finishing from here on is late, whatever it records.
    late = [store_id for store_id, future in by_store.items()
            if not future.done() or future.cancelled()]
    results = []
    for store_id, future in by_store.items():
        if store_id in late:
            continue
        if (error := future.exception()) is not None:
            log.error("%s: store %s failed", what, store_id, exc_info=error,
                      extra={"store_id": store_id})
            continue
        results.append(future.result())
    if late:
        log.warning("%s: %d of %d stores not done within %s (stores %s): they finish on their "
                    "own or in the next round", what, len(late), len(ids), deadline,
                    ", ".join(str(s) for s in late))
    return results


def _for_store(work: Callable[[int], R], store_id: int) -> R:
    with log_context(store_id=store_id):
        return work(store_id)
