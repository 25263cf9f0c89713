"""IPPanel Edge behind the Gateway interface the campaign engine knows.

IPPanel keeps no id of ours, so "was this message taken?" is answered by searching the outbox
for the line and the text, then the bulk's recipients for the number. That search can miss a
message IPPanel did take (its outbox may list a bulk late; how it matches text is not
documented), so absence proves nothing: `knows_absence` is False, and a message whose answer
was lost and that the search does not find is never sent again (the engine marks it unknown).
"""

from __future__ import annotations

import logging
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
    in_chunks,
)
from app.messaging.ippanel import (
    MAX_PAGE,
    MAX_PEER_TO_PEER,
    Bulk,
    IpPanelClient,
    IpPanelError,
    Pattern,
    Recipient,
    line_e164,
    to_e164,
)

log = logging.getLogger(__name__)

Item = tuple[int, str, str]  # (localid: our message id, receptor, text)

# IPPanel's states in our delivery codes (Kavenegar's numbering: 1 queued, 4/5 with the
# operator, 6 failed, 10 delivered, 11 undelivered, 13 cancelled, 14 blacklisted, 100 unknown).
# "bulk" is report/by_bulk's state_id, "recipient" report/recipients' message_status, which
# IPPanel gives only once the bulk is final (state 6).
DELIVERY_CODES: dict[tuple[str, int], int] = {
    ("bulk", 0): 1,     # being created
    ("bulk", 1): 1,     # created, in the monitoring queue
    ("bulk", 2): 1,     # being sent
    ("bulk", 3): 6,     # rejected by IPPanel's content monitoring
    ("bulk", 4): 6,     # its recipients were invalid
    ("bulk", 5): 1,     # in the send queue
    ("bulk", 6): 4,     # sent; the operators' reports are not in yet
    ("bulk", 7): 13,    # cancelled
    ("bulk", 8): 6,     # too little credit
    ("bulk", 9): 6,     # IPPanel's system error
    ("recipient", 0): 4,   # sent to the operator
    ("recipient", 1): 5,   # the operator took it
    ("recipient", 2): 10,  # delivered
    ("recipient", 3): 11,  # not delivered
    ("recipient", 4): 14,  # blacklisted: the receiver refuses advertising SMS
}
UNKNOWN_ID = 100
BULK_SENT = 6


def delivery_code(bulk: Bulk | None, recipient: Recipient | None = None) -> int:
    """Our code for what IPPanel reports about one message. A state we do not know counts as
    still on its way (never final): a later poll may know better."""
    if bulk is None:
        return UNKNOWN_ID
    if recipient is not None and recipient.message_status is not None:
        return DELIVERY_CODES.get(("recipient", recipient.message_status), 5)
    return DELIVERY_CODES.get(("bulk", bulk.state_id if bulk.state_id is not None else 0), 1)


