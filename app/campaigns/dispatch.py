"""Claim due messages, guard them once more, send, and record the outcome.

Every status change goes through app/campaigns/lifecycle.py; what a claimed message must pass is
app/campaigns/guard.py. Nothing is sent while a row lock is held: the guard's transaction
commits first, then the gateway is called with localid = message id.
"""

import logging
import time
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from app.alerts.models import SENDING_PAUSED
from app.alerts.service import raise_alert
from app.billing import service as billing
from app.campaigns import lifecycle
from app.campaigns.guard import Batch, Case, Send, decide
from app.campaigns.lifecycle import CLAIM_BATCH, Move, Taken
from app.campaigns.lookup import settle_lookup_error
from app.campaigns.models import FAILED, HELD, SCHEDULED, SENDING, SENT, Message
from app.campaigns.reasons import Reason, SendMode, detail
from app.contacts.models import Contact
from app.db import in_ids, unit_of_work
from app.messaging.gateway import ErrorKind, Gateway, GatewayError, SendResult
from app.ops import liveness, metrics
from app.ops.fanout import DEADLINE, Deadline, fan_out
from app.stores.models import Store

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 10
# A gateway error worth retrying (5xx, a timeout, 409/451/402) is retried soon, then later: 5,
# 10, 20, 40, 80, 160 s, then every 5 min — seconds after a blip, about 20 minutes of an outage
# before the message fails.
FIRST_RETRY = timedelta(seconds=5)
LAST_RETRY = timedelta(minutes=5)
STUCK_AFTER = timedelta(minutes=10)


def _guard_batch(factory: sessionmaker[Session], ids: list[int],
                 now: datetime) -> tuple[dict[str, int], list[tuple[int, Send]]]:
    """One transaction: lock the claimed messages (the claim already wrote its process's
    liveness token on them), decide each; returns the counts of those not going out and the
    sends of those that are."""
    outcome: dict[str, int] = {}
    sends: list[tuple[int, Send]] = []
    with unit_of_work(factory) as session:
        messages = session.scalars(select(Message).where(in_ids(Message.id, ids))
                                   .order_by(Message.id).with_for_update()).all()
        ready = [m for m in messages
                 if m.status == SENDING and m.claimed_at == now and m.sent_at is None]
        for message in messages:
            if message not in ready:
                outcome[message.status] = outcome.get(message.status, 0) + 1
        if not ready:
            return outcome, sends
        batch = Batch(session, ready, now)
        # No autoflush: the checks only read what the batch preloaded; their changes are
        # written once, at commit, instead of one UPDATE per message.
        with session.no_autoflush:
            for message in ready:
                decision = decide(Case(session, batch, message, now))
                if isinstance(decision, Move):
                    lifecycle.move(message, decision)
                    outcome[message.status] = outcome.get(message.status, 0) + 1
                    metrics.count_message(message.status, decision.reason)  # ops
                else:
                    sends.append((message.id, decision))
    return outcome, sends


def send_batch(factory: sessionmaker[Session], gateways, ids: list[int], now: datetime, *,
               deadline: Deadline = DEADLINE) -> dict[str, int]:
    """Guard, send and record claimed messages; returns how many ended in each status.

    One transaction guards the whole batch, the gateways are called with none open (side by
    side, within `deadline`: a gateway still answering then records its share on its own), and
    each gateway's share is recorded in a transaction of its own. `now` is also the claim's mark: a message claimed again
    since (by a later tick, after the reaper) or already approved by another worker (sent_at
    set) is left alone, so a task that Redis delivers twice cannot send twice.
    """
    for attempt in (1, 2):
        try:
            outcome, sends = _guard_batch(factory, ids, now)
            break
        except IntegrityError as exc:  # a short-link code taken meanwhile: new codes, once
            if attempt == 2:
                raise
            log.warning("guarding a batch conflicted, guarding it again: %s", exc.orig)

    # Stores sharing a gateway (the platform's account) share its batched calls; each gateway
    # is called side by side with the others, so no store's slow gateway holds up another's.
    by_gateway: dict[int, tuple[Gateway, list[tuple[int, Send]]]] = {}
    for message_id, decision in sends:
        gateway = gateways.for_store(decision.store)
        by_gateway.setdefault(id(gateway), (gateway, []))[1].append((message_id, decision))
    groups = {group[0][1].store.id: (gateway, group) for gateway, group in by_gateway.values()}

    def send(store_id: int) -> dict[str, int]:
        return _send_group(factory, *groups[store_id], now, gateways=gateways)

    done = ([send(next(iter(groups)))] if len(groups) == 1  # the common case: no thread
            else fan_out(send, groups, what="send batch", deadline=deadline))
    for counts in done:
        for status, n in counts.items():
            outcome[status] = outcome.get(status, 0) + n
    return outcome


