"""A store's past, written row by row through the ORM: messages in every state, their links and
clicks, credited orders, survey answers and opt-outs, at exact local times."""

import itertools
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from app.campaigns.models import Attribution, Campaign, CampaignStep, Enrollment, Message
from app.commerce.models import Order
from app.contacts.models import Contact
from app.links.models import Link
from app.surveys.models import SurveyAnswer

TEHRAN = ZoneInfo("Asia/Tehran")
_serial = itertools.count(1)


def local(text: str, zone: ZoneInfo = TEHRAN) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=zone)


class History:
    """Rows of one store. Times are local wall-clock text ("2026-11-01 00:10")."""

    def __init__(self, session: Session, store_id: int, zone: ZoneInfo = TEHRAN):
        self.session, self.store_id, self.zone = session, store_id, zone
        self.campaigns = {c.kind: c for c in session.scalars(
            select(Campaign).where(Campaign.store_id == store_id))}
        self.steps = {(c.kind, s.position): s for c in self.campaigns.values()
                      for s in session.scalars(select(CampaignStep)
                                               .where(CampaignStep.campaign_id == c.id))}

    def at(self, text: str | None) -> datetime | None:
        return local(text, self.zone) if text else None

    def contact(self, *, first_name="مریم", last_name="احمدی") -> Contact:
        n = next(_serial)
        contact = Contact(store_id=self.store_id, phone=f"+98912{n:07d}", first_name=first_name,
                          last_name=last_name)
        self.session.add(contact)
        self.session.flush()
        return contact

    def message(self, kind: str, position: int, *, status: str, variant=None, sent=None,
                due=None, parts=None, cost=None, delivery_status=None, delivered=None,
                contact: Contact | None = None, clicked=None, human_clicks=None, bot_hits=0,
                reason=None, reason_detail=None,
                text="سبد خریدتان منتظر شماست") -> Message:
        contact = contact or self.contact()
        campaign, step = self.campaigns[kind], self.steps[(kind, position)]
        sent_at = self.at(sent)
        enrollment = Enrollment(store_id=self.store_id, campaign_id=campaign.id,
                                subject_type="cart", subject_id=next(_serial),
                                contact_id=contact.id, anchor_at=self.at(due or sent))
        self.session.add(enrollment)
        self.session.flush()
        message = Message(store_id=self.store_id, campaign_id=campaign.id,
                          enrollment_id=enrollment.id, step_id=step.id, contact_id=contact.id,
                          due_at=self.at(due or sent), status=status, variant=variant,
                          sent_at=sent_at, parts=parts, cost=cost,
                          delivery_status=delivery_status, delivered_at=self.at(delivered),
                          reason=reason, reason_detail=reason_detail, text=text)
        self.session.add(message)
        self.session.flush()
        if sent_at is not None:
            first = self.at(clicked)
            self.session.add(Link(
                code=f"c{next(_serial):06d}", store_id=self.store_id, message_id=message.id,
                kind="cart", target="https://shop.example/", expires_at=sent_at.replace(year=2027),
                human_clicks=(human_clicks or 1) if first else 0, bot_hits=bot_hits,
                first_clicked_at=first, last_clicked_at=first))
            self.session.flush()
        return message

    def order(self, message: Message, *, revenue: int, at: str, basis="click",
              cross_sell=False, removed=False, number=None, status="processing",
              first_name="مریم") -> Attribution:
        n = next(_serial)
        order = Order(store_id=self.store_id, wc_id=1000 + n, number=str(number or 1000 + n),
                      status=status, purchased=not removed, currency="IRT", total=revenue,
                      first_name=first_name, contact_id=message.contact_id,
                      created_gmt=self.at(at), items=[])
        self.session.add(order)
        self.session.flush()
        credit = Attribution(store_id=self.store_id, order_id=order.id, message_id=message.id,
                             campaign_id=message.campaign_id, step_id=message.step_id,
                             variant=message.variant, basis=basis, revenue=revenue,
                             cross_sell_purchase=cross_sell, attributed_at=self.at(at),
                             removed_at=self.at(at) if removed else None,
                             removed_reason="order cancelled" if removed else None)
        self.session.add(credit)
        self.session.flush()
        return credit

    def answer(self, message: Message | None, *, rating: int, at: str, comment=None) -> None:
        n = next(_serial)
        order = Order(store_id=self.store_id, wc_id=5000 + n, number=str(5000 + n),
                      status="completed", purchased=True, currency="IRT", total=1_000_000,
                      created_gmt=self.at(at), items=[])
        self.session.add(order)
        self.session.flush()
        self.session.add(SurveyAnswer(store_id=self.store_id, order_id=order.id,
                                      message_id=message.id if message else None, rating=rating,
                                      comment=comment, answered_at=self.at(at)))
        self.session.flush()

    def opt_out(self, contact: Contact, *, at: str, source: str) -> None:
        contact.opted_out_at, contact.opt_out_source = self.at(at), source
        self.session.flush()

    def many(self, kind: str, position: int, *, variant: str, sent: str, count: int,
             clicks: int, orders: int) -> None:
        """`count` delivered messages of one variant sent at one moment, the first `clicks` of
        them clicked and the first `orders` credited with an order (bulk inserts)."""
        campaign, step, at = self.campaigns[kind], self.steps[(kind, position)], self.at(sent)
        contact = self.contact()
        first = next(_serial) * 100_000
        self.session.execute(insert(Enrollment), [
            dict(store_id=self.store_id, campaign_id=campaign.id, subject_type="cart",
                 subject_id=first + i, contact_id=contact.id, anchor_at=at)
            for i in range(count)])
        enrollments = self.session.scalars(
            select(Enrollment.id).where(Enrollment.campaign_id == campaign.id,
                                        Enrollment.subject_id >= first,
                                        Enrollment.subject_id < first + count)
            .order_by(Enrollment.id)).all()
        self.session.execute(insert(Message), [
            dict(store_id=self.store_id, campaign_id=campaign.id, enrollment_id=e,
                 step_id=step.id, contact_id=contact.id, due_at=at, status="delivered",
                 variant=variant, sent_at=at, parts=1, cost=1000) for e in enrollments])
        ids = self.session.scalars(select(Message.id).where(Message.enrollment_id.in_(enrollments))
                                   .order_by(Message.id)).all()
        self.session.execute(insert(Link), [
            dict(code=f"m{first + i:09d}", store_id=self.store_id, message_id=m, kind="cart",
                 target="https://shop.example/", expires_at=at.replace(year=2027),
                 human_clicks=1 if i < clicks else 0, bot_hits=0,
                 first_clicked_at=at if i < clicks else None) for i, m in enumerate(ids)])
        for i, m in enumerate(ids[:orders]):
            order = Order(store_id=self.store_id, wc_id=first + i, number=str(first + i),
                          status="processing", purchased=True, currency="IRT", total=100_000,
                          contact_id=contact.id, created_gmt=at, items=[])
            self.session.add(order)
            self.session.flush()
            self.session.add(Attribution(store_id=self.store_id, order_id=order.id,
                                         message_id=m, campaign_id=campaign.id, step_id=step.id,
                                         variant=variant, basis="click", revenue=100_000,
                                         attributed_at=at))
        self.session.flush()
