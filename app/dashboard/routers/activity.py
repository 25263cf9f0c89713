"""Activity: the message log, what is about to go out (and what is held or skipped, with why),
and the survey answers."""

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.admin import activity
from app.admin.pagination import InvalidCursor
from app.admin.schemas import MESSAGE_STATUS
from app.campaigns.editing import list_campaigns
from app.dashboard import queries
from app.dashboard.auth import PanelDep
from app.dashboard.views import page
from app.deps import NowDep, SessionDep
from app.errors import NotFound

router = APIRouter(prefix="/panel/activity", include_in_schema=False)

PAGE = 50
STATUSES = MESSAGE_STATUS.__args__
TABS = ("messages", "upcoming", "surveys")


def _cursor(request: Request) -> str | None:
    cursor = request.query_params.get("cursor") or None
    return cursor if cursor is None or len(cursor) <= 64 else None


@router.get("")
def activity_page(request: Request, current: PanelDep, session: SessionDep, now: NowDep) -> Response:
    store = current.store
    params = request.query_params
    tab = params.get("tab") if params.get("tab") in TABS else "messages"
    context: dict = {"tab": tab, "rows": [], "next_cursor": None}
    if tab == "messages":
        status = params.get("status") if params.get("status") in STATUSES else None
        campaign_id = params.get("campaign")
        campaign_id = int(campaign_id) if campaign_id and campaign_id.isdigit() \
            and len(campaign_id) < 10 else None
        try:
            rows, next_cursor = activity.messages(
                session, store=store, contact_id=None, limit=PAGE, cursor=_cursor(request),
                filters=activity.Filters(status=status, campaign_id=campaign_id))
        except (NotFound, InvalidCursor):
            rows, next_cursor, campaign_id = [], None, None
        context |= {"rows": queries.message_rows(session, store=store,
                                                 rows=[tuple(r) for r in rows]),
                    "next_cursor": next_cursor, "status": status, "campaign_id": campaign_id,
                    "statuses": STATUSES,
                    "campaigns": list_campaigns(session, store=store)}
    elif tab == "upcoming":
        context["upcoming"] = queries.upcoming(session, store=store, now=now)
    else:
        rating = params.get("rating")
        rating = int(rating) if rating in ("1", "2", "3", "4", "5") else None
        try:
            rows, next_cursor = queries.survey_answers(session, store=store, rating=rating,
                                                       limit=PAGE, cursor=_cursor(request))
        except InvalidCursor:
            rows, next_cursor = [], None
        context |= {"rows": rows, "next_cursor": next_cursor, "rating": rating}
    return page(request, "activity.html", panel=current, nav="activity", **context)
