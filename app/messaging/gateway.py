"""SMS gateways. The campaign engine knows only this interface; gateways know no campaigns."""

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timezone
from enum import StrEnum
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.db import unit_of_work
from app.messaging.kavenegar import KavenegarClient, KavenegarError
from app.messaging.models import ConsoleSms

log = logging.getLogger(__name__)

DELIVERED = 10
# Kavenegar's final delivery codes; anything else is still on its way.
FINAL_STATUSES = frozenset({6, 10, 11, 13, 14, 100})
BLOCKED_BY_RECEIVER = 14


class ErrorKind(StrEnum):
    RETRY = "retry"          # try again later
    RECIPIENT = "recipient"  # this message or number will never go through
    STORE = "store"          # the store's account needs fixing: hold all its sending
    INVALID = "invalid"      # we asked wrongly: a bug


class GatewayError(Exception):
    def __init__(self, kind: ErrorKind, message: str, *, code: int | None = None,
                 ambiguous: bool = False):
        super().__init__(message)
        self.kind, self.code, self.ambiguous = kind, code, ambiguous


@dataclass(frozen=True)
class SendResult:
    gateway_id: str
    cost: int | None = None  # Rial
    status: int | None = None


@dataclass(frozen=True)
class Inbound:
    gateway_id: str
    sender: str
    line: str
    text: str
    received_at: datetime


class Gateway(Protocol):
    def send(self, *, localid: int, receptor: str, text: str) -> SendResult:
        """Send one SMS; `localid` (our message id) makes a repeated call harmless."""

    def send_many(self, items: list[tuple[int, str, str]]) -> list["SendResult | GatewayError"]:
        """Send (localid, receptor, text) items; one result or error per item, in order."""

    def accepted(self, localids: list[int]) -> dict[int, SendResult]:
        """Which of these local ids the gateway already took, with what it said then."""

    def statuses(self, gateway_ids: list[str]) -> dict[str, int]:
        """Delivery status codes of sent messages."""

    def receive(self) -> list[Inbound]:
        """Replies to the store's line, oldest first; reading them marks them read."""

    def credit(self) -> int | None:
        """Remaining credit in Rial (None: not applicable); raises GatewayError if refused."""


class ConsoleGateway:
    """Embedded default: records each SMS in the database, delivers nothing, reports delivered."""

    def __init__(self, factory: sessionmaker[Session]):
        self._factory = factory

    def for_store(self, store) -> "ConsoleGateway":
        return self

    def send(self, *, localid: int, receptor: str, text: str) -> SendResult:
        with unit_of_work(self._factory) as session:
            row = ConsoleSms(localid=str(localid), receptor=receptor, text=text)
            session.add(row)
            session.flush()
            log.info("console SMS to …%s (localid %s): %s", receptor[-4:], localid, text)
            return SendResult(gateway_id=f"console-{row.id}", status=1)

    def send_many(self, items: list[tuple[int, str, str]]) -> list[SendResult]:
        """The whole batch in one transaction: the console has no per-message round trip."""
        with unit_of_work(self._factory) as session:
            rows = [ConsoleSms(localid=str(localid), receptor=receptor, text=text)
                    for localid, receptor, text in items]
            session.add_all(rows)
            session.flush()
            log.info("console: %d SMS recorded", len(rows))
            return [SendResult(gateway_id=f"console-{row.id}", status=1) for row in rows]

    def accepted(self, localids: list[int]) -> dict[int, SendResult]:
        with self._factory() as session:
            rows = session.execute(select(ConsoleSms.id, ConsoleSms.localid).where(
                ConsoleSms.localid.in_([str(i) for i in localids])))
            return {int(localid): SendResult(gateway_id=f"console-{id_}") for id_, localid in rows}

    def statuses(self, gateway_ids: list[str]) -> dict[str, int]:
        return {gid: DELIVERED for gid in gateway_ids}

    def receive(self) -> list[Inbound]:
        return []

    def credit(self) -> int | None:
        return None


