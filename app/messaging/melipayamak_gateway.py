"""MeliPayamak behind the `Gateway` interface (app/messaging/gateway.py).

MeliPayamak takes no id of ours and dedupes nothing. "Was this message taken?" is answered by
reading the line's outbox (receive/messages type "out") for the number and the text; the outbox
may not list a message yet, and we do not know that its ids are the recIds, so a message it
does not show may still have gone out: `knows_absence` is False, and a message whose answer was
lost and that the outbox does not show is never sent again (the engine marks it unknown).
docs/melipayamak.md has the whole story.
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import datetime, timezone

from app.messaging.gateway import (
    CONFIRMED_AFTER_LOST_ANSWER,
    ErrorKind,
    GatewayError,
    Inbound,
    Lookup,
    SendResult,
)
from app.messaging.kavenegar import LOOKUP_TOKENS
from app.messaging.melipayamak import (
    BLACKLISTED,
    MAX_ADVANCED_NUMBERS,
    MAX_PAGE,
    MAX_STATUS_IDS,
    ConsoleMessage,
    MeliPayamakClient,
    MeliPayamakError,
    Sent,
    is_rec_id,
    local_number,
)

log = logging.getLogger(__name__)

Item = tuple[int, str, str]  # (localid: our message id, receptor, text)

QUEUED = 1
UNKNOWN_ID = 100
# MeliPayamak's delivery codes (receive/status resultsAsCode, the payamak-panel family's
# numbering: UNCONFIRMED as MeliPayamak's own) → our codes (Kavenegar's numbering: 1 queued,
# 4/5 with the operator, 6 failed, 10 delivered, 11 undelivered, 13 cancelled, 14 blacklisted,
# 100 unknown id). A code we do not know is still on its way (5): a later poll may know better.
DELIVERY_CODES: dict[int, int] = {
    0: 4,      # sent to telecom / in the queue
    1: 10,     # delivered to the handset
    2: 11,     # not delivered to the handset (off, out of reach)
    3: 6,      # telecom error
    5: 6,      # unknown error
    8: 5,      # delivered to telecom
    16: 6,     # not delivered to telecom
    27: 14,    # the receiver blocked advertising SMS
    35: 14,    # the number is in the telecom blacklist
    100: 100,  # unknown (a recId MeliPayamak does not know)
    200: 4,    # sent
    300: 6,    # filtered
    400: 1,    # in the send list
    500: 6,    # rejected
}
IN_TRANSIT = 5

# Pattern values: %0, %1, ... in order. Kavenegar's token names (what our lookup steps use)
# stand for the positions in their order; digit names ("0", "1") for themselves.
MAX_PATTERN_ARGS = 10  # no source states a limit; ten is more than any template we make


def delivery_code(code: int | None) -> int:
    return QUEUED if code is None else DELIVERY_CODES.get(code, IN_TRANSIT)


def pattern_args(lookup: Lookup) -> list[str] | str:
    """The values of a pattern send in their %n order, or why MeliPayamak would refuse them."""
    if not lookup.template.isdigit():
        return f"pattern {lookup.template!r}: MeliPayamak's bodyId is a number"
    positions: dict[int, str] = {}
    for name, value in lookup.tokens.items():
        position = LOOKUP_TOKENS.index(name) if name in LOOKUP_TOKENS else \
            int(name) if name.isdigit() else None
        if position is None:
            return (f"pattern {lookup.template}: {name!r} is not a position; use "
                    f"{list(LOOKUP_TOKENS)} or 0, 1, 2, ...")
        positions[position] = value
    if not positions:
        return f"pattern {lookup.template}: no values; MeliPayamak's patterns take at least one"
    if len(positions) > MAX_PATTERN_ARGS:
        return f"pattern {lookup.template}: {len(positions)} values; we send at most " \
               f"{MAX_PATTERN_ARGS}"
    ordered = [positions[p] for p in sorted(positions)]
    if sorted(positions) != list(range(len(positions))):
        return (f"pattern {lookup.template}: values must fill %0..%{len(positions) - 1} "
                f"without a gap; got positions {sorted(positions)}")
    for i, value in enumerate(ordered):
        if not value.strip():
            return f"pattern {lookup.template}: %{i} is empty"
        if "://" in value or "www." in value:
            return f"pattern {lookup.template}: %{i} holds a link; MeliPayamak refuses links " \
                   f"in pattern values (-10)"
    return ordered


class MeliPayamakGateway:
    """MeliPayamak for one account and line.

    send/advanced takes one text for many numbers, and there is no call we trust that takes a
    text per number, so send_many sends the items that share a text together (send/advanced,
    up to MAX_ADVANCED_NUMBERS numbers a call) and every other item alone (send/simple), several
    calls in flight. What a failed call means for its messages:

    - refused for a message's fault (a number, the text) or one we cannot place (INVALID, such
      as code 15 "several numbers need «لغو11»"): a shared-text call is sent again one number per
      call, so only the culprit fails;
    - refused for the account (STORE) or for now (RETRY): every message of the call gets that
      error; after a STORE error no later call is made (its messages get that error);
    - no answer (timeout, reset, a proxy's page): the outbox is read; what it shows is a result,
      the rest keep the ambiguous error and are NOT sent again (knows_absence).
    """

    knows_absence = False
    PARALLEL = 8
    CHUNK = MAX_ADVANCED_NUMBERS
    QUERY_TRIES = 3  # a question (the outbox, statuses, credit) is asked this often
    OUTBOX_PAGES = 5  # pages of the outbox read to find lost messages (newest first)
    INBOX_PAGES = 10  # pages of the inbox read per receive() at most

    def __init__(self, client: MeliPayamakClient, *, sender: str | None,
                 rial_per_unit: int = 1, inbox_cursor: int | None = None):
        """`rial_per_unit`: what one unit of receive/credit's amount is in Rial (1: the amount
        is Rial, our assumption; 10 if it turns out to be Toman). `inbox_cursor`: the highest
        inbox id already kept, so a new process reads on from there."""
        self._client = client
        self._sender = sender.replace(" ", "") if sender else None
        self._rial_per_unit = rial_per_unit
        self._pool = ThreadPoolExecutor(self.PARALLEL, thread_name_prefix="melipayamak")
        self._inbox_cursor = inbox_cursor

    def _call(self, fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except MeliPayamakError as exc:
            raise _gateway_error(exc) from None

    def _asked(self, fn, *args, **kwargs):
        """A question that changes nothing, asked again at once while the answer is a passing
        error that came quickly (a proxy's 502, a dropped connection); a timeout is not waited
        for again."""
        for attempt in range(1, self.QUERY_TRIES + 1):
            try:
                return self._call(fn, *args, **kwargs)
            except GatewayError as exc:
                if exc.kind != ErrorKind.RETRY or exc.timed_out or attempt == self.QUERY_TRIES:
                    raise
                log.info("asking MeliPayamak again (%d of %d): %s", attempt + 1,
                         self.QUERY_TRIES, exc)
        raise AssertionError("unreachable")

    def _no_line(self) -> GatewayError:
        return GatewayError(ErrorKind.STORE, "MeliPayamak needs a sender line (from); the store "
                            "has none")

    def _map(self, fn, items: list) -> list:
        return [fn(item) for item in items] if len(items) <= 1 else list(self._pool.map(fn, items))

    # -- sending --------------------------------------------------------------------------------

    def send(self, *, localid: int, receptor: str, text: str) -> SendResult:
        if not self._sender:
            raise self._no_line()
        sent = self._call(self._client.send_simple, local_number(receptor), text,
                          sender=self._sender)
        return self._results(sent)[0]  # type: ignore[return-value]

    def _results(self, sent: Sent) -> list[SendResult | GatewayError]:
        return [SendResult(gateway_id=str(i), status=QUEUED) if is_rec_id(i)
                else _gateway_error(MeliPayamakError(i, f"refused for this number: {sent.status}"))
                for i in sent.rec_ids]

    def _send_one(self, item: Item) -> SendResult | GatewayError:
        localid, receptor, text = item
        try:
            return self.send(localid=localid, receptor=receptor, text=text)
        except GatewayError as exc:
            return exc

    def send_many(self, items: list[Item]) -> list[SendResult | GatewayError]:
        if not self._sender:
            return [self._no_line()] * len(items)
        by_text: dict[str, list[int]] = defaultdict(list)
        for index, (_, _, text) in enumerate(items):
            by_text[text].append(index)
        calls = [group[start:start + self.CHUNK] for group in by_text.values()
                 for start in range(0, len(group), self.CHUNK)]
        halt = _Halt()

        def one_call(indexes: list[int]) -> list[SendResult | GatewayError]:
            chunk = [items[i] for i in indexes]
            if halt.error is not None:
                return [halt.error] * len(chunk)
            results = self._send_call(chunk)
            halt.note(results)
            return results

        results: list[SendResult | GatewayError | None] = [None] * len(items)
        for indexes, answer in zip(calls, self._map(one_call, calls), strict=True):
            for index, result in zip(indexes, answer, strict=True):
                results[index] = result
        lost = [i for i, r in enumerate(results) if isinstance(r, GatewayError) and r.ambiguous]
        if lost:
            self._settle_lost(items, results, lost)
        return results  # type: ignore[return-value]

    def _send_call(self, chunk: list[Item]) -> list[SendResult | GatewayError]:
        """One text to the chunk's numbers: send/simple for one, send/advanced for several."""
        if len(chunk) == 1:
            return [self._send_one(chunk[0])]
        try:
            sent = self._call(self._client.send_advanced, [local_number(r) for _, r, _ in chunk],
                              chunk[0][2], sender=self._sender)
        except GatewayError as exc:
            if not exc.ambiguous and exc.kind in (ErrorKind.RECIPIENT, ErrorKind.INVALID):
                log.info("send/advanced of %d refused (%s): sending them one by one",
                         len(chunk), exc)
                return self._map(self._send_one, chunk)
            return [exc] * len(chunk)
        return self._results(sent)

    def _settle_lost(self, items: list[Item], results: list, lost: list[int]) -> None:
        """Messages whose answer was lost may have gone out: what the outbox shows is a result;
        the rest keep the ambiguous error, because the outbox not showing a message does not
        prove MeliPayamak did not take it (see knows_absence)."""
        log.warning("%d message(s): answer lost; reading the outbox", len(lost))
        try:
            found = self.accepted([items[i] for i in lost])
        except GatewayError as check:
            log.warning("cannot read the outbox for %d messages: %s", len(lost), check)
            return
        for i in lost:
            if items[i][0] in found:
                results[i] = replace(found[items[i][0]], note=CONFIRMED_AFTER_LOST_ANSWER)

    def lookup_many(self, items: list[tuple[int, str, Lookup]]) -> list[SendResult | GatewayError]:
        """One send/shared per message, several at a time, from MeliPayamak's shared service
        line. Lookup.template is the pattern's bodyId, Lookup.tokens its values (see
        pattern_args). No id of ours goes with it: an ambiguous error must not be resent
        blindly."""
        def one(item: tuple[int, str, Lookup]) -> SendResult | GatewayError:
            _, receptor, lookup = item
            args = pattern_args(lookup)
            if isinstance(args, str):
                return GatewayError(ErrorKind.INVALID, args)
            try:
                sent = self._call(self._client.send_shared, local_number(receptor),
                                  int(lookup.template), args)
            except GatewayError as exc:
                return exc
            return self._results(sent)[0]

        return self._map(one, items)

    # -- questions ------------------------------------------------------------------------------

    def accepted(self, items: list[Item]) -> dict[int, SendResult]:
        """Messages the line's outbox shows: this number, this text. Two identical items get two
        different outbox rows. Only the newest OUTBOX_PAGES pages are read."""
        if not self._sender or not items:
            return {}
        rows: list[ConsoleMessage] = []
        for page in range(self.OUTBOX_PAGES):
            batch = self._asked(self._client.messages, "out", self._sender,
                                index=page * MAX_PAGE, count=MAX_PAGE)
            rows += batch
            if len(batch) < MAX_PAGE:
                break
        found: dict[int, SendResult] = {}
        taken: set[int] = set()
        for localid, receptor, text in items:
            number = local_number(receptor)
            row = next((r for r in rows if r.msg_id not in taken and r.body == text
                        and number in {local_number(n) for n in r.receiver.split(",")}), None)
            if row is not None:
                taken.add(row.msg_id)
                found[localid] = SendResult(gateway_id=str(row.msg_id), status=QUEUED)
        return found

    def statuses(self, gateway_ids: list[str]) -> dict[str, int]:
        ids = [g for g in gateway_ids if g.isdigit()]
        result = {g: UNKNOWN_ID for g in gateway_ids if not g.isdigit()}
        for start in range(0, len(ids), MAX_STATUS_IDS):
            chunk = ids[start:start + MAX_STATUS_IDS]
            for report in self._asked(self._client.statuses, [int(g) for g in chunk]):
                result[str(report.rec_id)] = delivery_code(report.code)
        return result

    def receive(self, since: str | None = None) -> list[Inbound]:
        """Replies to the store's line, oldest first.

        The inbox is read newest first, page by page, down to the cursor (the highest id
        already returned); a first read in a process without `inbox_cursor` takes one page.
        If MeliPayamak does not mark what it returns read, a lost answer loses nothing: the
        cursor moves only after a whole read, and the next read asks again. If it does (UNCONFIRMED),
        replies in a lost answer are gone: docs/melipayamak.md says so.
        """
        if self._inbox_cursor is None and since is not None and since.isdigit():
            self._inbox_cursor = int(since)  # what the store kept last: read on from there
        if not self._sender:
            return []
        rows: list[ConsoleMessage] = []
        for page in range(self.INBOX_PAGES if self._inbox_cursor is not None else 1):
            batch = self._asked(self._client.messages, "in", self._sender,
                                index=page * MAX_PAGE, count=MAX_PAGE)
            rows += batch
            if len(batch) < MAX_PAGE or (self._inbox_cursor is not None and any(
                    m.msg_id <= self._inbox_cursor for m in batch)):
                break
        cursor = self._inbox_cursor or 0
        new = {m.msg_id: m for m in rows if m.msg_id > cursor}
        if rows:
            self._inbox_cursor = max([cursor] + [m.msg_id for m in rows])
        return [Inbound(gateway_id=str(m.msg_id), sender=m.sender, line=m.receiver or
                        self._sender, text=m.body,
                        received_at=m.sent_at or datetime.fromtimestamp(0, timezone.utc))
                for _, m in sorted(new.items())]

    def credit(self) -> int | None:
        """receive/credit's amount in Rial: we take it as Rial (UNCONFIRMED), times
        `rial_per_unit`."""
        return int(self._asked(self._client.credit).amount * self._rial_per_unit)


class _Halt:
    """The first STORE error of a send_many: calls not yet made get it instead of being made."""

    def __init__(self) -> None:
        self.error: GatewayError | None = None
        self._lock = threading.Lock()

    def note(self, results: list[SendResult | GatewayError]) -> None:
        store = next((r for r in results if isinstance(r, GatewayError)
                      and r.kind == ErrorKind.STORE), None)
        if store is not None:
            with self._lock:
                self.error = self.error or store


def _gateway_error(exc: MeliPayamakError) -> GatewayError:
    return GatewayError(ErrorKind(exc.kind.value), str(exc), code=exc.status,
                        ambiguous=exc.ambiguous, timed_out=exc.timed_out,
                        blacklisted=exc.status in BLACKLISTED)

