"""Home: what bazgasht earned the store in a period, day by day, per campaign and per
broadcast."""

from concurrent.futures import ThreadPoolExecutor

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.broadcasts.service import of_campaigns
from app.dashboard import health
from app.dashboard.auth import PanelDep
from app.dashboard.chart import bar_chart
from app.dashboard.period import PRESETS, chosen_period
from app.dashboard.views import page
from app.deps import NowDep, SessionDep
from app.reports import service as reports

router = APIRouter(prefix="/panel", include_in_schema=False)

# The home page's two reports read the same messages twice; on PostgreSQL they run side by side
# in sessions of their own (read-only: a snapshot apart at most).
_pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="panel-home")


def _reports(request: Request, session, store, period) -> tuple[dict, dict]:
    if session.get_bind().dialect.name != "postgresql":
        # SQLite: one writer at a time, and this request's transaction is one already.
        return (reports.summary(session, store=store, period=period, broadcasts_of=of_campaigns),
                reports.timeseries(session, store=store, period=period))

    def daily() -> dict:
        with request.app.state.sessionmaker() as own:
            return reports.timeseries(own, store=store, period=period)

    series = _pool.submit(daily)
    return (reports.summary(session, store=store, period=period, broadcasts_of=of_campaigns),
            series.result())


@router.get("")
def home(request: Request, current: PanelDep, session: SessionDep, now: NowDep) -> Response:
    store = current.store
    chosen = chosen_period(request, store, now)
    period = chosen.period
    summary, series = _reports(request, session, store, period)
    campaigns = [c for c in summary["campaigns"]
                 if not c["deleted"] or c["messages"] or c["orders"]]
    return page(request, "home.html", panel=current, nav="home", summary=summary,
                totals=summary["totals"], campaigns=campaigns,
                broadcasts=summary["broadcasts"], period=summary["range"],
                revenue_chart=bar_chart(series["days"], "revenue", currency=store.currency),
                sent_chart=bar_chart(series["days"], "sent"), presets=PRESETS,
                chosen=chosen, setup=health.checklist(session, store))
