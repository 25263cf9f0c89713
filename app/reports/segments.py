"""A segment's report for a period: who is in it now, and what those members got and did in
the period. Nothing is counted here twice: the messages' figures are the campaign reports' own
(app/reports/service.message_figures, grouped by contact), the purchases the retention report's
(app/reports/retention.purchases_by_contact); this module adds up the members' rows."""

from collections import defaultdict
from datetime import datetime

from sqlalchemy.orm import Session

from app.campaigns.models import Message
from app.reports.period import Period
from app.reports.retention import purchases_by_contact
from app.reports.service import Figures, header, message_figures
from app.segments.models import Segment
from app.segments.service import Member, definition_of, members
from app.stores.models import Store

# The campaign reports' figures that mean something for a group of people (what is waiting
# to go out belongs to a campaign, not to them).
MESSAGE_FIGURES = ("sent", "delivered", "delivery_rate", "failed", "blocked", "parts", "cost",
                   "cost_estimated_messages", "clicks", "click_rate", "orders", "revenue",
                   "revenue_taken_back", "conversion_rate", "return_on_spend")


def segment_report(session: Session, *, store: Store, segment: Segment, period: Period,
                   now: datetime, found: list[Member] | None = None) -> dict:
    """`found`: the segment's members now, when the caller has them already (the panel's page
    shows them too)."""
    if found is None:
        found = members(session, store=store, definition=definition_of(segment), now=now)
    ids = {m.person.id for m in found}
    by_contact: dict[tuple, Figures] = defaultdict(Figures)
    message_figures(session, store, period, (Message.contact_id,), (), by_contact)
    totals, messaged = Figures(), 0
    for (contact_id,), figures in by_contact.items():
        if contact_id in ids:
            totals.add(figures)
            messaged += 1
    customers = orders = revenue = 0
    for contact_id, count, net in purchases_by_contact(session, store.id, period):
        if contact_id in ids:
            customers, orders, revenue = customers + 1, orders + count, revenue + int(net or 0)
    shown = totals.out()
    return header(store, period, totals.cost) | {
        "segment": {"id": segment.id, "name": segment.name}, "size": len(ids),
        "messaged": messaged, "messages": {key: shown[key] for key in MESSAGE_FIGURES},
        "purchases": {"customers": customers, "orders": orders, "revenue": revenue,
                      "average_order": revenue // orders if orders else None}}
