"""Who may open a store's panel (members), their signed-in browsers (sessions), the one-time codes
that sign them in, and the links that let the first owner in."""

from datetime import datetime

from sqlalchemy import ForeignKey, Index, SmallInteger, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base
from app.types import BigId, UTCDateTime

OWNER = "owner"
MEMBER = "member"
ROLES = (OWNER, MEMBER)


class PanelMember(Base):
    """A person who signs in to one store's panel with their phone (several per store, and one
    phone may belong to several stores). Owners add and remove the others."""

    __tablename__ = "panel_members"
    __table_args__ = (UniqueConstraint("store_id", "phone"),
                      Index("ix_panel_members_phone", "phone"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"))
    phone: Mapped[str] = mapped_column(String(20))  # E.164
    name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(10))  # OWNER or MEMBER
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_signed_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class PanelSession(Base):
    """One signed-in browser of one member. The cookie holds a random token; the row only its
    sha256, so reading the table opens no panel. Ended by signing out, by an owner (the people
    page) or by removing the member (cascade)."""

    __tablename__ = "panel_sessions"
    __table_args__ = (Index("ix_panel_sessions_store_id", "store_id"),
                      Index("ix_panel_sessions_member_id", "member_id"))

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 hex of the token
    member_id: Mapped[int] = mapped_column(ForeignKey("panel_members.id", ondelete="CASCADE"))
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    user_agent: Mapped[str] = mapped_column(String(200), default="")
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class PanelJoinLink(Base):
    """A one-time link that makes the phone verified through it an owner of the store: how the
    first person gets in (printed by `bazgasht serve` for the demo store, or made by the
    operator with `bazgasht store join-link`). The row holds the token's sha256."""

    __tablename__ = "panel_join_links"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 hex of the token
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class PanelLoginCode(Base):
    """A six-digit code sent by SMS to sign in. Made for any phone asked about (a phone that is
    no member gets a row and no SMS, so both answer alike); kept as an HMAC with the
    installation's key. Dead after its first use, five wrong tries or five minutes. A code asked
    through a join link carries the link and the name given (`join_id`, `name`)."""

    __tablename__ = "panel_login_codes"
    __table_args__ = (Index("ix_panel_login_codes_phone", "phone"),
                      Index("ix_panel_login_codes_expires_at", "expires_at"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    phone: Mapped[str] = mapped_column(String(20))  # E.164
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(SmallInteger, default=0)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    join_id: Mapped[str | None] = mapped_column(ForeignKey("panel_join_links.id",
                                                           ondelete="CASCADE"))
    name: Mapped[str | None] = mapped_column(String(100))
