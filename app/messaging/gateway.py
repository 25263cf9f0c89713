"""SMS gateways. The campaign engine knows only this interface; the gateway knows no campaigns."""

import logging
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.db import unit_of_work
from app.messaging.models import ConsoleSms

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SendResult:
    gateway_id: str


class Gateway(Protocol):
    def send(self, *, localid: int, receptor: str, text: str) -> SendResult:
        """Send one SMS; `localid` (our message id) makes a repeated call harmless."""

    def sent_localids(self, localids: list[int]) -> set[int]:
        """Which of these local ids the gateway has already accepted."""


class ConsoleGateway:
    """Embedded default: records each SMS in the database and delivers nothing."""

    def __init__(self, factory: sessionmaker[Session]):
        self._factory = factory

    def send(self, *, localid: int, receptor: str, text: str) -> SendResult:
        with unit_of_work(self._factory) as session:
            row = ConsoleSms(localid=str(localid), receptor=receptor, text=text)
            session.add(row)
            session.flush()
            log.info("console SMS to …%s (localid %s): %s", receptor[-4:], localid, text)
            return SendResult(gateway_id=f"console-{row.id}")

    def sent_localids(self, localids: list[int]) -> set[int]:
        with self._factory() as session:
            found = session.scalars(
                select(ConsoleSms.localid).where(ConsoleSms.localid.in_([str(i) for i in localids])))
            return {int(i) for i in found}


def make_gateway(factory: sessionmaker[Session]) -> Gateway:
    """The gateway stores send through (only the console one until Kavenegar lands)."""
    return ConsoleGateway(factory)
