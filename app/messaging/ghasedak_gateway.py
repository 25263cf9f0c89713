"""Ghasedak behind the `Gateway` interface (app/messaging/gateway.py).

Each message goes out with its local id (our message id) as Ghasedak's clientReferenceId, and
CheckSmsStatus (Type=2) finds it by that id afterwards. That lookup is how a lost answer is
settled, but it is not proof of absence, so `knows_absence` is False: nothing says a reference
is findable as soon as the send is taken (Ghasedak's documentation warns that statuses lag the
send), the python SDK leaves the reference out of SendSingleSMS altogether, and whether a
reference offered again is refused, deduplicated or sent twice is unconfirmed. A message whose
answer was lost and that the lookup cannot find is therefore never sent again from here.
"""

import logging
import re
import time
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
from app.messaging.ghasedak import (
    BY_REFERENCE,
    MAX_OTP_INPUTS,
    MAX_PAIR_ITEMS,
    MAX_STATUS_IDS,
    GhasedakClient,
    GhasedakError,
    PairItem,
    Report,
    Sent,
)
from app.messaging.segments import count_segments

log = logging.getLogger(__name__)

Item = tuple[int, str, str]  # (localid: our message id, receptor, text)

QUEUED = 1
# Ghasedak's message states (the python SDK's SendStatus, the fullest list published) in our
# numbering (Kavenegar's: 1 queued, 4/5 with the operator, 6 failed, 10 delivered, 11 not
# delivered, 13 cancelled, 14 blacklisted). Pending states never map to a final code.
STATUS_CODES: dict[int, int] = {
    0: QUEUED,   # to be confirmed (the panel holds it for review)
    1: 6,        # rejected
    2: QUEUED,   # to be sent
    3: QUEUED,   # sending
    4: 4,        # sent
    5: 6,        # debug mode: the account only pretends to send
    6: 6,        # internal failure
    7: 13,       # cancelled
    8: 14,       # on Ghasedak's own blacklist (the receiver opted out there)
    9: QUEUED,   # paused
    10: 4,       # sent to the operator
    11: 5,       # the operator took it
    12: 14,      # blacklisted: the receiver refuses advertising SMS
    13: 11,      # not delivered
    14: 10,      # delivered
    15: 6,       # blocked (we read it as the content or line being blocked, not the receiver)
    16: 6,       # failed
    17: QUEUED,  # processing
}
# The states as Ghasedak's newer documentation page lists them for CheckSmsStatus: a different
# numbering no SDK uses. Which one the service answers with is unconfirmed; a gateway made with
# status_codes=DOCUMENTED_STATUS_CODES reads this one.
DOCUMENTED_STATUS_CODES: dict[int, int] = {
    0: QUEUED,   # no status yet
    1: 13,       # cancelled
    2: 14,       # blacklisted
    3: 4,        # handed to the operator
    4: 11,       # did not reach the phone
    5: 10,       # reached the phone
    6: 6,        # sent with an error
    7: 6,        # debug mode
    8: QUEUED,   # unknown (yet)
}
# GetAccountInformation's credit, in Rial per unit. Sources do not name the unit; the costs the
# same service reports per SMS (840 to 3537 for one message in its samples) are Rial-sized.
CREDIT_RIAL_PER_UNIT = 1

_IRANIAN_MOBILE = re.compile(r"^(?:\+98|0098|98|0)(9\d{9})$")


def local_number(receptor: str) -> str:
    """A number as Ghasedak's samples write it (09…), from our E.164 (+989…). Anything else
    goes as it is, for Ghasedak to accept or refuse."""
    match = _IRANIAN_MOBILE.match(receptor)
    return f"0{match[1]}" if match else receptor


def _same_number(a: str | None, b: str) -> bool:
    return a is None or local_number(a) == local_number(b)


