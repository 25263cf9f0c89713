"""The one clock. Whoever asks "what time is it" asks a Clock.

The app holds one (`create_app(clock=...)`): routers get `now` through a dependency, the
embedded background loops ask it, and services are handed `now` as a parameter. Celery tasks
and the CLI use the system clock (or `--now`). Tests set the app's clock to the time of their
story, which is how they travel through days without sleeping and pass on any day.
"""

from datetime import date, datetime, timedelta, timezone
from typing import Protocol
from zoneinfo import ZoneInfo


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware, in UTC."""
        ...


class SystemClock:
    """The machine's clock."""

    def now(self) -> datetime:
        return datetime.now(timezone.utc)


SYSTEM = SystemClock()


class SettableClock:
    """A clock that stands where it is put; unset, it follows the machine's clock."""

    def __init__(self, at: datetime | None = None):
        self._at: datetime | None = None
        self.set(at)

    def now(self) -> datetime:
        return self._at if self._at is not None else SYSTEM.now()

    def set(self, at: datetime | None) -> None:
        if at is not None and at.tzinfo is None:
            raise ValueError("a clock's time needs a timezone")
        self._at = at.astimezone(timezone.utc) if at is not None else None

    def advance(self, delta: timedelta) -> None:
        self.set(self.now() + delta)


def utcnow() -> datetime:
    """When a row is written, for bookkeeping columns' defaults (created_at, updated_at):
    rules take `now` from their caller instead."""
    return SYSTEM.now()


def local_today(tz: str, now: datetime) -> date:
    """The calendar day it is at `now` in the timezone `tz` (a store's today)."""
    return now.astimezone(ZoneInfo(tz)).date()
