"""SMS.ir behind the `Gateway` interface (app/messaging/gateway.py).

SMS.ir takes no id of ours and dedupes nothing, so "exactly once" rests on two things: our
database (a message is sent from one claim only) and never sending again a message whose answer
was lost unless SMS.ir's outbox shows it. The outbox (send/live: today's sends) can show that a
message was taken, never that it was not (it may lag, and today ends at midnight), so
`knows_absence` is False: what `accepted` does not find stays unknown, and is not sent again.
docs/smsir.md has the whole story.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import datetime, timezone
from decimal import Decimal

from app.messaging.gateway import (
    CONFIRMED_AFTER_LOST_ANSWER,
    ErrorKind,
    GatewayError,
    Inbound,
    Lookup,
    SendResult,
    in_chunks,
)
from app.messaging.segments import count_segments
from app.messaging.smsir import (
    BLACKLISTED,
    MAX_MOBILES,
    MAX_PAGE_SIZE,
    MAX_PARAMETER_CHARS,
    Received,
    Report,
    SmsIrClient,
    SmsIrError,
)

log = logging.getLogger(__name__)

QUEUED = 1
UNKNOWN_ID = 100
# SMS.ir's deliveryState → our delivery codes (Kavenegar's numbering, app/messaging/gateway.py).
# 3 and 5 are on their way (one SDK reads 3 as "processing at telecom"); 8 "unknown" may still
# change, and the engine's age limit ends it if not. None: no report yet.
DELIVERY_STATES: dict[int | None, int] = {
    None: QUEUED,
    1: 10,   # delivered
    2: 11,   # not delivered to the handset (off, out of reach)
    3: 4,    # reached telecom
    4: 6,    # did not reach telecom: failed
    5: 5,    # reached the operator
    6: 6,    # failed
    7: 14,   # blacklist: the receiver refuses advertising SMS
    8: 5,    # unknown
}


def our_status(state: int | None) -> int:
    """Our code for an SMS.ir delivery state; a state no source lists is still on its way."""
    return DELIVERY_STATES.get(state, QUEUED)


def to_smsir(number: str) -> str:
    """An E.164 Iranian mobile (+989121234567) as SMS.ir's samples write it: 09121234567.
    Anything else goes as it is, for SMS.ir to refuse (104)."""
    digits = re.sub(r"\D", "", number)
    for prefix in ("0098", "98", "0"):
        if digits.startswith(prefix) and len(digits) == len(prefix) + 10:
            digits = digits[len(prefix):]
            break
    return "0" + digits if len(digits) == 10 and digits.startswith("9") else number


def from_smsir(mobile: str) -> str:
    """A mobile as SMS.ir reports it (a number: 9121234567) in E.164."""
    digits = re.sub(r"\D", "", mobile)
    return "+98" + digits[-10:] if len(digits) >= 10 and digits[-10] == "9" else mobile


def _last10(mobile: str) -> str:
    return re.sub(r"\D", "", mobile)[-10:]


def _plain(text: str) -> str:
    return " ".join(text.split())


def _inbound_id(r: Received) -> str:
    """receive/latest gives an id, receive/live (the re-read) does not: a reply is known by
    when, from whom, to which line and what, the same whichever way it was read."""
    digest = hashlib.sha256(f"{r.line}\n{r.text}".encode()).hexdigest()[:16]
    return f"{r.received_at}-{_last10(r.mobile)}-{digest}"


class SmsIrGateway:
    """SMS.ir for one account (API key) and line.

    Texts go out in send/likeToLike calls of up to 100 (send/bulk for a lone message). What a
    failed call means for its messages:

    - refused for a reason that belongs to a message (104 a bad number, 115 a blacklisted one,
      103, 117) or that we cannot place (INVALID): the chunk is sent again one message per
      call, so only the culprit fails;
    - refused for the account (STORE: 102 credit, 10 key, 101 line, ...) or for now (RETRY: 20,
      0): every message of the chunk gets that error; after a STORE error the remaining chunks
      are not tried;
    - no answer (timeout, reset, a proxy's page): today's outbox says which were taken, those
      are results; the others keep the ambiguous error and are not sent again (knows_absence).
    """

    knows_absence = False
    PARALLEL_SENDS = 8
    CHUNK = MAX_MOBILES
    QUERY_TRIES = 3
    # accepted() reads at most this many pages of today's outbox (100 a page, newest first
    # in the fake; the real order is unconfirmed). Not found there: unknown, never resent.
    OUTBOX_PAGES = 20
    # Unread replies are read in rounds of 100 until a short one, at most this often a call.
    RECEIVE_ROUNDS = 10
    # Today's replies, read or not, are read again this often (and after a lost answer, and
    # first thing in a process): see receive().
    REREAD_EVERY = 300.0

    def __init__(self, client: SmsIrClient, *, sender: str | None,
                 rial_per_credit: Decimal | int | None = None):
        self._client, self._sender = client, sender
        # SMS.ir's credit unit is unconfirmed (its samples: 1.0 a message): without this,
        # credit() and costs say None rather than a number in the wrong unit.
        self._rial_per_credit = None if rial_per_credit is None else Decimal(rial_per_credit)
        self._pool = ThreadPoolExecutor(self.PARALLEL_SENDS, thread_name_prefix="smsir")
        self._reread_at = 0.0  # monotonic time of the next read of today's replies
        self._line_lock = threading.Lock()

    # -- plumbing -------------------------------------------------------------------------------

    def _call(self, fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except SmsIrError as exc:
            raise GatewayError(ErrorKind(exc.kind.value), str(exc), code=exc.status,
                               ambiguous=exc.ambiguous, timed_out=exc.timed_out,
                               blacklisted=exc.status == BLACKLISTED) from None
        except ValueError as exc:  # the client refused to send it: a message it cannot carry
            raise GatewayError(ErrorKind.INVALID, f"SMS.ir: {exc}") from None

    def _asked(self, fn, *args, **kwargs):
        """A question that changes nothing, asked again at once (up to QUERY_TRIES times) while
        the answer is a passing error that came quickly. A timeout is not waited for again."""
        for attempt in range(1, self.QUERY_TRIES + 1):
            try:
                return self._call(fn, *args, **kwargs)
            except GatewayError as exc:
                if exc.kind != ErrorKind.RETRY or exc.timed_out or attempt == self.QUERY_TRIES:
                    raise
                log.info("asking SMS.ir again (%d of %d): %s", attempt + 1, self.QUERY_TRIES,
                         exc)
        raise AssertionError("unreachable")

    def _rial(self, cost: Decimal | None) -> int | None:
        if cost is None or self._rial_per_credit is None:
            return None
        return int(cost * self._rial_per_credit)

    def _line(self) -> str:
        """The store's line; without one, the account's first line (SMS.ir needs one)."""
        if self._sender:
            return self._sender
        with self._line_lock:
            if not self._sender:
                lines = self._asked(self._client.lines)
                if not lines:
                    raise GatewayError(ErrorKind.STORE, "SMS.ir: the account has no line")
                self._sender = lines[0]
            return self._sender

    # -- sending ------------------------------------------------------------------------------

    def send(self, *, localid: int, receptor: str, text: str) -> SendResult:
        pack = self._call(self._client.send_bulk, self._line(), text, [to_smsir(receptor)])
        if len(pack.message_ids) != 1:
            raise GatewayError(ErrorKind.RETRY, f"SMS.ir took the message but answered "
                               f"{len(pack.message_ids)} ids", ambiguous=True)
        return SendResult(gateway_id=str(pack.message_ids[0]), cost=self._rial(pack.cost),
                          status=QUEUED)

    def _send_one(self, item: tuple[int, str, str]) -> SendResult | GatewayError:
        localid, receptor, text = item
        try:
            return self.send(localid=localid, receptor=receptor, text=text)
        except GatewayError as exc:
            return exc

    def _one_by_one(self, items: list[tuple[int, str, str]]) -> list[SendResult | GatewayError]:
        if len(items) <= 1:
            return [self._send_one(item) for item in items]
        return list(self._pool.map(self._send_one, items))

    def send_many(self, items: list[tuple[int, str, str]]) -> list[SendResult | GatewayError]:
        return in_chunks(items, self.CHUNK, self._send_chunk)

    def _send_chunk(self, items: list[tuple[int, str, str]]) -> list[SendResult | GatewayError]:
        if len(items) == 1:
            return [self._send_one(items[0])]
        try:
            pack = self._call(self._client.send_like_to_like, self._line(),
                              [t for _, _, t in items], [to_smsir(r) for _, r, _ in items])
        except GatewayError as exc:
            if exc.ambiguous:
                return self._after_lost_answer(items, exc)
            if exc.kind in (ErrorKind.RECIPIENT, ErrorKind.INVALID):
                log.info("likeToLike of %d refused (%s): sending them one by one", len(items),
                         exc)
                return self._one_by_one(items)
            return [exc] * len(items)
        if len(pack.message_ids) != len(items):
            # Taken, but which id is whose? (Perhaps SMS.ir skipped some numbers.)
            lost = GatewayError(ErrorKind.RETRY, f"likeToLike answered {len(pack.message_ids)} "
                                f"ids for {len(items)} messages", ambiguous=True)
            return self._after_lost_answer(items, lost)
        parts = [count_segments(text).parts for _, _, text in items]
        return [SendResult(gateway_id=str(mid), status=QUEUED,
                           cost=None if pack.cost is None else
                           self._rial(pack.cost * n / sum(parts)))
                for mid, n in zip(pack.message_ids, parts, strict=True)]

    def _after_lost_answer(self, items: list[tuple[int, str, str]], exc: GatewayError
                           ) -> list[SendResult | GatewayError]:
        """The chunk may have gone out: what today's outbox shows is a result; the rest keep
        the ambiguous error. None is sent again here: SMS.ir would send a second SMS."""
        log.warning("likeToLike of %d: answer lost (%s); looking in the outbox", len(items), exc)
        try:
            found = self.accepted(items)
        except GatewayError as check:
            log.warning("cannot read SMS.ir's outbox for %d messages: %s", len(items), check)
            return [exc] * len(items)
        return [replace(found[localid], note=CONFIRMED_AFTER_LOST_ANSWER) if localid in found
                else exc for localid, _, _ in items]

    def lookup_many(self, items: list[tuple[int, str, Lookup]]) -> list[SendResult | GatewayError]:
        """One send/verify per message, several at a time. Lookup.template is the template's
        numeric id in the SMS.ir panel, Lookup.tokens its parameters (name without the #s →
        value, at most 25 characters each). An ambiguous error cannot be looked up afterwards
        (the text is filled at SMS.ir): the caller must not resend it."""
        def one(item: tuple[int, str, Lookup]) -> SendResult | GatewayError:
            _, receptor, lookup = item
            try:
                template_id = self._template_id(lookup)
                sent = self._call(self._client.send_verify, to_smsir(receptor), template_id,
                                  lookup.tokens)
            except GatewayError as exc:
                return exc
            return SendResult(gateway_id=str(sent.message_id), cost=self._rial(sent.cost),
                              status=QUEUED)

        if len(items) <= 1:
            return [one(item) for item in items]
        return list(self._pool.map(one, items))

    def _template_id(self, lookup: Lookup) -> int:
        if not lookup.template.strip().isdigit():
            raise GatewayError(ErrorKind.INVALID, f"SMS.ir templates are numeric ids, not "
                               f"{lookup.template!r}", code=113)
        for name, value in lookup.tokens.items():
            if not name:
                raise GatewayError(ErrorKind.INVALID, "SMS.ir: a parameter without a name",
                                   code=116)
            if len(value) > MAX_PARAMETER_CHARS:
                raise GatewayError(ErrorKind.RECIPIENT, f"SMS.ir: parameter {name!r} has "
                                   f"{len(value)} characters; send/verify accepts at most "
                                   f"{MAX_PARAMETER_CHARS}", code=114)
        return int(lookup.template)

    # -- questions ------------------------------------------------------------------------------

    def accepted(self, items: list[tuple[int, str, str]]) -> dict[int, SendResult]:
        """Which of these (localid, receptor, text) today's outbox shows, each matched to a
        message of its own (the newest first). A text SMS.ir extended (an opt-out suffix)
        still matches. Not found proves nothing: see knows_absence."""
        wanted = {localid: (_last10(receptor), _plain(text)) for localid, receptor, text in items}
        found: dict[int, SendResult] = {}
        claimed: set[int] = set()
        for page in range(1, self.OUTBOX_PAGES + 1):
            rows = self._asked(self._client.live_report, page=page, page_size=MAX_PAGE_SIZE)
            for row in sorted(rows, key=lambda r: r.message_id or 0, reverse=True):
                self._claim(row, wanted, found, claimed)
            if len(rows) < MAX_PAGE_SIZE or len(found) == len(wanted):
                break
        return found

    def _claim(self, row: Report, wanted: dict[int, tuple[str, str]],
               found: dict[int, SendResult], claimed: set[int]) -> None:
        if row.message_id is None or row.message_id in claimed:
            return
        mobile, text = _last10(row.mobile or ""), _plain(row.text or "")
        for localid, (their_mobile, their_text) in wanted.items():
            if localid not in found and mobile == their_mobile and text.startswith(their_text):
                found[localid] = SendResult(gateway_id=str(row.message_id),
                                            cost=self._rial(row.cost),
                                            status=our_status(row.delivery_state))
                claimed.add(row.message_id)
                return

    def statuses(self, gateway_ids: list[str]) -> dict[str, int]:
        """One send/{id} per message, several at a time. An id whose question failed for now
        is left out (asked again next round); an error for the account is raised."""
        def one(gid: str) -> tuple[str, int | None] | GatewayError:
            if not gid.isdigit():
                return gid, UNKNOWN_ID
            try:
                report = self._call(self._client.report, int(gid))
            except GatewayError as exc:
                return exc if exc.kind != ErrorKind.RETRY else (gid, None)
            return gid, UNKNOWN_ID if report is None else our_status(report.delivery_state)

        answers = list(self._pool.map(one, gateway_ids)) if len(gateway_ids) > 1 else \
            [one(g) for g in gateway_ids]
        codes = {}
        for answer in answers:
            if isinstance(answer, GatewayError):
                raise answer
            gid, code = answer
            if code is not None:
                codes[gid] = code
        return codes

    def receive(self, since: str | None = None) -> list[Inbound]:
        """Unread replies (every line of the account), and now and then today's read ones.

        receive/latest marks what it returns read: if that answer is lost, or the process
        dies before the caller keeps them, they never come back from it. So after a lost
        answer, first thing in a process and every few minutes, today's replies are read
        again from receive/live (newest 100, read or not); keeping them is idempotent, as a
        reply's id is the same whichever way it was read (_inbound_id)."""
        rows: list[Received] = []
        if time.monotonic() >= self._reread_at:
            rows += self._asked(self._client.receive_live, newest_first=True)
        try:
            for _ in range(self.RECEIVE_ROUNDS):
                batch = self._call(self._client.receive_latest, MAX_PAGE_SIZE)
                rows += batch
                if len(batch) < MAX_PAGE_SIZE:
                    break
        except GatewayError as exc:
            if exc.ambiguous:  # it may have marked replies read: read today's next time
                self._reread_at = 0.0
            raise
        if self._reread_at <= time.monotonic():
            self._reread_at = time.monotonic() + self.REREAD_EVERY
        unique = {_inbound_id(r): r for r in rows}
        return sorted((Inbound(gateway_id=gid, sender=from_smsir(r.mobile), line=r.line,
                               text=r.text,
                               received_at=datetime.fromtimestamp(r.received_at or 0,
                                                                  timezone.utc))
                       for gid, r in unique.items()), key=lambda m: m.received_at)

    def credit(self) -> int | None:
        """In Rial, when the store's settings say what SMS.ir's credit unit is worth; none
        left is 0 in any unit (a paused store is not resumed on an empty account)."""
        amount = self._asked(self._client.credit).amount
        return 0 if amount <= 0 else self._rial(amount)