class GhasedakGateway:
    """Ghasedak for one account and line.

    Texts go out in SendPairToPairSMS calls of up to 100 (SendSingleSMS for a lone message).
    What a failed call means for its messages:

    - refused for a reason that belongs to a message (RECIPIENT) or that we cannot place
      (INVALID, which is also how a malformed number comes back): the chunk is sent again one
      message per call, so only the culprit fails (as RECIPIENT: it was refused alone);
    - refused for the account (STORE: the key, the credit, the line) or for now (RETRY): every
      message of the chunk gets that error; after a STORE error the remaining chunks are not
      tried;
    - no answer, or one we cannot place per message: CheckSmsStatus by clientReferenceId says
      which were taken, those are results; the others keep the ambiguous error and are not
      sent again (knows_absence is False; see the module's docstring).
    """

    knows_absence = False
    PARALLEL_SENDS = 8
    CHUNK = MAX_PAIR_ITEMS
    QUERY_TRIES = 3
    SEND_TRIES = 3  # offers of one chunk, should a subclass know absence (never otherwise)
    REREAD_READ_EVERY = 300.0

    def __init__(self, client: GhasedakClient, *, sender: str | None,
                 status_codes: dict[int, int] = STATUS_CODES):
        self._client, self._sender = client, sender
        self._status_codes = status_codes
        self._pool = ThreadPoolExecutor(self.PARALLEL_SENDS, thread_name_prefix="ghasedak")
        self._reread_at = 0.0  # monotonic time of the next read of already-read replies

    def _call(self, fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except GhasedakError as exc:
            raise GatewayError(ErrorKind(exc.kind.value), str(exc), code=exc.status,
                               ambiguous=exc.ambiguous, timed_out=exc.timed_out) from None

    def _asked(self, fn, *args, **kwargs):
        """A question that changes nothing, asked again at once (up to QUERY_TRIES times)
        while the answer is a passing error that came quickly; a timeout is not waited for
        again."""
        for attempt in range(1, self.QUERY_TRIES + 1):
            try:
                return self._call(fn, *args, **kwargs)
            except GatewayError as exc:
                if exc.kind != ErrorKind.RETRY or exc.timed_out or attempt == self.QUERY_TRIES:
                    raise
                log.info("asking Ghasedak again (%d of %d): %s", attempt + 1, self.QUERY_TRIES,
                         exc)
        raise AssertionError("unreachable")

    def _result(self, sent: Sent) -> SendResult:
        if not sent.message_id:
            raise GatewayError(ErrorKind.RETRY, "Ghasedak took the message but named no id",
                               ambiguous=True)
        return SendResult(gateway_id=sent.message_id, cost=sent.cost, status=QUEUED)

    # -- sending -------------------------------------------------------------------------------

    def send(self, *, localid: int, receptor: str, text: str) -> SendResult:
        sent = self._call(self._client.send_single, local_number(receptor), text,
                          line_number=self._sender, reference=str(localid))
        return self._result(sent)

    def _send_one(self, item: Item) -> SendResult | GatewayError:
        localid, receptor, text = item
        try:
            return self.send(localid=localid, receptor=receptor, text=text)
        except GatewayError as exc:
            return exc

    def _one_by_one(self, items: list[Item], *,
                    after_refusal: bool = False) -> list[SendResult | GatewayError]:
        results = ([self._send_one(item) for item in items] if len(items) <= 1
                   else list(self._pool.map(self._send_one, items)))
        return [_as_culprit(r) for r in results] if after_refusal else results

    def send_many(self, items: list[Item]) -> list[SendResult | GatewayError]:
        if not self._sender:
            # SendPairToPairSMS names a line per message; without one, Ghasedak picks one of
            # the account's lines only through SendSingleSMS.
            return self._one_by_one(items)
        return in_chunks(items, self.CHUNK, self._send_chunk)

    def _send_chunk(self, items: list[Item], *,
                    tries: int = SEND_TRIES) -> list[SendResult | GatewayError]:
        if len(items) == 1:
            return [self._send_one(items[0])]
        assert self._sender
        pairs = [PairItem(local_number(receptor), text, self._sender, str(localid))
                 for localid, receptor, text in items]
        try:
            sent = self._call(self._client.send_pair_to_pair, pairs)
        except GatewayError as exc:
            if exc.ambiguous:
                return self._after_lost_answer(items, exc, tries=tries - 1)
            if exc.kind in (ErrorKind.RECIPIENT, ErrorKind.INVALID):
                log.info("SendPairToPairSMS of %d refused (%s): sending them one by one",
                         len(items), exc)
                return self._one_by_one(items, after_refusal=True)
            return [exc] * len(items)
        by_reference = self._match(items, sent)
        missing = [item for item in items if item[0] not in by_reference]
        if not missing:
            return [by_reference[localid] for localid, _, _ in items]
        # Taken, but some messages are not in the answer: ask for them by reference.
        lost = GatewayError(ErrorKind.RETRY, f"SendPairToPairSMS answered {len(sent)} items for "
                            f"{len(items)} messages", ambiguous=True)
        settled = dict(zip([m[0] for m in missing],
                           self._after_lost_answer(missing, lost, tries=0), strict=True))
        return [by_reference.get(localid) or settled[localid] for localid, _, _ in items]

    def _match(self, items: list[Item], sent: list[Sent]) -> dict[int, SendResult]:
        """Answer items by our reference, or in order when the answer echoes none."""
        wanted = {str(localid): localid for localid, _, _ in items}
        if all(s.reference for s in sent):
            pairs = [(wanted.get(s.reference or ""), s) for s in sent]
        elif len(sent) == len(items):
            pairs = [(item[0], s) for item, s in zip(items, sent, strict=True)]
        else:
            return {}
        matched: dict[int, SendResult] = {}
        for localid, s in pairs:
            if localid is not None and s.message_id and localid not in matched:
                matched[localid] = SendResult(gateway_id=s.message_id, cost=s.cost, status=QUEUED)
        return matched

    def _after_lost_answer(self, items: list[Item], exc: GatewayError, *,
                           tries: int) -> list[SendResult | GatewayError]:
        """The chunk may have gone out: take what Ghasedak says it took. The rest keep the
        ambiguous error; they are offered again at once only by a gateway that knows absence,
        after a quick loss, while `tries` are left."""
        log.warning("SendPairToPairSMS of %d: answer lost (%s); asking by reference",
                    len(items), exc)
        try:
            found = self.accepted(items)
        except GatewayError as check:
            log.warning("cannot ask which of %d messages went out: %s", len(items), check)
            return [exc] * len(items)
        rest = [item for item in items if item[0] not in found]
        resend = rest and self.knows_absence and tries > 0 and not exc.timed_out
        again = iter(self._send_chunk(rest, tries=tries) if resend else [exc] * len(rest))
        return [replace(found[item[0]], note=CONFIRMED_AFTER_LOST_ANSWER) if item[0] in found
                else next(again) for item in items]

    def lookup_many(self, items: list[tuple[int, str, Lookup]]) -> list[SendResult | GatewayError]:
        """One SendOtpSMS per message, several at a time. Lookup.template is the template's
        name at Ghasedak, Lookup.tokens its parameters by name. Each carries our reference, but
        the OTP service reroutes a number asked again within two minutes (Ghasedak's
        documentation) rather than deduplicating it: an ambiguous error is returned as it is."""
        def one(item: tuple[int, str, Lookup]) -> SendResult | GatewayError:
            localid, receptor, lookup = item
            problem = _lookup_problem(lookup)
            if problem:
                return GatewayError(ErrorKind.INVALID, problem)
            try:
                sent = self._call(self._client.send_otp, local_number(receptor), lookup.template,
                                  lookup.tokens, reference=str(localid))
                result = self._result(sent)
            except GatewayError as exc:
                return exc
            return replace(result, parts=count_segments(sent.message).parts
                           if sent.message else None)

        if len(items) <= 1:
            return [one(item) for item in items]
        return list(self._pool.map(one, items))

    # -- questions -----------------------------------------------------------------------------

    def accepted(self, items: list[Item]) -> dict[int, SendResult]:
        """The items Ghasedak has under our reference, for the same number. A reference found
        twice (a duplicate, where Ghasedak does not dedupe) counts once: the first report."""
        receptors = {str(localid): receptor for localid, receptor, _ in items}
        found: dict[int, SendResult] = {}
        refs = list(receptors)
        for start in range(0, len(refs), MAX_STATUS_IDS):
            chunk = refs[start:start + MAX_STATUS_IDS]
            for report in self._asked(self._client.status, chunk, by=BY_REFERENCE):
                ref = report.reference
                if (ref in receptors and report.message_id and int(ref) not in found
                        and _same_number(report.receptor, receptors[ref])):
                    found[int(ref)] = SendResult(gateway_id=report.message_id, cost=report.price,
                                                 status=self._our_status(report))
        return found

    def _our_status(self, report: Report) -> int:
        code = self._status_codes.get(report.status) if report.status is not None else QUEUED
        if code is None:
            log.warning("Ghasedak status %s of message %s is not in our table: kept as queued",
                        report.status, report.message_id)
            return QUEUED
        return code

    def statuses(self, gateway_ids: list[str]) -> dict[str, int]:
        """Our delivery codes for Ghasedak's message ids. An id Ghasedak leaves out of its
        answer is left out here too (not yet listed is not unknown)."""
        result = {}
        for start in range(0, len(gateway_ids), MAX_STATUS_IDS):
            chunk = gateway_ids[start:start + MAX_STATUS_IDS]
            for report in self._call(self._client.status, chunk):
                if report.message_id in chunk:
                    result[report.message_id] = self._our_status(report)
        return result

    def receive(self, since: str | None = None) -> list[Inbound]:
        """Unread replies, and now and then the recently read ones too.

        Reading unread replies marks them read at Ghasedak. If that answer is lost, or the
        process dies before the caller keeps them, they never come back as unread. So after a
        lost answer, first thing in a process and every few minutes, the latest read ones
        (IsRead=true, the last 100) are read as well; keeping them is idempotent (unique per
        gateway id), so only the lost ones are new. More than 100 replies between two reads of
        the read ones, with the answer lost, would still lose the oldest of them.
        """
        if not self._sender:
            return []
        rows = []
        if time.monotonic() >= self._reread_at:
            rows += self._call(self._client.received, self._sender, is_read=True)
        try:
            rows += self._call(self._client.received, self._sender, is_read=False)
        except GatewayError as exc:
            if exc.ambiguous:  # it may have marked replies read: read those next time
                self._reread_at = 0.0
            raise
        if self._reread_at <= time.monotonic():
            self._reread_at = time.monotonic() + self.REREAD_READ_EVERY
        unique = list({m.id: m for m in rows if m.id}.values())
        unique.sort(key=lambda m: m.receive_date or _EPOCH)
        return [Inbound(gateway_id=m.id or "", sender=m.sender, line=m.line_number or self._sender,
                        text=m.message, received_at=m.receive_date or _EPOCH) for m in unique]

    def credit(self) -> int | None:
        credit = self._asked(self._client.account).credit
        return None if credit is None else credit * CREDIT_RIAL_PER_UNIT


_EPOCH = datetime.fromtimestamp(0, timezone.utc)


def _as_culprit(result: SendResult | GatewayError) -> SendResult | GatewayError:
    """A message refused alone, with a validation error, after its batch was refused: the
    fault is its number or its text (Ghasedak has no published receptor code, and answers a
    malformed number with a plain 400), so it is that message's, not our request's."""
    if isinstance(result, GatewayError) and result.kind == ErrorKind.INVALID \
            and not result.ambiguous:
        return GatewayError(ErrorKind.RECIPIENT, str(result), code=result.code)
    return result


def _lookup_problem(lookup: Lookup) -> str | None:
    """Why Ghasedak would refuse these template inputs (we refuse first, saying why)."""
    if not lookup.template:
        return "a Ghasedak template needs its name"
    if not lookup.tokens:
        return f"template {lookup.template!r}: no inputs; Ghasedak requires at least one"
    if len(lookup.tokens) > MAX_OTP_INPUTS:
        return (f"template {lookup.template!r}: {len(lookup.tokens)} inputs; Ghasedak's "
                f"templates take at most {MAX_OTP_INPUTS}")
    empty = [name for name, value in lookup.tokens.items() if not name or not value.strip()]
    if empty:
        return f"template {lookup.template!r}: empty input(s) {empty}; Ghasedak refuses them"
    return None
