"""How far a store is from its first SMS, and what is wrong with it now.

- `checklist`: the first-run steps (connect the store, the companion plugin, the SMS gateway,
  sending hours, a test SMS), each done or not by what the store's own rows say — nothing is
  ticked by hand, so the list never claims a connection that does not deliver.
- `connection`: the health box that replaces the checklist once it is done — each topic's last
  delivery and the deliveries refused for their signature.
- `banners`: what every panel page says at its top while it lasts: sending paused, the prepaid
  balance low, the connection to WooCommerce broken.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from app.admin.preview import has_sent_test
from app.campaigns.editing import list_campaigns, live_steps
from app.commerce.topics import CART_TOPIC, WEBHOOK_TOPICS
from app.connection import service as connection
from app.connection.models import HEALTHY
from app.ingest.service import connection_health, rejections
from app.messaging.providers import PROVIDERS
from app.stores.models import Store

# A refused delivery this recent still counts as a broken connection: WooCommerce disables a
# webhook after a few refusals and sends nothing more, so silence afterwards proves nothing.
REJECTION_FRESH_FOR = timedelta(days=1)


@dataclass(frozen=True)
class Item:
    key: str  # connect | plugin | gateway | hours | test_sms
    done: bool
    detail: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Checklist:
    items: list[Item]
    connection: dict  # connection_health(): topics with their last delivery, rejections
    webhooks: dict  # topic → its webhook at the store as the one-click connect left it

    @property
    def done(self) -> bool:
        return all(item.done for item in self.items)

    @property
    def done_count(self) -> int:
        return sum(item.done for item in self.items)


def _first_step(session: Session, store: Store) -> tuple[int, int] | None:
    """(campaign id, step id) of the first step of the store's first campaign that has one:
    where the test SMS is sent from (a real text of the store, with a sample customer)."""
    campaigns = list_campaigns(session, store=store)
    steps = live_steps(session, campaign_ids=[c.id for c in campaigns])
    for campaign in sorted(campaigns, key=lambda c: (not c.active, c.id)):
        if steps[campaign.id]:
            return campaign.id, steps[campaign.id][0].id
    return None


def checklist(session: Session, store: Store) -> Checklist:
    health = connection_health(session, store_id=store.id)
    last = {t["topic"]: t["last_delivery_at"] for t in health["topics"]}
    registered = connection.topic_results(session, store.id)
    delivered = any(last.get(topic) for topic in WEBHOOK_TOPICS)
    one_click = bool(registered) and all(r.status in HEALTHY for r in registered)
    connected = (delivered or one_click) and store.connection_broken_at is None
    items = [
        Item("connect", connected, {"delivered": delivered, "one_click": one_click}),
        Item("plugin", last.get(CART_TOPIC) is not None, {"last": last.get(CART_TOPIC)}),
        Item("gateway", store.sms_provider != "console" and store.sending_paused_at is None,
             {"provider": store.sms_provider, "label": _provider_label(store.sms_provider),
              "balance": store.balance if store.sms_provider == "platform" else None}),
        # Sensible from the start (9:00–21:00 every day): done, shown so the merchant sees them.
        Item("hours", True, {"from": store.send_from_minute, "until": store.send_until_minute,
                             "weekdays": sorted(store.send_weekdays or [])}),
        Item("test_sms", has_sent_test(session, store_id=store.id),
             {"step": _first_step(session, store)}),
    ]
    return Checklist(items=items, connection=health, webhooks={r.topic: r for r in registered})


def _provider_label(provider: str) -> str:
    if provider in PROVIDERS:
        return PROVIDERS[provider].label
    return {"platform": "حساب پیش‌پرداخت بازگشت"}.get(provider, "آزمایشی")


@dataclass(frozen=True)
class Banner:
    key: str  # paused | low_balance | connection
    since: datetime | None = None
    detail: str | None = None


def banners(session: Session, store: Store, now: datetime) -> list[Banner]:
    found = []
    if store.sending_paused_at is not None:
        found.append(Banner("paused", store.sending_paused_at, store.sending_paused_reason))
    if store.sms_provider == "platform" and store.balance < store.low_balance_threshold:
        found.append(Banner("low_balance"))
    if store.connection_broken_at is not None:
        found.append(Banner("connection", store.connection_broken_at))
    else:
        rejected = rejections(session, store_id=store.id, since=now - REJECTION_FRESH_FOR)
        if rejected:
            found.append(Banner("connection", min(r.first_at for r in rejected), "signature"))
    return found
