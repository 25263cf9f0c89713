"""The activity page's search, from its query string: who (a phone in any digits, a part of it,
or a part of a name: one box), campaign, status and a range of days (Jalali or ISO, any digits,
both ends included, in the store's timezone). A wrong value is a Persian problem beside its
field and that filter left out, never an error page."""

from dataclasses import dataclass, field, replace
from datetime import timedelta
from zoneinfo import ZoneInfo

from starlette.datastructures import QueryParams

from app.admin.activity import Filters
from app.campaigns.models import DELIVERED, FAILED, SENT, SKIPPED
from app.contacts.search import InvalidSearch, looks_like_phone
from app.dashboard.forms import Problem
from app.reports.period import InvalidPeriod, local_midnight, parse_day

# The log shows what happened; what is still to come (or waits, or is going out this
# second) has a tab of its own (app/dashboard/queries.py upcoming).
LOG_STATUSES = (SENT, DELIVERED, FAILED, SKIPPED)
_MAX_TEXT = 60
_MAX_ID = 10**9


@dataclass(frozen=True)
class LogSearch:
    filters: Filters
    # What the form shows again, as the merchant typed it.
    q: str = ""
    status: str | None = None
    campaign_id: int | None = None
    first: str = ""
    last: str = ""
    problems: list[Problem] = field(default_factory=list)

    @property
    def params(self) -> dict:
        """The query string that keeps this search across pages."""
        return {"q": self.q, "status": self.status, "campaign": self.campaign_id,
                "from": self.first, "to": self.last}

    @property
    def active(self) -> int:
        """How many filters are on (the phone's collapsed form says so)."""
        return sum(bool(v) for v in (self.q, self.status, self.campaign_id, self.first,
                                     self.last))


def _text(params: QueryParams, name: str) -> str:
    return (params.get(name) or "").strip()[:_MAX_TEXT]


def _who(q: str) -> tuple[dict, list[Problem]]:
    if not q:
        return {}, []
    found = {"phone": q} if looks_like_phone(q) else {"name": q}
    try:
        Filters(**found).contact_conditions()
    except InvalidSearch as exc:
        return {}, [Problem("q", exc.code)]
    return found, []


def _days(params: QueryParams, tz: str) -> tuple[dict, list[Problem]]:
    """since/until of the typed days, the last one included."""
    found, problems = {}, []
    days = {}
    for name in ("from", "to"):
        typed = _text(params, name)
        if typed:
            try:
                days[name] = parse_day(typed, name)
            except InvalidPeriod:
                problems.append(Problem(name, "date_invalid"))
    if "from" in days and "to" in days and days["from"] > days["to"]:
        return {}, [Problem("to", "range_order")]
    zone = ZoneInfo(tz)
    if "from" in days:
        found["since"] = local_midnight(days["from"], zone)
    if "to" in days:
        found["until"] = local_midnight(days["to"] + timedelta(days=1), zone)
    return found, problems


def read_log_search(params: QueryParams, *, tz: str, statuses: tuple[str, ...]) -> LogSearch:
    """The search of one tab (`statuses`: the ones it shows)."""
    q = _text(params, "q")
    status = params.get("status") if params.get("status") in statuses else None
    campaign = params.get("campaign") or ""
    campaign_id = int(campaign) if campaign.isdigit() and 0 < int(campaign) < _MAX_ID else None
    who, problems = _who(q)
    when, date_problems = _days(params, tz)
    filters = Filters(status=status, campaign_id=campaign_id, statuses=statuses, **who, **when)
    return LogSearch(filters=filters, q=q, status=status, campaign_id=campaign_id,
                     first=_text(params, "from"), last=_text(params, "to"),
                     problems=problems + date_problems)


def without_campaign(search: LogSearch) -> LogSearch:
    """The same search once its campaign turned out not to be the store's."""
    return replace(search, campaign_id=None, filters=replace(search.filters, campaign_id=None))