Answer = tuple[tuple[int, Send], "SendResult | GatewayError", Gateway]  # and who answered


def _send_group(factory: sessionmaker[Session], gateway: Gateway, group: list[tuple[int, Send]],
                now: datetime, *, gateways=None) -> dict[str, int]:
    """One gateway's share of a batch: sent in its batched calls (Kavenegar: sendarray of up to
    200), what it refused for now handed to the store's second provider (`gateways` given),
    each answer recorded; returns how many ended in each status."""
    outcome: dict[str, int] = {}
    texts = [(mid, d) for mid, d in group if d.lookup is None]
    lookups = [(mid, d) for mid, d in group if d.lookup is not None]
    results: list[Answer] = []
    if texts:
        results += [(item, r, gateway) for item, r in zip(
            texts, gateway.send_many([(mid, d.receptor, d.text) for mid, d in texts]),
            strict=True)]
    if lookups:
        results += [(item, r, gateway) for item, r in zip(
            lookups, gateway.lookup_many([(mid, d.receptor, d.lookup) for mid, d in lookups]),
            strict=True)]
    if gateways is not None:
        _fail_over(factory, gateways, results)
    sent, looked_up = [], []
    taken = _asked_after_loss(results)
    for (message_id, decision), result, answered in results:
        if isinstance(result, GatewayError):
            settled = (settle_lookup_error(factory, message_id, result)
                       if decision.lookup is not None else None)
            if settled:
                status, reason = settled, None
            else:
                status, reason = _after_gateway_error(factory, message_id, now, result,
                                                      taken=taken.get(message_id),
                                                      knows_absence=answered.knows_absence)
            outcome[status] = outcome.get(status, 0) + 1
            metrics.count_message(status, reason)  # ops
        else:
            sent.append((message_id, result))
            if decision.lookup is not None:
                looked_up.append((message_id, result))
    # The gateway may have settled a lost answer itself (asked by localid): say so on the row.
    _record_sent(factory, [(mid, r) for mid, r in sent if r.note is None], now)
    _record_sent(factory, [(mid, r) for mid, r in sent if r.note is not None], now,
                 Reason.CONFIRMED_AFTER_LOSS)
    if parts := {mid: r.parts for mid, r in looked_up if r.parts is not None}:
        with unit_of_work(factory) as session:
            lifecycle.record_parts(session, parts)
    if sent:
        outcome[SENT] = outcome.get(SENT, 0) + len(sent)
    metrics.count_message(SENT, None, len(sent))  # ops
    return outcome


def _fail_over(factory: sessionmaker[Session], gateways, results: list[Answer]) -> None:
    """Texts on their first try that the first provider refused for now, answering that it did
    nothing (RETRY, not ambiguous: it was unreachable, or said so), go at once to the store's
    second provider if it named one; `results` then holds that provider's answers for them.
    Never a message whose answer was lost (the first provider may have sent it), a retry (an
    earlier try may have), nor a lookup (its template is the first provider's)."""
    moves: dict[int, tuple[str, Gateway, list[int]]] = {}
    for i, ((_, decision), result, _) in enumerate(results):
        if (isinstance(result, GatewayError) and result.kind == ErrorKind.RETRY
                and not result.ambiguous and decision.lookup is None and decision.first_try):
            if second := gateways.fallback_for(decision.store):
                moves.setdefault(id(second[1]), (*second, []))[2].append(i)
    for name, second_gateway, indexes in moves.values():
        items = [results[i][0] for i in indexes]
        with unit_of_work(factory) as session:  # asked of it from now on, even after a crash
            lifecycle.hand_over(session, [mid for mid, _ in items], via=name)
        log.warning("%d messages refused for now by the first provider go to %s",
                    len(items), name)
        answers = second_gateway.send_many([(mid, d.receptor, d.text) for mid, d in items])
        for i, answer in zip(indexes, answers, strict=True):
            results[i] = (results[i][0], answer, second_gateway)


def _asked_after_loss(results: list[Answer]) -> dict[int, SendResult]:
    """Texts whose answer was lost may have gone out: each gateway is asked about all of its
    own at once, before any of them is sent again (verify/lookup sends have no localid to ask
    by). Returns what the gateways say they took."""
    taken: dict[int, SendResult] = {}
    for answered in {id(g): g for _, _, g in results}.values():
        unsure = [(mid, d.receptor, d.text) for (mid, d), r, g in results
                  if g is answered and isinstance(r, GatewayError) and r.ambiguous
                  and d.lookup is None]
        if not unsure:
            continue
        try:
            taken |= answered.accepted(unsure)
        except GatewayError as exc:
            log.warning("cannot ask which of %d messages went out: %s", len(unsure), exc)
    return taken


