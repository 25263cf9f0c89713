"""Days of a store whose reports' rollup (app/reports/rollup.py) may be out of date."""

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index
from sqlalchemy.orm import Mapped, mapped_column

from app.clock import utcnow
from app.db import Base
from app.types import BigId, UTCDateTime


class ReportDirtyDay(Base):
    """A local day whose rollup rows may be out of date: one row per writing transaction (never
    an update of a shared row, so concurrent writers never wait on each other or on the rollup
    job), removed by the job once it has rolled up the day from what it saw."""

    __tablename__ = "report_dirty_days"
    __table_args__ = (Index("ix_report_dirty_days_store_id_day", "store_id", "day"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"))
    day: Mapped[date] = mapped_column(Date)
    marked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
