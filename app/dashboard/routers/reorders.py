"""Reorders: which customers are about to run out of what they buy again and again — each
customer's predicted reorder date (app/campaigns/replenish.py), for the next week or month."""

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.campaigns import replenish
from app.clock import local_today
from app.dashboard.auth import PanelDep
from app.dashboard.views import page
from app.deps import NowDep, SessionDep

router = APIRouter(prefix="/panel", include_in_schema=False)

WINDOWS = (7, 14, 30)
SHOWN = 200  # a page a merchant reads; the API pages through the rest


@router.get("/reorders")
def reorders_page(request: Request, current: PanelDep, session: SessionDep,
                  now: NowDep) -> Response:
    asked = request.query_params.get("days", "")
    days = int(asked) if asked.isdigit() and int(asked) in WINDOWS else WINDOWS[0]
    due = replenish.due_within(session, store=current.store, now=now, days=days)
    return page(request, "reorders.html", panel=current, nav="retention", rows=due[:SHOWN],
                total=len(due), days=days, windows=WINDOWS,
                today=local_today(current.store.timezone, now))
