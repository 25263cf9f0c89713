"""Activity: the message log (what went out, failed or was skipped, and why), searched by phone,
name, campaign, status and days; what is about to go out and what waits (when, and why); and the
survey answers."""

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.admin import activity
from app.campaigns.editing import list_campaigns
from app.dashboard import queries
from app.dashboard.auth import PanelDep
from app.dashboard.log_search import LOG_STATUSES, LogSearch, read_log_search, without_campaign
from app.dashboard.views import page
from app.deps import NowDep, SessionDep
from app.errors import NotFound
from app.pagination import InvalidCursor

router = APIRouter(prefix="/panel/activity", include_in_schema=False)

PAGE = 25  # a page of compact cards is a few screens on a phone, not fifteen thousand pixels
TABS = ("messages", "upcoming", "surveys")


def _log(session, store, search: LogSearch, cursor: str | None) -> tuple[LogSearch, list, str | None]:
    """A page of the log. A campaign that is not the store's is left out of the search; a cursor
    this page never gave shows nothing (the form still offers the search)."""
    try:
        rows, next_cursor = activity.messages(session, store=store, contact_id=None, limit=PAGE,
                                              cursor=cursor, filters=search.filters)
    except NotFound:
        return _log(session, store, without_campaign(search), cursor)
    except InvalidCursor:
        return search, [], None
    return search, rows, next_cursor


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
        search = read_log_search(params, tz=store.timezone, statuses=LOG_STATUSES)
        search, rows, next_cursor = _log(session, store, search, _cursor(request))
        context |= {"rows": queries.message_rows(session, store=store,
                                                 rows=[tuple(r) for r in rows]),
                    "next_cursor": next_cursor, "search": search, "problems": search.problems,
                    "statuses": LOG_STATUSES,
                    "campaigns": list_campaigns(session, store=store)}
    elif tab == "upcoming":
        context |= {"upcoming": queries.upcoming(session, store=store), "now": now}
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