def send_one(factory: sessionmaker[Session], gateways, message_id: int, now: datetime) -> str:
    """Send one claimed message; returns its status afterwards."""
    [(status, _)] = send_batch(factory, gateways, [message_id], now).items() or [("missing", 0)]
    return status


def _record_sent(factory, sent: list[tuple[int, SendResult]], now: datetime,
                 reason: Reason | None = None) -> None:
    if not sent:
        return
    with unit_of_work(factory) as session:
        lifecycle.mark_sent(session, [Taken(message_id, r.gateway_id, r.cost, r.status)
                                      for message_id, r in sent], reason=reason)
        _charge(session, {message_id: r.parts for message_id, r in sent}, now)


def _charge(session: Session, parts: dict[int, int | None], now: datetime) -> None:
    """Pay as you go: charge what the platform's account just sent (once per message)."""
    rows = session.execute(
        select(Message.store_id, Message.id, Message.parts)
        .join(Store, Store.id == Message.store_id)
        .where(in_ids(Message.id, parts), Store.sms_provider == billing.PLATFORM)).all()
    if rows:
        billing.charge_sent(session, [(store_id, message_id, parts[message_id] or known or 1)
                                      for store_id, message_id, known in rows], now)


def _after_gateway_error(factory, message_id: int, now: datetime, exc: GatewayError, *,
                         taken: SendResult | None = None,
                         knows_absence: bool = True) -> tuple[str, Reason | None]:
    """Where a message the gateway did not take goes: sent after all (`taken`: the gateway,
    asked after a lost answer, says it has it), failed as unknown (its answer was lost and
    the gateway cannot prove it did not take it: never sent again), held with its store
    paused, failed, or retried later. Returns its status and reason."""
    log.warning("sending message %s failed: %s", message_id, exc)
    if taken is not None:
        _record_sent(factory, [(message_id, taken)], now, Reason.CONFIRMED_AFTER_LOSS)
        return SENT, Reason.CONFIRMED_AFTER_LOSS
    with unit_of_work(factory) as session:
        message = session.get_one(Message, message_id)  # claimed by this worker: it exists
        if message.status != SENDING:
            return message.status, message.reason
        if exc.ambiguous and not knows_absence:
            to = Move(FAILED, Reason.SEND_UNKNOWN, detail(
                f"the answer was lost ({exc}) and the gateway cannot say whether it went out"))
            lifecycle.settle_sending(session, message_id, to, keep_sent_at=True)
            return to.status, to.reason
        if exc.kind == ErrorKind.STORE:
            store = session.get_one(Store, message.store_id)
            if store.sending_paused_at is None:
                store.sending_paused_at, store.sending_paused_reason = now, detail(exc)
                log.error("store %s: sending paused: %s", store.id, exc)
                raise_alert(session, store, SENDING_PAUSED,
                            {"paused_at": now.isoformat(), "reason": detail(exc)}, now)
            to = Move(HELD, Reason.STORE_PAUSED, detail(exc))
        elif exc.kind in (ErrorKind.RECIPIENT, ErrorKind.INVALID) or message.attempts >= MAX_ATTEMPTS:
            to = Move(FAILED, Reason.GATEWAY_REFUSED, detail(exc))
            if exc.blacklisted:
                lifecycle.block_promotions(session, message_id, now)
        else:
            to = Move(SCHEDULED, Reason.GATEWAY_RETRY, detail(exc),
                      due_at=now + retry_after(message.attempts))
        lifecycle.settle_sending(session, message_id, to)
        return to.status, to.reason


def await_gone(factory: sessionmaker[Session], token_prefix: str, *, within: float) -> bool:
    """Wait (at most `within` seconds) until no process whose token begins with
    `token_prefix` holds its lock while messages are claimed under that token: a killed
    process's connection, and its lock, close a moment after it. True: they are all gone."""
    deadline = time.monotonic() + within
    while True:
        with factory() as session:
            tokens = {t for t in session.scalars(select(Message.claimed_by).distinct().where(
                Message.status == SENDING, Message.claimed_by.startswith(token_prefix,
                                                                          autoescape=True))) if t}
        if tokens <= liveness.gone(factory.kw["bind"], tokens):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)


def retry_after(attempts: int) -> timedelta:
    """How long a message the gateway could not take now waits after its `attempts`-th try."""
    return min(FIRST_RETRY * 2 ** max(attempts - 1, 0), LAST_RETRY)


