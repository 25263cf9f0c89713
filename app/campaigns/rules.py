"""Sending rules: when a store may text a contact. Pure functions; `now` is always a parameter."""

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo


def next_allowed_minute(at: datetime, *, tz: str, start_minute: int, end_minute: int,
                        weekdays: list[int]) -> datetime:
    """The first moment at or after `at` inside the store's sending window (aware UTC).

    The window is [start, end) in local time on the allowed weekdays; a message due at night is
    moved to the morning, never dropped.
    """
    zone = ZoneInfo(tz)
    local = at.astimezone(zone)
    allowed = set(weekdays)
    for offset in range(8):
        day: date = local.date() + timedelta(days=offset)
        if day.weekday() not in allowed:
            continue
        midnight = datetime.combine(day, time(), tzinfo=zone)
        opens = midnight + timedelta(minutes=start_minute)
        closes = midnight + timedelta(minutes=end_minute)
        candidate = max(local, opens) if offset == 0 else opens
        if candidate < closes:
            return candidate.astimezone(timezone.utc)
    raise ValueError("the store allows no sending day: check its weekdays")


DAY = timedelta(days=1)
WEEK = timedelta(days=7)


def cap_allows_at(now: datetime, sent: list[datetime], *, per_day: int, per_week: int) -> datetime:
    """The earliest moment ≥ now when one more SMS keeps the contact under both caps.

    `sent` holds when the contact's recent messages went out (the last 7 days is enough).
    """
    at = now
    for _ in range(len(sent) + 2):
        later = at
        for window, cap in ((DAY, per_day), (WEEK, per_week)):
            inside = sorted(t for t in sent if at - window < t <= at)
            if cap <= 0:
                raise ValueError("a frequency cap of zero allows nothing")
            if len(inside) >= cap:
                # Wait until enough of them fall out of the window.
                later = max(later, inside[len(inside) - cap] + window)
        if later == at:
            return at
        at = later
    return at