class IpPanelGateway:
    """IPPanel for one account and line.

    Texts go out in peer_to_peer calls of up to MAX_PEER_TO_PEER (a lone message as a
    webservice send), one outbox id per message. What a failed call means for its messages:

    - refused for a message's fault (a number or text the validation names) or one we cannot
      place (INVALID): the chunk is sent again one message per call, so only the culprit fails;
    - refused for the account (STORE) or for now (RETRY): every message of the chunk gets that
      error; after a STORE error the remaining chunks are not tried;
    - no answer (timeout, reset, a proxy's page): the outbox is searched; what it shows is a
      result, the rest keep the ambiguous error and are NOT sent again (knows_absence).
    """

    knows_absence = False
    PARALLEL = 8
    CHUNK = MAX_PEER_TO_PEER
    QUERY_TRIES = 3  # a question (the outbox, a report) is asked this often before giving up
    OUTBOX_CANDIDATES = 10  # outbox entries with our line and text looked into per message

    def __init__(self, client: IpPanelClient, *, sender: str | None,
                 inbox_cursor: int | None = None):
        """`inbox_cursor`: the last inbox id already kept (say, the newest reply stored), so a
        new process reads on from there; without it the first read takes the latest page."""
        self._client = client
        self._sender = line_e164(sender) if sender else None
        self._pool = ThreadPoolExecutor(self.PARALLEL, thread_name_prefix="ippanel")
        self._patterns: dict[str, Pattern] = {}
        self._inbox_cursor = inbox_cursor

    def _call(self, fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except IpPanelError as exc:
            raise GatewayError(ErrorKind(exc.kind.value), str(exc), code=exc.status,
                               ambiguous=exc.ambiguous, timed_out=exc.timed_out) from None

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
                log.info("asking IPPanel again (%d of %d): %s", attempt + 1, self.QUERY_TRIES,
                         exc)
        raise AssertionError("unreachable")

    def _no_line(self) -> GatewayError:
        return GatewayError(ErrorKind.STORE, "IPPanel needs a sender line (from_number); the "
                            "store has none")

    def _map(self, fn, items: list) -> list:
        return [fn(item) for item in items] if len(items) <= 1 else list(self._pool.map(fn, items))

    # -- sending --------------------------------------------------------------------------------

    def send(self, *, localid: int, receptor: str, text: str) -> SendResult:
        if not self._sender:
            raise self._no_line()
        accepted = self._call(self._client.send_webservice, [to_e164(receptor)], text,
                              sender=self._sender)
        return SendResult(gateway_id=str(accepted.outbox_ids[0]), status=1)

    def _send_one(self, item: Item) -> SendResult | GatewayError:
        localid, receptor, text = item
        try:
            return self.send(localid=localid, receptor=receptor, text=text)
        except GatewayError as exc:
            return exc

    def send_many(self, items: list[Item]) -> list[SendResult | GatewayError]:
        if not self._sender:
            return [self._no_line()] * len(items)
        return in_chunks(items, self.CHUNK, self._send_chunk)

    def _send_chunk(self, items: list[Item]) -> list[SendResult | GatewayError]:
        if len(items) == 1:
            return [self._send_one(items[0])]
        try:
            accepted = self._call(self._client.send_peer_to_peer,
                                  [([to_e164(r)], t) for _, r, t in items], sender=self._sender)
        except GatewayError as exc:
            if exc.ambiguous:
                return self._after_lost_answer(items, exc)
            if exc.kind in (ErrorKind.RECIPIENT, ErrorKind.INVALID):
                log.info("peer_to_peer of %d refused (%s): sending them one by one",
                         len(items), exc)
                return self._map(self._send_one, items)
            return [exc] * len(items)
        if len(accepted.outbox_ids) != len(items):
            lost = GatewayError(ErrorKind.RETRY, f"peer_to_peer answered {len(accepted.outbox_ids)}"
                                f" ids for {len(items)} messages", ambiguous=True)
            return self._after_lost_answer(items, lost)
        return [SendResult(gateway_id=str(i), status=1) for i in accepted.outbox_ids]

    def _after_lost_answer(self, items: list[Item],
                           exc: GatewayError) -> list[SendResult | GatewayError]:
        """The chunk may have gone out: what the outbox shows is a result; the rest keep the
        ambiguous error, because the outbox not showing a message does not prove IPPanel did
        not take it (see knows_absence)."""
        log.warning("peer_to_peer of %d: answer lost (%s); searching the outbox", len(items), exc)
        try:
            found = self.accepted(items)
        except GatewayError as check:
            log.warning("cannot search the outbox for %d messages: %s", len(items), check)
            return [exc] * len(items)
        return [replace(found[item[0]], note=CONFIRMED_AFTER_LOST_ANSWER) if item[0] in found
                else exc for item in items]

    def lookup_many(self, items: list[tuple[int, str, Lookup]]) -> list[SendResult | GatewayError]:
        """One pattern send per message, several at a time. Lookup.template is the pattern
        code, Lookup.tokens its variables by name. The values are checked against the
        pattern's own variables first (names, length, integer), so a value IPPanel would refuse
        fails here with a message that says which and why. There is no id of ours on a
        pattern send: an ambiguous error here must not be resent blindly."""
        def one(item: tuple[int, str, Lookup]) -> SendResult | GatewayError:
            _, receptor, lookup = item
            if not self._sender:
                return self._no_line()
            problem = self._pattern_problem(lookup)
            if problem is not None:
                return GatewayError(ErrorKind.INVALID, problem)
            try:
                accepted = self._call(self._client.send_pattern, to_e164(receptor),
                                      lookup.template, lookup.tokens, sender=self._sender)
            except GatewayError as exc:
                return exc
            return SendResult(gateway_id=str(accepted.outbox_ids[0]), status=1)

        return self._map(one, items)

    def _pattern_problem(self, lookup: Lookup) -> str | None:
        """Why IPPanel would refuse these values for the pattern, or None. When the pattern
        cannot be read for now, nothing is checked here: the send itself will say."""
        pattern = self._patterns.get(lookup.template)
        if pattern is None:
            try:
                pattern = self._asked(self._client.pattern, lookup.template)
            except GatewayError as exc:
                if exc.kind == ErrorKind.INVALID and exc.code == 404:
                    return f"pattern {lookup.template!r} does not exist at IPPanel"
                return None
            if pattern.status not in (None, "active"):
                return f"pattern {lookup.template!r} is {pattern.status}, not active"
            self._patterns[lookup.template] = pattern
        return pattern_problem(pattern, lookup.tokens)

    # -- questions ------------------------------------------------------------------------------

    def accepted(self, items: list[Item]) -> dict[int, SendResult]:
        """Messages found in the outbox: an entry from our line with this text whose recipient
        is this number. Two identical items (same number and text) get different entries. An
        item whose search failed is left out like one not found; if every search failed, the
        error is raised (the caller could not ask at all)."""
        if not self._sender or not items:
            return {}
        candidates = self._map(self._matching_bulks, items)
        errors = [c for c in candidates if isinstance(c, GatewayError)]
        if errors and len(errors) == len(candidates):
            raise errors[0]
        found: dict[int, SendResult] = {}
        taken: set[int] = set()
        for (localid, _, _), bulks in zip(items, candidates, strict=True):
            if isinstance(bulks, GatewayError):
                continue  # not searched: as unknown as not found (knows_absence is False)
            bulk = next((b for b in bulks if b.outbox_id not in taken), None)
            if bulk is not None:
                taken.add(bulk.outbox_id)
                found[localid] = SendResult(gateway_id=str(bulk.outbox_id), status=1,
                                            cost=None if bulk.cost is None else round(bulk.cost))
        return found

    def _matching_bulks(self, item: Item) -> list[Bulk] | GatewayError:
        _, receptor, text = item
        number = to_e164(receptor)
        try:
            bulks = self._asked(self._client.search_outbox, number=self._sender, message=text,
                                limit=self.OUTBOX_CANDIDATES)
            return [b for b in bulks
                    if any(r.recipient == number and r.message in (None, text)
                           for r in self._asked(self._client.recipients, b.outbox_id))]
        except GatewayError as exc:
            return exc

    def statuses(self, gateway_ids: list[str]) -> dict[str, int]:
        """Our code per outbox id. Each id is one or two report reads (the bulk, then its
        recipient once the bulk is sent); an id whose reads failed is left out, unless all
        failed: then the error is raised."""
        answers = self._map(self._status, gateway_ids)
        errors = [a for a in answers if isinstance(a, GatewayError)]
        if errors and len(errors) == len(answers):
            raise errors[0]
        return {gid: code for gid, code in zip(gateway_ids, answers, strict=True)
                if not isinstance(code, GatewayError)}

    def _status(self, gateway_id: str) -> int | GatewayError:
        if not gateway_id.isdigit():
            return UNKNOWN_ID
        try:
            bulk = self._asked(self._client.bulk, int(gateway_id))
            if bulk is None or bulk.state_id != BULK_SENT:
                return delivery_code(bulk)
            rows = self._asked(self._client.recipients, bulk.outbox_id)
        except GatewayError as exc:
            return exc
        return delivery_code(bulk, next((r for r in rows if r.message_status is not None), None))

    def receive(self, since: str | None = None) -> list[Inbound]:
        """Replies to the store's line, oldest first.

        IPPanel's inbox is not consumed by reading: `from_id` is a cursor we keep. It moves only
        after a whole read succeeded, so a lost answer loses nothing (the next read asks from
        the same id). A new process without `inbox_cursor` reads the latest page only: replies
        to more than one page of messages that came while no process read are not seen.
        """
        if not self._sender:
            return []
        if self._inbox_cursor is None and since is not None and since.isdigit():
            self._inbox_cursor = int(since)  # what the store kept last: read on from there
        rows = list(self._asked(self._client.inbox).messages) if self._inbox_cursor is None \
            else self._read_since(self._inbox_cursor)
        if rows:
            self._inbox_cursor = max([self._inbox_cursor or 0] + [m.inbox_id for m in rows])
        mine = {m.inbox_id: m for m in rows if line_e164(m.line) == self._sender}
        return [Inbound(gateway_id=str(m.inbox_id), sender=m.sender, line=m.line,
                        text=m.message,
                        received_at=datetime.fromtimestamp(m.time or 0, timezone.utc))
                for _, m in sorted(mine.items())]

    def _read_since(self, cursor: int) -> list:
        rows, page = [], 1
        while True:
            answer = self._asked(self._client.inbox, from_id=cursor, page=page,
                                 per_page=MAX_PAGE)
            rows += [m for m in answer.messages if m.inbox_id > cursor]
            if not answer.messages or page >= answer.last_page:
                return rows
            page += 1

    def credit(self) -> int | None:
        """IPPanel's credit, in Rial (UNCONFIRMED unit: the documentation names none; prices
        and costs there read as Rial)."""
        return int(self._asked(self._client.credit).credit)


def pattern_problem(pattern: Pattern, tokens: dict[str, str]) -> str | None:
    """Why these values do not fit the pattern's variables, or None."""
    names = {v.name for v in pattern.variables}
    missing, unknown = sorted(names - set(tokens)), sorted(set(tokens) - names)
    if missing or unknown:
        return (f"pattern {pattern.code!r} takes {sorted(names)}; missing {missing}, "
                f"unknown {unknown}")
    for variable in pattern.variables:
        value = tokens[variable.name]
        if not value:
            return f"pattern {pattern.code!r}: %{variable.name}% is empty"
        if variable.length and len(value) > variable.length:
            return (f"pattern {pattern.code!r}: %{variable.name}% takes at most "
                    f"{variable.length} characters, got {len(value)}")
        if variable.type == "integer" and not value.isdigit():
            return f"pattern {pattern.code!r}: %{variable.name}% must be digits"
    return None
