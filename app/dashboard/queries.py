"""Reads the panel needs that the admin API does not offer (yet): the people, campaigns and orders
behind a page of messages, what is about to go out (or is held), and survey
answers with their orders. Each reads one store's rows only, a page at a time.

Candidates for app/admin (activity) once the API wants them too.
"""

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.campaigns.models import (
    HELD,
    SCHEDULED,
    SENDING,
    Attribution,
    Campaign,
    CampaignStep,
    Message,
)
from app.commerce.models import Order
from app.contacts.models import Contact
from app.links.models import Link
from app.pagination import page
from app.stores.models import Store
from app.surveys.models import SurveyAnswer

UPCOMING = 50


@dataclass(frozen=True)
class MessageRow:
    message: Message
    clicks: int
    contact: Contact | None
    campaign: Campaign | None
    step_position: int | None
    order: Order | None
    revenue: int | None


def message_rows(session: Session, *, store: Store,
                 rows: list[tuple[Message, int | None]]) -> list[MessageRow]:
    """A page of messages with their contact, campaign, step and credited order: one query each
    for the whole page."""
    messages = [m for m, _ in rows]
    if not messages:
        return []
    contact_ids = {m.contact_id for m in messages}
    contacts = {c.id: c for c in session.scalars(select(Contact).where(
        Contact.store_id == store.id, Contact.id.in_(contact_ids)))}
    campaigns = {c.id: c for c in session.scalars(select(Campaign).where(
        Campaign.store_id == store.id, Campaign.id.in_({m.campaign_id for m in messages})))}
    positions = dict(session.execute(select(CampaignStep.id, CampaignStep.position).where(
        CampaignStep.id.in_({m.step_id for m in messages}))).all())
    credited = {message_id: (order, revenue) for message_id, order, revenue in session.execute(
        select(Attribution.message_id, Order, Attribution.revenue)
        .join(Order, Order.id == Attribution.order_id)
        .where(Attribution.store_id == store.id, Attribution.removed_at.is_(None),
               Attribution.message_id.in_([m.id for m in messages])))}
    return [MessageRow(message=m, clicks=clicks or 0, contact=contacts.get(m.contact_id),
                       campaign=campaigns.get(m.campaign_id),
                       step_position=positions.get(m.step_id),
                       order=credited.get(m.id, (None, None))[0],
                       revenue=credited.get(m.id, (None, None))[1])
            for m, clicks in rows]


def _unsent(store: Store, *statuses: str):
    # `sent_at IS NULL` lets the database read the store's unsent messages by due time
    # (ix_messages_store_id_due_at_unsent) instead of every message of the store.
    return (select(Message, Link.human_clicks).outerjoin(Link, Link.message_id == Message.id)
            .where(Message.store_id == store.id, Message.sent_at.is_(None),
                   Message.status.in_(statuses)))


@dataclass(frozen=True)
class Upcoming:
    scheduled: list[MessageRow]
    held: list[MessageRow]


def upcoming(session: Session, *, store: Store) -> Upcoming:
    """What goes out next (or is going out now) and what is held, soonest first. What was
    skipped is in the log."""
    return Upcoming(*(message_rows(session, store=store, rows=[tuple(r) for r in session.execute(
        _unsent(store, *statuses).order_by(Message.due_at, Message.id).limit(UPCOMING)).all()])
        for statuses in ((SCHEDULED, SENDING), (HELD,))))


@dataclass(frozen=True)
class AnswerRow:
    answer: SurveyAnswer
    order: Order
    contact: Contact | None


def survey_answers(session: Session, *, store: Store, rating: int | None, limit: int,
                   cursor: str | None) -> tuple[list[AnswerRow], str | None]:
    """Survey answers, newest first, with the order rated and who rated it."""
    query = (select(SurveyAnswer, Order, Contact)
             .join(Order, Order.id == SurveyAnswer.order_id)
             .outerjoin(Contact, Contact.id == Order.contact_id)
             .where(SurveyAnswer.store_id == store.id))
    if rating is not None:
        query = query.where(SurveyAnswer.rating == rating)
    rows, next_cursor = page(session, query, SurveyAnswer.id, limit=limit, cursor=cursor)
    return [AnswerRow(*row) for row in rows], next_cursor