def reap(factory: sessionmaker[Session], gateways, now: datetime, *,
         deadline: Deadline = DEADLINE) -> int:
    """Resolve messages stuck in "sending" (their worker died): ask the gateway, then decide.

    Accepted by the gateway → sent; never reached it → scheduled again (localid makes even a
    wrong guess harmless at the gateway). The gateway is asked with no transaction open, each
    store's side by side within `deadline` (app/ops/fanout.py), and each store's answer
    recorded in a transaction of its own, a page of CLAIM_BATCH after another until none is
    left; a store not asked in time keeps its stalled messages for the next round.

    Also the messages of every sending process that is gone (its liveness lock free,
    app/ops/liveness.py), however recently they were claimed: a worker killed whole is seen at
    the reaper's next round, a killed Celery child at once (workers/tasks.py).
    """
    with factory() as session:
        tokens = {t for t in session.scalars(select(Message.claimed_by).distinct().where(
            Message.status == SENDING, Message.claimed_by.is_not(None))) if t}
    dead = liveness.gone(factory.kw["bind"], tokens)
    stalled = (Message.claimed_at < now - STUCK_AFTER) | Message.claimed_by.in_(dead)
    resolved, after = 0, 0
    while True:  # page after page, by id, to the last
        with factory() as session:
            rows = session.execute(
                select(Message.id, Message.claimed_at, Message.store_id, Message.send_mode,
                       Message.sent_at, Message.sent_via, Message.text, Contact.phone)
                .join(Contact, Contact.id == Message.contact_id)
                .where(Message.status == SENDING, stalled, Message.id > after)
                .order_by(Message.id).limit(CLAIM_BATCH)).all()
            stores = {s.id: s for s in session.scalars(
                select(Store).where(Store.id.in_({r.store_id for r in rows})))}
        if not rows:
            return resolved

        def ask(store_id: int, rows=rows, stores=stores) -> int:
            store, resolved = stores[store_id], 0
            mine = [r for r in rows if r.store_id == store_id]
            for via in {r.sent_via for r in mine}:  # each provider asked about its own
                theirs = [r for r in mine if r.sent_via == via]
                gateway = gateways.via(store, via)
                if gateway is None:  # a provider the store has left: nobody can be asked
                    resolved += _resolve_stalled(factory, theirs, {}, now, knows_absence=False)
                    continue
                try:
                    accepted = gateway.accepted([(r.id, r.phone, r.text or "") for r in theirs])
                except GatewayError as exc:  # cannot tell: leave them for the next round
                    log.warning("store %s: cannot ask the gateway about stalled sends: %s",
                                store_id, exc)
                    continue
                resolved += _resolve_stalled(factory, theirs, accepted, now,
                                             knows_absence=gateway.knows_absence)
            return resolved

        resolved += sum(fan_out(ask, stores, what="reaper", deadline=deadline))
        after = rows[-1].id
        if len(rows) < CLAIM_BATCH:
            return resolved


def _resolve_stalled(factory: sessionmaker[Session], rows, accepted: dict[int, SendResult],
                     now: datetime, *, knows_absence: bool) -> int:
    """One store's stalled messages, decided by what its gateway said it took. One it did not
    find goes out again only if it was never handed over (no sent_at) or the gateway's silence
    proves it was not taken."""
    resolved = 0
    with unit_of_work(factory) as session:
        for row in rows:
            # Only if nobody resolved it meanwhile (same claim still in place).
            if row.id in accepted:
                found = accepted[row.id]
                done = lifecycle.confirm_stalled(
                    session, row.id, claimed_at=row.claimed_at,
                    found=Taken(row.id, found.gateway_id, found.cost, found.status))
                if done:
                    _charge(session, {row.id: found.parts}, now)
            elif row.sent_at is not None and row.send_mode == SendMode.LOOKUP:
                # A verify/lookup that may have gone out: it has no localid to ask by, so it is
                # never sent again (see app/campaigns/lookup.py settle_lookup_error).
                done = lifecycle.settle_sending(
                    session, row.id, Move(FAILED, Reason.LOOKUP_UNKNOWN,
                                          "its worker stalled mid-send; verify/lookup has no "
                                          "localid to ask, so it is not sent again"),
                    claimed_at=row.claimed_at, keep_sent_at=True)
            elif row.sent_at is not None and not knows_absence:
                done = lifecycle.settle_sending(
                    session, row.id, Move(FAILED, Reason.SEND_UNKNOWN,
                                          "its worker stalled mid-send and the gateway cannot "
                                          "say whether it went out, so it is not sent again"),
                    claimed_at=row.claimed_at, keep_sent_at=True)
            else:
                done = lifecycle.settle_sending(
                    session, row.id, Move(SCHEDULED, Reason.STALL_RETURNED, due_at=now),
                    claimed_at=row.claimed_at)
            resolved += done
    return resolved