class KavenegarGateway:
    PARALLEL_SENDS = 8

    def __init__(self, client: KavenegarClient, *, sender: str | None):
        self._client, self._sender = client, sender
        self._pool = ThreadPoolExecutor(self.PARALLEL_SENDS, thread_name_prefix="kavenegar")

    def _call(self, fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except KavenegarError as exc:
            raise GatewayError(ErrorKind(exc.kind.value), str(exc), code=exc.status,
                               ambiguous=exc.ambiguous) from None

    def send(self, *, localid: int, receptor: str, text: str) -> SendResult:
        [entry] = self._call(self._client.send, [receptor], text, sender=self._sender,
                             localids=[localid])
        return SendResult(gateway_id=str(entry.messageid), cost=entry.cost, status=entry.status)

    def send_many(self, items: list[tuple[int, str, str]]) -> list[SendResult | GatewayError]:
        """One call per message, several at a time.

        Not sendarray: a batched call fails as a whole (one bad number → 411 for all), and its
        per-message local-id field is undocumented, so a lost answer could not be looked up.
        """
        def one(item):
            localid, receptor, text = item
            try:
                return self.send(localid=localid, receptor=receptor, text=text)
            except GatewayError as exc:
                return exc

        if len(items) <= 1:
            return [one(item) for item in items]
        return list(self._pool.map(one, items))

    def accepted(self, localids: list[int]) -> dict[int, SendResult]:
        found = {}
        for start in range(0, len(localids), 500):
            chunk = localids[start:start + 500]
            for localid, entry in zip(chunk, self._call(self._client.status_by_localid, chunk)):
                # Unknown local ids come back with status 100 and no message id.
                if entry.messageid and entry.status != 100:
                    found[localid] = SendResult(gateway_id=str(entry.messageid), cost=entry.cost,
                                                status=entry.status)
        return found

    def statuses(self, gateway_ids: list[str]) -> dict[str, int]:
        result = {}
        for start in range(0, len(gateway_ids), 500):
            chunk = gateway_ids[start:start + 500]
            for entry in self._call(self._client.status, [int(g) for g in chunk]):
                if entry.messageid is not None and entry.status is not None:
                    result[str(entry.messageid)] = entry.status
        return result

    def receive(self) -> list[Inbound]:
        if not self._sender:
            return []
        rows = self._call(self._client.receive, self._sender, False)
        return [Inbound(gateway_id=str(m.messageid), sender=m.sender or "", line=m.receptor or "",
                        text=m.message or "",
                        received_at=datetime.fromtimestamp(m.date or 0, timezone.utc))
                for m in rows]

    def credit(self) -> int | None:
        return self._call(self._client.account_info).remaincredit


class Gateways:
    """Each store's gateway, made once per process from the store's settings."""

    def __init__(self, factory: sessionmaker[Session], *, kavenegar_base_url: str,
                 read_timeout: float = 15.0):
        self._console = ConsoleGateway(factory)
        self._base_url = kavenegar_base_url
        self._read_timeout = read_timeout
        self._kavenegar: dict[tuple[str, str | None], KavenegarGateway] = {}

    def for_store(self, store) -> Gateway:
        if store.sms_provider != "kavenegar" or not store.sms_api_key:
            return self._console
        key = (store.sms_api_key, store.sms_sender)
        if key not in self._kavenegar:
            client = KavenegarClient(store.sms_api_key, base_url=self._base_url,
                                     connect_timeout=5.0, read_timeout=self._read_timeout)
            self._kavenegar[key] = KavenegarGateway(client, sender=store.sms_sender)
        return self._kavenegar[key]


def make_gateways(factory: sessionmaker[Session]) -> Gateways:
    from app.config import get_settings

    return Gateways(factory, kavenegar_base_url=get_settings().kavenegar_base_url)
