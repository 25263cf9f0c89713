"""SMS gateways. The campaign engine knows only this interface; gateways know no campaigns."""

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from enum import StrEnum
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.db import unit_of_work
from app.messaging.kavenegar import MAX_SEND_RECEPTORS, KavenegarClient, KavenegarError
from app.messaging.models import ConsoleSms
from app.messaging.segments import count_segments

log = logging.getLogger(__name__)

# Our delivery codes are Kavenegar's numbering; every other provider maps its states to them:
# 1 queued, 4 and 5 handed to the operator (not final), 6 failed, 10 delivered, 11 undelivered
# (phone off), 13 cancelled, 14 blacklisted (the receiver refuses advertising SMS), 100 unknown.
DELIVERED = 10
FINAL_STATUSES = frozenset({6, 10, 11, 13, 14, 100})  # anything else is still on its way
BLOCKED_BY_RECEIVER = 14

Item = tuple[int, str, str]  # (localid: our message id, receptor, text)


class ErrorKind(StrEnum):
    RETRY = "retry"          # try again later
    RECIPIENT = "recipient"  # this message or number will never go through
    STORE = "store"          # the store's account needs fixing: hold all its sending
    INVALID = "invalid"      # we asked wrongly: a bug


class GatewayError(Exception):
    """`ambiguous`: the gateway may have acted before the answer was lost. `timed_out`: no
    answer within the deadline (asking again at once would likely wait as long again).
    `blacklisted`: refused because the receiver refuses advertising SMS (as delivery code 14
    says after a send): that contact gets no promotional SMS again."""

    def __init__(self, kind: ErrorKind, message: str, *, code: int | None = None,
                 ambiguous: bool = False, timed_out: bool = False, blacklisted: bool = False):
        super().__init__(message)
        self.kind, self.code, self.ambiguous, self.timed_out = kind, code, ambiguous, timed_out
        self.blacklisted = blacklisted


@dataclass(frozen=True)
class SendResult:
    gateway_id: str
    cost: int | None = None  # Rial
    status: int | None = None
    parts: int | None = None  # when the answer shows the text sent (verify/lookup fills a template)
    note: str | None = None   # how we know, when it is not the plain answer to the send


CONFIRMED_AFTER_LOST_ANSWER = "confirmed after a lost answer"


@dataclass(frozen=True)
class Lookup:
    """A message as an approved template (Kavenegar verify/lookup) and its tokens, ready to send:
    token names are Kavenegar's (token, token2, token3, token10, token20)."""

    template: str
    tokens: dict[str, str]

    def readable(self) -> str:
        """What the message row keeps as its text: the template and what filled it."""
        return f"[lookup {self.template}] " + " | ".join(f"{k}={v}" for k, v in self.tokens.items())


@dataclass(frozen=True)
class Inbound:
    gateway_id: str
    sender: str
    line: str
    text: str
    received_at: datetime


class Gateway(Protocol):
    # True when a message missing from accepted()'s answer was certainly not taken (a lookup by
    # our own id). When False, a message whose answer was lost and that accepted() cannot find
    # is never sent again: its outcome is unknown, and a duplicate costs the merchant twice.
    knows_absence: bool

    def send(self, *, localid: int, receptor: str, text: str) -> SendResult:
        """Send one SMS; `localid` (our message id) makes a repeated call harmless."""

    def send_many(self, items: list[Item]) -> list["SendResult | GatewayError"]:
        """Send (localid, receptor, text) items; one result or error per item, in order."""

    def lookup_many(self, items: list[tuple[int, str, Lookup]]
                    ) -> list["SendResult | GatewayError"]:
        """Send (localid, receptor, lookup) items as approved templates; one result or error per
        item, in order. There may be no local id at the gateway: an ambiguous error here cannot
        be looked up afterwards."""

    def accepted(self, items: list[Item]) -> dict[int, SendResult]:
        """Which of these (localid, receptor, text) the gateway already took, by localid, with
        what it said then; by our id where the gateway keeps it, else by receptor and text."""

    def statuses(self, gateway_ids: list[str]) -> dict[str, int]:
        """Delivery codes of sent messages, in our numbering (DELIVERED, FINAL_STATUSES)."""

    def receive(self, since: str | None = None) -> list[Inbound]:
        """Replies to the store's line, oldest first (reading may mark them read). `since`:
        the newest reply already kept, for a provider read by cursor in a process that has
        none yet (a restart does not skip what came while no process read)."""

    def credit(self) -> int | None:
        """Remaining credit in Rial (None: not applicable); raises GatewayError if refused."""


