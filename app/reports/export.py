"""CSV exports of a period's messages and of the orders credited to them, streamed.

For Excel: UTF-8 with a byte-order mark (without it Excel reads Persian as mojibake), CRLF line
ends, and text cells that start like a formula (=, +, -, @) prefixed with an apostrophe, so a
customer who types "=HYPERLINK(…)" as their name cannot plant a formula in the merchant's sheet.

Phones are masked by default (+989*****6789): exports get mailed around and shared in chat
groups far more than an API answer, and the last four digits with the name are enough to
recognise a customer. The merchant owns the data, so `phones=full` gives the whole number.

Rows are read a page at a time, each page in its own short read transaction: a slow download
holds no connection and no transaction (on SQLite, a transaction would also hold the write
lock) while the client reads.
"""

import csv
import heapq
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from fastapi.responses import StreamingResponse
from sqlalchemy.orm import Session, sessionmaker

from app.campaigns.models import ABANDONED_CART, Message
from app.contacts.phones import mask_phone
from app.reports import repository as repo
from app.reports.costs import sms_costs
from app.reports.period import Period, jalali_label
from app.stores.models import Store

PAGE = 1000
BOM = "\ufeff"
MASKED, FULL = "masked", "full"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

MESSAGE_COLUMNS = [
    "message_id", "campaign_id", "campaign", "campaign_name", "step", "variant", "status",
    "reason", "reason_detail", "phone", "first_name", "last_name", "date", "date_jalali",
    "due_at", "sent_at", "delivered_at", "delivery_status", "parts", "cost_rial", "cost_estimated", "first_click_at",
    "human_clicks", "orders", "order_numbers", "revenue_rial", "text"]
ORDER_COLUMNS = [
    "order_number", "order_id", "order_date", "order_date_jalali", "order_status",
    "revenue_rial", "currency", "first_name", "last_name", "phone", "campaign_id", "campaign",
    "campaign_name", "step", "variant", "basis", "recovered_cart", "cross_sell_purchase",
    "message_id", "message_sent_at", "first_click_at", "credited_at"]


@dataclass(frozen=True)
class StoreView:
    """What an export needs of the store, taken before the request's session closes."""

    id: int
    sms_price_per_part: int
    timezone: str

    @classmethod
    def of(cls, store: Store) -> "StoreView":
        return cls(store.id, store.sms_price_per_part, store.timezone)


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


class _Writer:
    """Rows to CSV text chunks."""

    def __init__(self, columns: list[str]):
        self.buffer = io.StringIO()
        self.csv = csv.writer(self.buffer)
        self.csv.writerow(columns)

    def row(self, cells: list, *, phone_at: int | None = None) -> None:
        out = [_cell(c) for c in cells]
        if phone_at is not None:  # E.164 (or masked): a plus and digits, never a formula
            out[phone_at] = cells[phone_at] or ""
        self.csv.writerow(out)

    def take(self) -> str:
        text = self.buffer.getvalue()
        self.buffer.seek(0)
        self.buffer.truncate()
        return text


def _local(at: datetime | None, period: Period) -> str | None:
    return at.astimezone(period.zone).isoformat() if at else None


def _messages(factory: sessionmaker[Session], store: StoreView, period: Period, where,
              went: bool) -> Iterator[tuple]:
    """(date, id, row, cost, credits) of the period's messages that went out, or did not."""
    after = None
    while True:
        with factory() as session:
            rows = repo.message_page(session, store_id=store.id, period=period, went=went,
                                     after=after, limit=PAGE, where=where)
            if not rows:
                return
            ids = [r[0].id for r in rows]
            costs = {}
            if went:
                costs = sms_costs(session, store=store, by=(Message.id,),
                                  where=[Message.id.in_(ids)])
            credits: dict[int, list] = {}
            for message_id, number, revenue in repo.credits_of(session, message_ids=ids):
                credits.setdefault(message_id, []).append((number, revenue))
        for row in rows:
            message = row[0]
            at = message.sent_at if went else message.due_at
            yield at, message.id, row, costs.get((message.id,)), credits.get(message.id, [])
        after = (rows[-1][0].sent_at if went else rows[-1][0].due_at, rows[-1][0].id)


def messages_csv(factory: sessionmaker[Session], *, store: StoreView, period: Period,
                 campaign_id: int | None, phones: str) -> Iterator[str]:
    """The period's messages, oldest first (by when they went out, or were due)."""
    where = (Message.campaign_id == campaign_id,) if campaign_id is not None else ()
    out = _Writer(MESSAGE_COLUMNS)
    yield BOM + out.take()
    merged = heapq.merge(_messages(factory, store, period, where, True),
                         _messages(factory, store, period, where, False),
                         key=lambda item: (item[0], item[1]))
    for n, (at, _, row, cost, credits) in enumerate(merged, start=1):
        (message, kind, name, position, phone, first_name, last_name, clicked_at,
         human_clicks) = row
        out.row([
            message.id, message.campaign_id, kind, name, position, message.variant,
            message.status, message.reason, message.reason_detail,
            phone if phones == FULL else mask_phone(phone),
            first_name, last_name, at.astimezone(period.zone).date().isoformat(),
            jalali_label(at.astimezone(period.zone).date()), _local(message.due_at, period),
            _local(message.sent_at, period), _local(message.delivered_at, period),
            message.delivery_status, message.parts, cost.rial if cost else None,
            (cost.estimated > 0) if cost else None, _local(clicked_at, period), human_clicks,
            len(credits), " ".join(str(number) for number, _ in credits),
            sum(revenue for _, revenue in credits) if credits else None, message.text,
        ], phone_at=MESSAGE_COLUMNS.index("phone"))
        if n % 200 == 0:
            yield out.take()
    yield out.take()


def orders_csv(factory: sessionmaker[Session], *, store: StoreView, period: Period,
               campaign_id: int | None, phones: str) -> Iterator[str]:
    """The orders credited to the period's messages (credits not removed), in credit order."""
    where = (Message.campaign_id == campaign_id,) if campaign_id is not None else ()
    out = _Writer(ORDER_COLUMNS)
    yield BOM + out.take()
    after_id = 0
    while True:
        with factory() as session:
            rows = repo.credit_page(session, store_id=store.id, period=period, after_id=after_id,
                                    limit=PAGE, where=where)
        if not rows:
            break
        for credit, order, sent_at, variant, kind, name, position, phone, clicked_at in rows:
            ordered_at = order.created_gmt or credit.attributed_at
            out.row([
                order.number or order.wc_id, order.wc_id, _local(ordered_at, period),
                jalali_label(ordered_at.astimezone(period.zone).date()), order.status,
                credit.revenue, order.currency, order.first_name, order.last_name,
                phone if phones == FULL else mask_phone(phone), credit.campaign_id, kind, name,
                position, variant, credit.basis, kind == ABANDONED_CART,
                credit.cross_sell_purchase, credit.message_id, _local(sent_at, period),
                _local(clicked_at, period), _local(credit.attributed_at, period),
            ], phone_at=ORDER_COLUMNS.index("phone"))
        yield out.take()
        after_id = rows[-1][0].id


def download(rows: Iterator[str], name: str, period: Period) -> StreamingResponse:
    """A CSV streamed as a file to save, named for what it holds and its days (the API's and
    the panel's downloads alike)."""
    filename = f"bazgasht-{name}-{period.first_day}-{period.last_day}.csv"
    return StreamingResponse(rows, media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="{filename}"',
        "Cache-Control": "no-store"})
