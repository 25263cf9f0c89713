"""Retention: how the store's customers come back, month by month and by cohort (the report of
app/reports/retention.py, for a period chosen like the home page's)."""

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.dashboard.auth import PanelDep
from app.dashboard.period import chosen_period
from app.dashboard.views import page
from app.deps import NowDep, SessionDep
from app.reports.retention import retention

router = APIRouter(prefix="/panel", include_in_schema=False)

PRESETS = (90, 180, 365)
# Coming back takes months: by default the last 90 days, three Jalali months or so.
DEFAULT_DAYS = 90


@router.get("/retention")
def retention_page(request: Request, current: PanelDep, session: SessionDep,
                   now: NowDep) -> Response:
    chosen = chosen_period(request, current.store, now, presets=PRESETS,
                           default_days=DEFAULT_DAYS)
    report = retention(session, store=current.store, period=chosen.period, now=now)
    return page(request, "retention.html", panel=current, nav="retention", report=report,
                totals=report["totals"], period=report["range"], presets=PRESETS,
                chosen=chosen)
