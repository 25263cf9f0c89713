"""What every SMS provider's client raises when a call fails: one shape for all of them, so
each adapter turns it into the engine's GatewayError the same way."""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum


class Kind(StrEnum):
    RETRY = "retry"          # transient: try again later (with backoff)
    RECIPIENT = "recipient"  # permanent for this receptor/message; other messages are fine
    STORE = "store"          # the store's account/line/IP needs fixing: halt its sending
    INVALID = "invalid"      # we sent something wrong: a bug on our side


class ProviderError(Exception):
    """A failed call. `ambiguous`: the provider may have acted (sent) before we lost its
    answer: ask before sending again. `timed_out`: no answer within the deadline (asking again
    at once would likely wait as long again). `status` is the provider's code when its answer
    came back, else the HTTP status (None: no answer at all). `path` is the method's path,
    never with a key in it. A subclass names its provider and classifies its codes."""

    provider = "gateway"
    classify: Callable[[int | None], Kind] = staticmethod(lambda status: Kind.RETRY)

    def __init__(self, status: int | None, message: str, kind: Kind | None = None, *,
                 ambiguous: bool = False, timed_out: bool = False, path: str | None = None):
        self.status = status
        self.message = message
        self.kind = kind if kind is not None else type(self).classify(status)
        self.ambiguous = ambiguous
        self.timed_out = timed_out
        self.path = path
        super().__init__(str(self))

    def __str__(self) -> str:
        where = f" at {self.path}" if self.path else ""
        flag = ", ambiguous: may have been processed" if self.ambiguous else ""
        return f"{self.provider} {self.status if self.status is not None else 'no answer'}: " \
               f"{self.message} [{self.kind}{flag}]{where}"

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(status={self.status!r}, message={self.message!r}, "
                f"kind={self.kind.value!r}, ambiguous={self.ambiguous!r}, "
                f"timed_out={self.timed_out!r})")

    def __reduce__(self):  # picklable (Celery ships exceptions between processes)
        return (_rebuild, (type(self), self.status, self.message, self.kind, self.ambiguous,
                           self.timed_out, self.path))


def _rebuild(cls, status, message, kind, ambiguous, timed_out, path) -> ProviderError:
    return cls(status, message, kind, ambiguous=ambiguous, timed_out=timed_out, path=path)
