"""A completed order whose survey SMS went out, the link the customer taps, and what got stored."""

from dataclasses import dataclass

from sqlalchemy import func, select

from app.alerts.models import MerchantAlert
from app.campaigns.models import Enrollment
from app.messaging.models import ConsoleSms
from app.stores.models import Store
from app.surveys.models import SurveyAnswer
from app.surveys.service import survey_url
from tests.campaigns.shop import tehran

COMPLETED = tehran("2026-11-24T10:00")
SURVEY_DUE = tehran("2026-11-27T10:00")  # the survey step waits three days


@dataclass
class SurveyLink:
    url: str
    path: str
    token: str
    message_id: int
    order_id: int


def open_survey_link(shop, base_url, *, wc_id: int = 1234) -> SurveyLink:
    """The story up to the customer's tap: the order completes, three days pass, the SMS goes."""
    shop.order(wc_id, COMPLETED, status="completed")
    shop.tick(COMPLETED.replace(minute=5))
    shop.tick(SURVEY_DUE)
    [message] = [m for m in shop.messages("post_purchase_survey")
                 if m.status in ("sent", "delivered")]
    with shop.factory() as session:
        store = session.get(Store, shop.store.id)
        order_id = session.get(Enrollment, message.enrollment_id).subject_id
    base = str(base_url).rstrip("/")
    url = survey_url(base, store, message.id)
    path = url.removeprefix(base)
    return SurveyLink(url=url, path=path, token=path.rsplit("/", 1)[1], message_id=message.id,
                      order_id=order_id)


def count(factory, model) -> int:
    with factory() as session:
        return session.scalar(select(func.count()).select_from(model))


def answers(factory) -> list[SurveyAnswer]:
    with factory() as session:
        return session.scalars(select(SurveyAnswer).order_by(SurveyAnswer.id)).all()


def alerts(factory) -> list[MerchantAlert]:
    with factory() as session:
        return session.scalars(select(MerchantAlert).order_by(MerchantAlert.id)).all()


def console_sms(factory) -> list[ConsoleSms]:
    with factory() as session:
        return session.scalars(select(ConsoleSms).order_by(ConsoleSms.id)).all()
