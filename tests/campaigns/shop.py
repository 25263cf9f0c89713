"""The store's side of a campaign story: webhooks in, ticks, and what the console gateway got."""

import re
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import select

from app.campaigns.models import Campaign, Message
from app.ingest.service import process_pending
from app.links.models import Link
from app.messaging.gateway import ConsoleGateway
from app.messaging.models import ConsoleSms
from app.scheduler import tick
from tests.factories import set_step
from tests.helpers import deliver

TEHRAN = ZoneInfo("Asia/Tehran")
PHONE = "+989123456789"


def tehran(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=TEHRAN)


def gmt(at: datetime) -> str:
    """WooCommerce's *_gmt format: UTC without a zone."""
    return at.astimezone(timezone.utc).replace(tzinfo=None).isoformat(timespec="seconds")


class Shop:
    """The store's side of the story: what its WooCommerce sends, and the scheduler's ticks."""

    def __init__(self, client, store, factory, clock):
        self.client, self.store, self.factory, self.clock = client, store, factory, clock
        self.gateway = ConsoleGateway(factory)

    def cart(self, token: str, at: datetime, *, phone="۰۹۱۲۳۴۵۶۷۸۹", total="550000", name="علی",
             consent: bool = True):
        response = deliver(self.client, self.store, "bazgasht_cart.updated", {
            "consent": consent,
            "token": token, "phone": phone, "first_name": name, "last_name": "رضایی",
            "email": "", "currency": "IRT", "total": total,
            "items": [{"product_id": 11, "name": "چای سبز", "quantity": 2, "price": "275000",
                       "total": total}] if total != "0" else [],
            "restore_url": f"https://shop.example/?bazgasht-restore={token}",
            "cart_url": "https://shop.example/cart/", "date_modified_gmt": gmt(at)})
        assert response.status_code == 200
        self.apply(at)

    def order(self, wc_id: int, at: datetime, *, status="processing", phone="09123456789",
              cart_token=None, items=((11, 2),), coupons=(), placed: datetime | None = None,
              total="600000", sms_consent: str | None = None, refunds=(), name="علی",
              arrived: datetime | None = None):
        """The order as it is at `at` (paid then, if processing or completed), placed at
        `placed` (default: at `at` too); `sms_consent` as the plugin's checkout box left it;
        `refunds`: the amounts its refunds gave back so far (toman, as WooCommerce lists them);
        `arrived`: when bazgasht gets it (default `at`: a late webhook, a store's sync)."""
        meta = [{"id": 1, "key": "_bazgasht_cart_token", "value": cart_token}] if cart_token else []
        if sms_consent is not None:
            meta.append({"id": 2, "key": "_bazgasht_sms_consent", "value": sms_consent})
        paid = gmt(at) if status in ("processing", "completed") else None
        response = deliver(self.client, self.store, "order.updated", {
            "id": wc_id, "number": str(wc_id), "status": status, "currency": "IRT",
            "total": total, "billing": {"first_name": name, "phone": phone},
            "meta_data": meta,
            "coupon_lines": [{"id": i, "code": code} for i, code in enumerate(coupons, 1)],
            "refunds": [{"id": 900 + i, "reason": "", "total": f"-{amount}"}
                        for i, amount in enumerate(refunds, 1)],
            "line_items": [{"product_id": p, "quantity": q, "price": 275000, "total": "550000"}
                           for p, q in items],
            "date_created_gmt": gmt(placed or at), "date_modified_gmt": gmt(at),
            "date_paid_gmt": paid,
            "date_completed_gmt": gmt(at) if status == "completed" else None})
        assert response.status_code == 200
        self.apply(arrived or at)

    def product(self, wc_id: int, *, cross_sells=(), name="قوری", stock="instock",
                categories=()):
        """The product as WooCommerce sends it; `categories`: the ids it is filed under."""
        response = deliver(self.client, self.store, "product.updated", {
            "id": wc_id, "name": name, "permalink": f"https://shop.example/p/{wc_id}/",
            "price": "1600000", "stock_status": stock, "cross_sell_ids": list(cross_sells),
            "categories": [{"id": c, "name": f"دسته {c}"} for c in categories],
            "date_modified_gmt": "2026-11-01T00:00:00"})
        assert response.status_code == 200
        self.apply()

    def apply(self, at: datetime | None = None):
        """bazgasht applies what the store sent, at `at` (the story's time) or the clock's."""
        if at is not None:
            self.clock.set(at)
        process_pending(self.factory, now=self.clock.now())

    def tick(self, at: datetime):
        """The scheduler's round at `at`; the app's clock moves there too."""
        self.clock.set(at)
        return tick(self.factory, self.gateway, self.clock.now())

    def sms(self) -> list[ConsoleSms]:
        with self.factory() as session:
            return session.scalars(select(ConsoleSms).order_by(ConsoleSms.id)).all()

    def messages(self, kind: str | None = None) -> list[Message]:
        with self.factory() as session:
            query = select(Message).join(Campaign).order_by(Message.id)
            if kind:
                query = query.where(Campaign.kind == kind)
            return session.scalars(query).all()

    def link(self, text: str) -> Link:
        """The short link a text carries."""
        [code] = re.findall(r"https?://[^/\s]+/([A-Za-z0-9]{7})\b", text)
        with self.factory() as session:
            return session.scalar(select(Link).where(Link.code == code))

    def campaign(self, kind: str) -> Campaign:
        with self.factory() as session:
            return session.scalar(select(Campaign).where(Campaign.store_id == self.store.id,
                                                         Campaign.kind == kind))

    def set_step(self, kind: str, position: int, **values):
        """Set the columns of a step of this store's campaign of `kind`."""
        set_step(self.factory, self.store.id, kind, position, **values)
