"""The installation's secret key: it signs panel sessions and their CSRF tokens.

BAZGASHT_SECRET_KEY when set (production: keep it out of the database and its backups).
Unset, the first process generates 256 random bits once and keeps them in the
`server_secrets` table, where every process of the installation finds them and where no API,
export or store row shows them: reading stores (an API key's hash, a webhook secret) is then
no longer enough to forge a session, though reading the whole database still is.
"""

import secrets
from datetime import datetime

from fastapi import FastAPI
from sqlalchemy import String
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from app.clock import utcnow
from app.config import Settings
from app.db import Base, unit_of_work
from app.types import UTCDateTime

_NAME = "panel"


class ServerSecret(Base):
    __tablename__ = "server_secrets"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def __repr__(self) -> str:  # never the value
        return f"ServerSecret({self.name!r})"


def load(factory: sessionmaker[Session], settings: Settings) -> bytes:
    """The key: the setting's, else the one stored (made by the first process to ask)."""
    configured = settings.bazgasht_secret_key
    if configured is not None and configured.get_secret_value():
        return configured.get_secret_value().encode()
    with unit_of_work(factory) as session:
        row = session.get(ServerSecret, _NAME)
        if row is not None:
            return row.value.encode()
    try:
        with unit_of_work(factory) as session:
            value = secrets.token_urlsafe(32)
            session.add(ServerSecret(name=_NAME, value=value))
        return value.encode()
    except IntegrityError:  # another process made it first: theirs is the one
        with unit_of_work(factory) as session:
            return session.get_one(ServerSecret, _NAME).value.encode()


def of_app(app: FastAPI) -> bytes:
    """The app's key, loaded on first use (before the request's own transaction begins)."""
    key = getattr(app.state, "secret_key", None)
    if key is None:
        key = app.state.secret_key = load(app.state.sessionmaker, app.state.settings)
    return key
