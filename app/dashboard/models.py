from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base
from app.types import UTCDateTime


class PanelSignOut(Base):
    """A panel session signed out before its cookie expired: its cookie opens nothing."""

    __tablename__ = "panel_sign_outs"

    session_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
