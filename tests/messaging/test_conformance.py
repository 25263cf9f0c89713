"""One suite, every provider: the same scenarios against each provider's fake over real HTTP,
with the same expected outcomes in our terms (tests/messaging/conformance.py has the harnesses).
"""

import pytest

from app.contacts.phones import normalize_phone
from app.messaging.gateway import (
    BLOCKED_BY_RECEIVER,
    DELIVERED,
    FINAL_STATUSES,
    ErrorKind,
    GatewayError,
    SendResult,
)
from tests.messaging.conformance import PROVIDERS


@pytest.fixture(params=sorted(PROVIDERS))
def provider(request):
    with PROVIDERS[request.param]() as harness:
        yield harness


def items(n: int, first: int = 1) -> list[tuple[int, str, str]]:
    return [(i, f"+98912{i:07d}", f"سلام {i}، سبد خریدت منتظرته") for i in range(first, first + n)]


def e164(sent: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(normalize_phone(receptor).e164, text) for receptor, text in sent]


def test_every_message_goes_out_once_in_order_beyond_one_bulk_call(provider):
    batch = items(provider.chunk + 3)
    results = provider.gateway.send_many(batch)
    assert all(isinstance(r, SendResult) and r.gateway_id for r in results)
    assert len({r.gateway_id for r in results}) == len(batch)
    assert sorted(e164(provider.sent())) == sorted((r, t) for _, r, t in batch)


def test_one_refused_number_fails_alone(provider):
    batch = items(4)
    provider.refuse_number(batch[1][1])
    results = provider.gateway.send_many(batch)
    assert [isinstance(r, SendResult) for r in results] == [True, False, True, True]
    assert (results[1].kind, results[1].ambiguous) == (ErrorKind.RECIPIENT, False)
    assert len(provider.sent()) == 3


def test_no_credit_stops_the_store_not_the_messages(provider):
    provider.no_credit()
    results = provider.gateway.send_many(items(3))
    assert all(isinstance(r, GatewayError) and r.kind == ErrorKind.STORE and not r.ambiguous
               for r in results)
    assert provider.sent() == []


def test_a_send_lost_before_the_work_never_goes_out_twice(provider):
    batch = items(3)
    provider.lose_next_send(after_work=False)
    results = provider.gateway.send_many(batch)
    if provider.gateway.knows_absence:  # asked, not taken: offered again at once
        assert all(isinstance(r, SendResult) for r in results)
        assert sorted(e164(provider.sent())) == sorted((r, t) for _, r, t in batch)
    else:  # the provider's silence proves nothing: left for the engine, never resent blindly
        assert all(isinstance(r, GatewayError) and r.ambiguous for r in results)
        assert provider.sent() == []


def test_a_send_lost_after_the_work_is_found_not_resent(provider):
    batch = items(3)
    provider.lose_next_send(after_work=True)
    results = provider.gateway.send_many(batch)
    assert sorted(e164(provider.sent())) == sorted((r, t) for _, r, t in batch)  # once each
    found = provider.gateway.accepted(batch)
    assert [isinstance(r, SendResult) for r in results] == [i in found for i, _, _ in batch]


def test_delivery_states_map_to_ours(provider):
    batch = items(3)
    for (_, receptor, _), outcome in zip(batch, ("delivered", "failed", "blacklisted"),
                                         strict=True):
        provider.deliver(receptor, outcome)
    results = provider.gateway.send_many(batch)
    codes = provider.gateway.statuses([r.gateway_id for r in results])
    delivered, failed, blacklisted = (codes[r.gateway_id] for r in results)
    assert delivered == DELIVERED and blacklisted == BLOCKED_BY_RECEIVER
    assert failed in FINAL_STATUSES and failed not in (DELIVERED, BLOCKED_BY_RECEIVER)


def test_replies_to_the_line_come_back_once(provider):
    provider.push_inbound("+989121111111", "۱۱")
    provider.push_inbound("+989122222222", "لغو")
    first = provider.gateway.receive()
    assert sorted((normalize_phone(m.sender).e164, m.text) for m in first) == [
        ("+989121111111", "۱۱"), ("+989122222222", "لغو")]
    assert len({m.gateway_id for m in first}) == 2
    again = provider.gateway.receive()  # what was read may come again; never as a new reply
    assert {m.gateway_id for m in again} <= {m.gateway_id for m in first}


def test_the_credit_is_in_rial(provider):
    credit = provider.gateway.credit()
    assert isinstance(credit, int) and credit > 0


def test_an_empty_account_reads_as_no_credit(provider):
    """What keeps a paused store paused until the merchant tops up (a None would resume it)."""
    provider.no_credit()
    assert provider.gateway.credit() == 0