def in_chunks(items: list[Item], size: int,
              send_chunk: Callable[[list[Item]], list["SendResult | GatewayError"]]
              ) -> list["SendResult | GatewayError"]:
    """Items sent `size` at a time (a provider's bulk call), one result per item in order;
    after a chunk refused for the account (STORE: credit, key, line) the rest are not tried
    and get that error: the engine pauses the store and holds them."""
    results: list[SendResult | GatewayError] = []
    for start in range(0, len(items), size):
        chunk = items[start:start + size]
        halted = next((r for r in results if isinstance(r, GatewayError)
                       and r.kind == ErrorKind.STORE), None)
        results += [halted] * len(chunk) if halted else send_chunk(chunk)
    return results


class ConsoleGateway:
    """Embedded default: records each SMS in the database, delivers nothing, reports delivered."""

    knows_absence = True

    def __init__(self, factory: sessionmaker[Session]):
        self._factory = factory

    def for_store(self, store) -> "ConsoleGateway":
        return self

    def platform(self) -> "ConsoleGateway":
        return self

    def via(self, store, provider: str | None) -> "ConsoleGateway":
        return self

    def fallback_for(self, store) -> None:
        return None

    def send(self, *, localid: int, receptor: str, text: str) -> SendResult:
        with unit_of_work(self._factory) as session:
            row = ConsoleSms(localid=str(localid), receptor=receptor, text=text)
            session.add(row)
            session.flush()
            log.info("console SMS to …%s (localid %s): %s", receptor[-4:], localid, text)
            return SendResult(gateway_id=f"console-{row.id}", status=1)

    def send_many(self, items: list[Item]) -> list["SendResult | GatewayError"]:
        """The whole batch in one transaction: the console has no per-message round trip."""
        with unit_of_work(self._factory) as session:
            rows = [ConsoleSms(localid=str(localid), receptor=receptor, text=text)
                    for localid, receptor, text in items]
            session.add_all(rows)
            session.flush()
            log.info("console: %d SMS recorded", len(rows))
            return [SendResult(gateway_id=f"console-{row.id}", status=1) for row in rows]

    def lookup_many(self, items: list[tuple[int, str, Lookup]]
                    ) -> list["SendResult | GatewayError"]:
        """Recorded like any SMS, as the readable template and tokens."""
        return self.send_many([(localid, receptor, lookup.readable())
                               for localid, receptor, lookup in items])

    def accepted(self, items: list[Item]) -> dict[int, SendResult]:
        with self._factory() as session:
            rows = session.execute(select(ConsoleSms.id, ConsoleSms.localid).where(
                ConsoleSms.localid.in_([str(localid) for localid, _, _ in items])))
            return {int(localid): SendResult(gateway_id=f"console-{id_}") for id_, localid in rows}

    def statuses(self, gateway_ids: list[str]) -> dict[str, int]:
        return {gid: DELIVERED for gid in gateway_ids}

    def receive(self, since: str | None = None) -> list[Inbound]:
        return []

    def credit(self) -> int | None:
        return None


