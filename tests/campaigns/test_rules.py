"""Sending windows and frequency caps, at the edges."""

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from app.campaigns.rules import cap_allows_at, next_allowed_minute

TEHRAN = ZoneInfo("Asia/Tehran")
WINDOW = dict(tz="Asia/Tehran", start_minute=9 * 60, end_minute=21 * 60, weekdays=list(range(7)))


def t(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=TEHRAN)


@pytest.mark.parametrize("at,expected", [
    ("2026-11-24T10:00", "2026-11-24T10:00"),  # inside: unchanged
    ("2026-11-24T09:00", "2026-11-24T09:00"),  # the window opens at 09:00 sharp
    ("2026-11-24T08:59", "2026-11-24T09:00"),
    ("2026-11-24T20:59", "2026-11-24T20:59"),
    ("2026-11-24T21:00", "2026-11-25T09:00"),  # closes at 21:00: next morning
    ("2026-11-24T23:30", "2026-11-25T09:00"),
    ("2026-11-25T00:10", "2026-11-25T09:00"),
])
def test_next_allowed_minute_in_tehran(at, expected):
    result = next_allowed_minute(t(at), **WINDOW)
    assert result == t(expected) and result.tzinfo is timezone.utc


def test_disallowed_weekdays_are_skipped():
    # 2026-11-26 is a Thursday, 27 a Friday; this store rests on Thursday and Friday.
    window = WINDOW | {"weekdays": [0, 1, 2, 5, 6]}
    assert next_allowed_minute(t("2026-11-26T10:00"), **window) == t("2026-11-28T09:00")


def test_no_allowed_weekday_is_an_error():
    with pytest.raises(ValueError):
        next_allowed_minute(t("2026-11-26T10:00"), **(WINDOW | {"weekdays": []}))


def test_cap_lets_the_first_message_through():
    now = t("2026-11-24T10:00")
    assert cap_allows_at(now, [], per_day=1, per_week=3) == now


def test_daily_cap_waits_24_hours_after_the_last_one():
    now = t("2026-11-24T10:00")
    sent = [now - timedelta(hours=2)]
    assert cap_allows_at(now, sent, per_day=1, per_week=3) == now - timedelta(hours=2) + timedelta(days=1)


def test_weekly_cap_waits_for_the_oldest_to_leave_the_week():
    now = t("2026-11-24T10:00")
    sent = [now - timedelta(days=6), now - timedelta(days=4), now - timedelta(days=2)]
    assert cap_allows_at(now, sent, per_day=1, per_week=3) == now + timedelta(days=1)


def test_messages_older_than_a_week_do_not_count():
    now = t("2026-11-24T10:00")
    sent = [now - timedelta(days=8), now - timedelta(days=9), now - timedelta(days=10)]
    assert cap_allows_at(now, sent, per_day=1, per_week=3) == now
