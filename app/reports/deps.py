"""The period a report covers, read from its `from`/`to` query parameters: one dependency for
every endpoint with a period (the reports, a segment's report)."""

from typing import Annotated

from fastapi import Depends, Query

from app.clock import local_today
from app.deps import NowDep, StoreDep
from app.reports.period import Period, period_for

_DATE_HELP = ("a store-local day: 2026-11-23, or Jalali 1405/09/02 (any digits); the period is "
              "from..to inclusive, by default the last 30 days, at most 366 days")
From = Annotated[str | None, Query(alias="from", description=_DATE_HELP,
                                   examples=["2026-11-01"])]
To = Annotated[str | None, Query(alias="to", description=_DATE_HELP, examples=["2026-11-30"])]


def report_period(store: StoreDep, now: NowDep, first: From = None, last: To = None) -> Period:
    """The period a report covers, from its from/to query parameters and the store's today."""
    return period_for(first=first, last=last, tz=store.timezone,
                      today=local_today(store.timezone, now))


PeriodDep = Annotated[Period, Depends(report_period)]
