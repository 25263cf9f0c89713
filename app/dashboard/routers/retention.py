"""Retention: how the store's customers come back, month by month and by cohort (the report of
app/reports/retention.py, for a period chosen like the home page's)."""

from datetime import timedelta

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.dashboard.auth import PanelDep
from app.dashboard.forms import Problem
from app.dashboard.views import page
from app.deps import NowDep, SessionDep
from app.reports.period import InvalidPeriod, period_for, store_today
from app.reports.retention import retention

router = APIRouter(prefix="/panel", include_in_schema=False)

PRESETS = (90, 180, 365)
# Coming back takes months: by default the last 90 days, three Jalali months or so.
DEFAULT_DAYS = 90


@router.get("/retention")
def retention_page(request: Request, current: PanelDep, session: SessionDep,
                   now: NowDep) -> Response:
    store = current.store
    first = request.query_params.get("from") or None
    last = request.query_params.get("to") or None
    days = request.query_params.get("days")
    today = store_today(store.timezone, now)
    chosen = int(days) if days and days.isdigit() and int(days) in PRESETS else DEFAULT_DAYS
    problems = []

    def default_period():
        return period_for(first=(today - timedelta(days=chosen - 1)).isoformat(), last=None,
                          tz=store.timezone, today=today)

    try:
        period = (period_for(first=first, last=last, tz=store.timezone, today=today)
                  if first or last else default_period())
    except InvalidPeriod as exc:
        problems.append(Problem("period", "range_invalid" if exc.code == "invalid_range"
                                else "date_invalid"))
        period = default_period()
    report = retention(session, store=store, period=period, now=now)
    return page(request, "retention.html", panel=current, nav="retention", report=report,
                totals=report["totals"], period=report["range"], presets=PRESETS,
                form_from=first or "", form_to=last or "", problems=problems,
                period_days=(period.last_day - period.first_day).days + 1)
