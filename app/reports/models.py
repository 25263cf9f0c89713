"""The daily rollup of reports (app/reports/rollup.py): per store-local day and campaign, step
and A/B variant, the additive figures of the messages that went out that day, and how far each
store has been rolled up. The days that may be out of date: app/report_marks."""

from datetime import date

from sqlalchemy import BigInteger, Date, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base

# The figures of a rollup row, in the order of report_days' columns.
FIGURES = ("messages", "scheduled", "sending", "held", "skipped", "sent", "delivered", "failed",
           "blocked", "parts", "cost_known", "cost_estimated_parts", "cost_estimated",
           "cost_reported", "cost_ledger", "clicks", "orders", "revenue", "revenue_taken_back",
           "recovered_carts", "cross_sell_purchases")


def _figure() -> Mapped[int]:
    return mapped_column(BigInteger, default=0)


class ReportDay(Base):
    """What the messages sent on one local day by one step (and variant) add up to, as the raw
    report queries count them. `cost_known` is the cost that does not depend on the store's
    price per part; `cost_estimated_parts` × the price is the rest (the price may change)."""

    __tablename__ = "report_days"

    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"),
                                          primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    step_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    variant: Mapped[str] = mapped_column(String(40), primary_key=True)  # '' for none
    messages: Mapped[int] = _figure()
    scheduled: Mapped[int] = _figure()
    sending: Mapped[int] = _figure()
    held: Mapped[int] = _figure()
    skipped: Mapped[int] = _figure()
    sent: Mapped[int] = _figure()
    delivered: Mapped[int] = _figure()
    failed: Mapped[int] = _figure()
    blocked: Mapped[int] = _figure()
    parts: Mapped[int] = _figure()
    cost_known: Mapped[int] = _figure()
    cost_estimated_parts: Mapped[int] = _figure()
    cost_estimated: Mapped[int] = _figure()
    cost_reported: Mapped[int] = _figure()
    cost_ledger: Mapped[int] = _figure()
    clicks: Mapped[int] = _figure()
    orders: Mapped[int] = _figure()
    revenue: Mapped[int] = _figure()
    revenue_taken_back: Mapped[int] = _figure()
    recovered_carts: Mapped[int] = _figure()
    cross_sell_purchases: Mapped[int] = _figure()


class ReportWatermark(Base):
    """How far a store's rollup goes: every day up to `through` (local days in `timezone`) has
    its rows, unless marked dirty. Later days, and a store without a watermark or whose
    timezone changed since, are read from the raw tables."""

    __tablename__ = "report_watermarks"

    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"),
                                          primary_key=True)
    through: Mapped[date] = mapped_column(Date)
    timezone: Mapped[str] = mapped_column(String(64))
