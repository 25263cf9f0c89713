"""The date range a report covers: whole days in the store's timezone, as UTC instants for SQL.

A merchant in Tehran asks for "1 to 30 Azar"; the database keeps UTC. A report period is a
first and last local day (inclusive) and the UTC instants of the first day's midnight and of the
midnight after the last day, so every query filters with `since <= at < until`.
"""

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import jdatetime
from sqlalchemy import Date, case, cast, func, literal_column
from sqlalchemy.sql.elements import ColumnElement

from app.digits import latin_digits, persian_digits
from app.errors import DomainError

DEFAULT_DAYS = 30
MAX_DAYS = 366
# Years below this are Jalali (1405 is 2026): a merchant may type the dates they think in.
_JALALI_BEFORE_YEAR = 1700
_YEARS = (1970, 2999)
_DATE = re.compile(r"(\d{4})[-/](\d{1,2})[-/](\d{1,2})")
_ZONE_NAME = re.compile(r"[A-Za-z0-9_+\-/]+")


class InvalidPeriod(DomainError, status=422, code="invalid_date"):
    pass


@dataclass(frozen=True)
class Period:
    first_day: date
    last_day: date
    tz: str

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.tz)

    @property
    def since(self) -> datetime:
        """The first day's local midnight, in UTC."""
        return local_midnight(self.first_day, self.zone)

    @property
    def until(self) -> datetime:
        """The local midnight after the last day, in UTC (excluded)."""
        return local_midnight(self.last_day + timedelta(days=1), self.zone)

    @property
    def days(self) -> list[date]:
        return [self.first_day + timedelta(days=n)
                for n in range((self.last_day - self.first_day).days + 1)]

    def previous(self) -> "Period":
        """The period of as many days right before this one: what "the previous period" is."""
        length = self.last_day - self.first_day + timedelta(days=1)
        return Period(self.first_day - length, self.first_day - timedelta(days=1), self.tz)

    def describe(self) -> dict:
        return {"from": self.first_day.isoformat(), "to": self.last_day.isoformat(),
                "from_jalali": jalali_label(self.first_day),
                "to_jalali": jalali_label(self.last_day), "timezone": self.tz,
                "since": self.since.isoformat(), "until": self.until.isoformat()}


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(timezone.utc)


def jalali_label(day: date) -> str:
    """2026-11-23 → «۱۴۰۵/۰۹/۰۲»."""
    return persian_digits(jdatetime.date.fromgregorian(date=day).strftime("%Y/%m/%d"))


def parse_day(value: str, name: str) -> date:
    """An ISO date (2026-11-23) or a Jalali one (1405/09/02, 1405-09-02), in any digits."""
    text = latin_digits(value.strip())
    match = _DATE.fullmatch(text)
    problem = f"{name}: {value!r} is not a date; use YYYY-MM-DD (e.g. 2026-11-23) or a Jalali " \
              f"date (e.g. 1405/09/02)"
    if not match:
        raise InvalidPeriod(problem)
    year, month, day = (int(g) for g in match.groups())
    try:
        if year < _JALALI_BEFORE_YEAR:
            found = jdatetime.date(year, month, day).togregorian()
        else:
            found = date(year, month, day)
    except ValueError:
        raise InvalidPeriod(problem) from None
    if not _YEARS[0] <= found.year <= _YEARS[1]:
        raise InvalidPeriod(f"{name}: {value!r} is out of range (years {_YEARS[0]}-{_YEARS[1]})")
    return found


def period_for(*, first: str | None, last: str | None, tz: str, today: date) -> Period:
    """The period a request asks for; by default the last 30 days, today included.

    `today` is the store's local date, read by the edge (time is a parameter).
    """
    last_day = parse_day(last, "to") if last else None
    first_day = parse_day(first, "from") if first else None
    if last_day is None:
        last_day = max(today, first_day) if first_day else today
    if first_day is None:
        first_day = last_day - timedelta(days=DEFAULT_DAYS - 1)
    if first_day > last_day:
        raise InvalidPeriod(f"from ({first_day}) is after to ({last_day})", code="invalid_range")
    if (last_day - first_day).days + 1 > MAX_DAYS:
        raise InvalidPeriod(f"the range covers {(last_day - first_day).days + 1} days; at most "
                            f"{MAX_DAYS} days fit in one report", code="invalid_range")
    return Period(first_day, last_day, tz)


def _offset_spans(period: Period) -> list[tuple[datetime, int]]:
    """(from when, UTC offset in minutes) over the period, one entry per offset in force.

    Offsets change at most a few times a year (DST); scanning hour by hour, then minute by
    minute inside the hour where it changed, finds each change exactly.
    """
    zone = period.zone

    def offset(at: datetime) -> int:
        return int(at.astimezone(zone).utcoffset().total_seconds() // 60)

    at, end = period.since, period.until
    spans = [(at, offset(at))]
    while at < end:
        step = min(at + timedelta(hours=1), end)
        if offset(step) != spans[-1][1]:
            moment = at
            while offset(moment) == spans[-1][1]:
                moment += timedelta(minutes=1)
            spans.append((moment, offset(moment)))
        at = step
    return spans


def local_day(column, period: Period, dialect: str) -> ColumnElement:
    """The store-local calendar day of a UTC timestamp column, as SQL.

    PostgreSQL converts with its own timezone database; SQLite has none, so the offsets in force
    during the period are worked out here and applied per span (SQLite keeps naive UTC text).
    """
    # Literals, not parameters: the same expression is selected and grouped by, and PostgreSQL
    # only sees them as one when their text is identical.
    if dialect == "postgresql":
        if not _ZONE_NAME.fullmatch(period.tz):
            raise ValueError(f"unexpected timezone name {period.tz!r}")
        return cast(func.timezone(literal_column(f"'{period.tz}'"), column), Date)
    spans = _offset_spans(period)
    shifted = [func.date(column, literal_column(f"'{minutes:+d} minutes'")) for _, minutes in spans]
    if len(spans) == 1:
        return shifted[0]
    return case(*[(column < spans[i + 1][0], shifted[i]) for i in range(len(spans) - 1)],
                else_=shifted[-1])


def as_date(value) -> date:
    """A day as the database returned it (a date on PostgreSQL, text on SQLite)."""
    return value if isinstance(value, date) else date.fromisoformat(str(value))