class KavenegarGateway:
    """Kavenegar for one account and line.

    Texts go out in sms/sendarray calls of up to 200 (one sms/send for a lone message), each
    message with its localid (our message id). What a failed call means for its messages:

    - refused for a reason that belongs to a message (411 one bad number, 413, 420, 422) or that
      we cannot place (INVALID): the chunk is sent again one message per call, so only the
      culprit fails;
    - refused for the account (STORE: 418, 401, 403, ...) or for now (RETRY: 409, 451, ...):
      every message of the chunk gets that error; after a STORE error the remaining chunks are
      not tried (the engine pauses the store and holds them);
    - no answer (timeout, reset, a proxy's page: it may have been processed):
      sms/statuslocalmessageid says which localids were taken, those are results, and only the
      others are sent again at once, up to SEND_TRIES offers in all, unless the call timed out
      (then the engine's backoff decides). Still unknown → the error stays ambiguous and the
      engine asks again before any resend.
    """

    knows_absence = True  # statuslocalmessageid: an unknown localid answers 100
    PARALLEL_SENDS = 8
    CHUNK = MAX_SEND_RECEPTORS  # sendarray takes at most 200 messages per call
    QUERY_TRIES = 3  # a read (which localids were taken) is asked this often before giving up
    # A chunk is offered at most this often in one call: again only after a quick loss, and
    # only the localids the gateway, asked, says it has not taken.
    SEND_TRIES = 3

    # Replies already marked read are read again this often (and after a lost answer, and
    # first thing in a process): see receive().
    REREAD_READ_EVERY = 300.0

    def __init__(self, client: KavenegarClient, *, sender: str | None):
        self._client, self._sender = client, sender
        self._pool = ThreadPoolExecutor(self.PARALLEL_SENDS, thread_name_prefix="kavenegar")
        self._reread_at = 0.0  # monotonic time of the next read of already-read replies

    def _call(self, fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except KavenegarError as exc:
            raise GatewayError(ErrorKind(exc.kind.value), str(exc), code=exc.status,
                               ambiguous=exc.ambiguous, timed_out=exc.timed_out) from None

    def _asked(self, fn, *args):
        """A question that changes nothing at Kavenegar (what was taken, the credit): asked
        again at once, up to QUERY_TRIES times, while the answer is a passing error that came
        quickly (a proxy's 502 page, a dropped connection). A timeout is not waited for again:
        the caller's next round asks. What is asked usually decides whether a message is
        resent."""
        for attempt in range(1, self.QUERY_TRIES + 1):
            try:
                return self._call(fn, *args)
            except GatewayError as exc:
                if exc.kind != ErrorKind.RETRY or exc.timed_out or attempt == self.QUERY_TRIES:
                    raise
                log.info("asking Kavenegar again (%d of %d): %s", attempt + 1, self.QUERY_TRIES,
                         exc)
        raise AssertionError("unreachable")

    def send(self, *, localid: int, receptor: str, text: str) -> SendResult:
        [entry] = self._call(self._client.send, [receptor], text, sender=self._sender,
                             localids=[localid])
        return SendResult(gateway_id=str(entry.messageid), cost=entry.cost, status=entry.status)

    def _send_one(self, item: Item) -> SendResult | GatewayError:
        localid, receptor, text = item
        try:
            return self.send(localid=localid, receptor=receptor, text=text)
        except GatewayError as exc:
            return exc

    def _one_by_one(self, items: list[Item]) -> list[SendResult | GatewayError]:
        if len(items) <= 1:
            return [self._send_one(item) for item in items]
        return list(self._pool.map(self._send_one, items))

    def send_many(self, items: list[Item]) -> list[SendResult | GatewayError]:
        if not self._sender:
            # sendarray names a line per message; without one the account's default line is
            # only reachable through sms/send.
            return self._one_by_one(items)
        return in_chunks(items, self.CHUNK, self._send_chunk)

    def _send_chunk(self, items: list[Item], *,
                    tries: int = SEND_TRIES) -> list[SendResult | GatewayError]:
        if len(items) == 1:
            return [self._send_one(items[0])]
        localids = [localid for localid, _, _ in items]
        try:
            entries = self._call(self._client.sendarray, [r for _, r, _ in items],
                                 [self._sender] * len(items), [t for _, _, t in items],
                                 localids=localids)
        except GatewayError as exc:
            if exc.ambiguous:
                return self._after_lost_answer(items, exc, tries=tries - 1)
            if exc.kind in (ErrorKind.RECIPIENT, ErrorKind.INVALID):
                log.info("sendarray of %d refused (%s): sending them one by one", len(items), exc)
                return self._one_by_one(items)
            return [exc] * len(items)
        if len(entries) != len(items):
            # Taken, but we cannot tell which entry is which message: ask by localid.
            lost = GatewayError(ErrorKind.RETRY, f"sendarray answered {len(entries)} entries for "
                                f"{len(items)} messages", ambiguous=True)
            return self._after_lost_answer(items, lost, tries=tries - 1)
        return [SendResult(gateway_id=str(e.messageid), cost=e.cost, status=e.status)
                for e in entries]

    def _after_lost_answer(self, items: list[Item], exc: GatewayError, *,
                           tries: int) -> list[SendResult | GatewayError]:
        """The chunk may have gone out: take what the gateway says it took, and send the rest
        again at once while `tries` are left and the loss was quick (a proxy's page, a dropped
        connection). After a timeout the rest wait for the engine's next attempt: the gateway
        is slow now, and may still be working on the request."""
        log.warning("sendarray of %d: answer lost (%s); asking by localid", len(items), exc)
        try:
            found = self.accepted(items)
        except GatewayError as check:
            log.warning("cannot ask which of %d messages went out: %s", len(items), check)
            return [exc] * len(items)
        rest = [item for item in items if item[0] not in found]
        again = iter(self._send_chunk(rest, tries=tries)
                     if rest and tries > 0 and not exc.timed_out else [exc] * len(rest))
        return [replace(found[item[0]], note=CONFIRMED_AFTER_LOST_ANSWER) if item[0] in found
                else next(again) for item in items]

    def lookup_many(self, items: list[tuple[int, str, Lookup]]) -> list[SendResult | GatewayError]:
        """One verify/lookup per message, several at a time. The call has no localid, so an
        ambiguous error is returned as it is: the caller must not resend blindly."""
        def one(item):
            _, receptor, lookup = item
            try:
                entry = self._call(self._client.verify_lookup, receptor, lookup.template,
                                   **lookup.tokens)
            except GatewayError as exc:
                return exc
            return SendResult(gateway_id=str(entry.messageid), cost=entry.cost,
                              status=entry.status,
                              parts=count_segments(entry.message).parts if entry.message else None)

        if len(items) <= 1:
            return [one(item) for item in items]
        return list(self._pool.map(one, items))

    def accepted(self, items: list[Item]) -> dict[int, SendResult]:
        localids = [localid for localid, _, _ in items]
        found = {}
        for start in range(0, len(localids), 500):
            chunk = localids[start:start + 500]
            # One entry per local id, in order; a short answer leaves the rest unaccepted.
            for localid, entry in zip(chunk, self._asked(self._client.status_by_localid, chunk),
                                     strict=False):
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

    def receive(self, since: str | None = None) -> list[Inbound]:
        """Unread replies, and now and then the recently read ones too.

        Reading unread replies marks them read at Kavenegar. If that answer is lost (timeout,
        reset), or the process dies before the caller keeps them, they would never come back
        as unread: a «۱۱» would be lost. So after a lost answer, first thing in a process and
        every few minutes, the read ones (isread=1, the latest 100) are read as well; keeping
        them is idempotent (unique per gateway id), so only the lost ones are new.
        """
        if not self._sender:
            return []
        rows = []
        if time.monotonic() >= self._reread_at:
            rows += self._call(self._client.receive, self._sender, True)
        try:
            rows += self._call(self._client.receive, self._sender, False)
        except GatewayError as exc:
            if exc.ambiguous:  # it may have marked replies read: read those next time
                self._reread_at = 0.0
            raise
        if self._reread_at <= time.monotonic():
            self._reread_at = time.monotonic() + self.REREAD_READ_EVERY
        rows = list({m.messageid: m for m in rows}.values())
        return [Inbound(gateway_id=str(m.messageid), sender=m.sender or "", line=m.receptor or "",
                        text=m.message or "",
                        received_at=datetime.fromtimestamp(m.date or 0, timezone.utc))
                for m in rows]

    def credit(self) -> int | None:
        return self._asked(self._client.account_info).remaincredit


class Gateways:
    """Each store's gateway, made once per process from the store's settings: the console,
    the platform's account (pay as you go) or the store's own account at one of the providers
    of app/messaging/providers.py."""

    def __init__(self, factory: sessionmaker[Session], *, kavenegar_base_url: str,
                 base_urls: dict[str, str] | None = None, read_timeout: float = 15.0,
                 platform_key: str | None = None, platform_sender: str | None = None):
        from app.messaging.providers import PROVIDERS

        self._providers = PROVIDERS
        self._console = ConsoleGateway(factory)
        # Pay-as-you-go stores send through this Kavenegar account (the console when none).
        self._platform_key, self._platform_sender = platform_key, platform_sender
        self._base_urls = {name: p.base_url for name, p in PROVIDERS.items()} | (base_urls or {})
        self._base_urls["kavenegar"] = kavenegar_base_url
        self._read_timeout = read_timeout
        self._made_for: dict[tuple[str, str, str | None], Gateway] = {}
        self._made = threading.Lock()  # stores are served side by side (app/ops/fanout.py)

    def for_store(self, store) -> Gateway:
        if store.sms_provider == "platform":  # pay as you go: the platform's own account
            return self.platform()
        if store.sms_provider in self._providers and store.sms_api_key:
            return self._account(store.sms_provider, store.sms_api_key, store.sms_sender)
        return self._console

    def fallback_for(self, store) -> tuple[str, Gateway] | None:
        """The store's second provider and its gateway, if it named one."""
        name = store.sms_fallback_provider
        if name not in self._providers or not store.sms_fallback_api_key:
            return None
        return name, self._account(name, store.sms_fallback_api_key, store.sms_fallback_sender)

    def via(self, store, provider: str | None) -> Gateway | None:
        """The gateway of the provider a message was handed to (None: the store's own then),
        or None when the store no longer has that provider: nobody can be asked about it."""
        if provider is None or provider == store.sms_provider:
            return self.for_store(store)
        fallback = self.fallback_for(store)
        return fallback[1] if fallback and fallback[0] == provider else None

    def platform(self) -> Gateway:
        """The platform's own account and line, shared by every pay-as-you-go store."""
        if not self._platform_key:
            return self._console
        return self._account("kavenegar", self._platform_key, self._platform_sender)

    def _account(self, provider: str, api_key: str, sender: str | None) -> Gateway:
        key = (provider, api_key, sender)
        with self._made:  # one client per account and line, however many threads ask
            if key not in self._made_for:
                self._made_for[key] = self._providers[provider].make(
                    api_key, sender, self._base_urls[provider], self._read_timeout)
            return self._made_for[key]


def make_gateways(factory: sessionmaker[Session], settings=None) -> Gateways:
    """Every store's gateway, from the settings (the environment's when none are given)."""
    if settings is None:
        from app.config import get_settings

        settings = get_settings()
    from app.messaging.providers import PROVIDERS

    key = settings.platform_kavenegar_api_key
    return Gateways(factory, kavenegar_base_url=settings.kavenegar_base_url,
                    base_urls={name: getattr(settings, f"{name}_base_url")
                               for name in PROVIDERS if name != "kavenegar"},
                    platform_key=key.get_secret_value() if key else None,
                    platform_sender=settings.platform_sms_sender)
