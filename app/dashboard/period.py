"""The period a panel page shows, from its query string: `days` (one of the presets) or
`from`/`to` (Jalali or ISO, any digits). One rule for every page with a period chooser (home, a
campaign): a wrong date is a Persian problem beside the chooser and the default period instead,
never an error page."""

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import jdatetime
from fastapi import Request

from app.clock import local_today
from app.dashboard.forms import Problem
from app.digits import persian_digits
from app.reports.period import InvalidPeriod, Period, period_for

PRESETS = (7, 30, 90)


@dataclass(frozen=True)
class Chosen:
    period: Period
    form_from: str   # what the chooser's fields show again
    form_to: str
    problems: list[Problem] = field(default_factory=list)

    @property
    def days(self) -> int:
        return (self.period.last_day - self.period.first_day).days + 1

    # The empty fields show the period on the page (a preset's), greyed, in the form they take:
    # never a fixed example date that disagrees with the figures.
    @property
    def hint_from(self) -> str:
        return _jalali(self.period.first_day)

    @property
    def hint_to(self) -> str:
        return _jalali(self.period.last_day)


def _jalali(day: date) -> str:
    return persian_digits(jdatetime.date.fromgregorian(date=day).strftime("%Y/%m/%d"))


def chosen_period(request: Request, store, now: datetime, *,
                  presets: tuple[int, ...] = PRESETS, default_days: int | None = None) -> Chosen:
    """`presets`: the page's chips; `default_days`: its period when none is chosen (None: the
    reports' default, the last 30 days)."""
    first = request.query_params.get("from") or None
    last = request.query_params.get("to") or None
    days = request.query_params.get("days")
    today = local_today(store.timezone, now)

    def last_days(n: int | None) -> str | None:
        return None if n is None else (today - timedelta(days=n - 1)).isoformat()

    problems = []
    typed = first
    if not (first or last):
        first = last_days(int(days) if days and days.isdigit() and int(days) in presets
                          else default_days)
    try:
        period = period_for(first=first, last=last, tz=store.timezone, today=today)
    except InvalidPeriod as exc:
        problems.append(Problem("period", "range_invalid" if exc.code == "invalid_range"
                                else "date_invalid"))
        period = period_for(first=last_days(default_days), last=None, tz=store.timezone,
                            today=today)
    # A preset leaves the date fields empty (and its chip lit), as the merchant left them.
    return Chosen(period, typed or "", last or "", problems)
