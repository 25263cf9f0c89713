"""The fake Kavenegar's debug API (`bazgasht fake-kavenegar --control`): a harness in another
process breaks the gateway, pushes replies and reads back every message taken."""

import httpx
import pytest

from app.messaging.fake_kavenegar import DEFAULT_LINE, FakeKavenegar
from app.messaging.gateway import GatewayError, KavenegarGateway
from app.messaging.kavenegar import KavenegarClient

KEY = "control-test-key-0123"


@pytest.fixture
def fake():
    with FakeKavenegar(api_key=KEY, control=True) as server:
        yield server


def gateway_for(fake):
    return KavenegarGateway(KavenegarClient(KEY, base_url=fake.base_url, connect_timeout=2,
                                            read_timeout=1), sender=DEFAULT_LINE)


def control(fake, **cmd):
    return httpx.post(f"{fake.base_url}/_fake/control", json=cmd)


def test_the_debug_api_is_off_unless_asked_for():
    with FakeKavenegar(api_key=KEY) as fake:
        assert httpx.get(f"{fake.base_url}/_fake/messages").status_code == 404


def test_another_process_reads_every_message_taken_with_its_localid(fake):
    gateway_for(fake).send_many([(7, "09121234567", "سلام"), (8, "09121234568", "سلام")])
    gateway_for(fake).send_many([(7, "09121234567", "سلام")])  # offered again: deduped

    records = httpx.get(f"{fake.base_url}/_fake/messages").json()
    assert sorted((r["localid"], r["receptor"], r["resubmitted"]) for r in records) == [
        (7, "09121234567", 1), (8, "09121234568", 0)]
    assert all(r["accepted_at"] > 0 for r in records)


def test_no_credit_refuses_sends_with_418_until_topped_up(fake):
    assert control(fake, op="credit", value=0).json() == {"ok": True}
    [result] = gateway_for(fake).send_many([(1, "09121234567", "سلام")])
    assert isinstance(result, GatewayError) and result.code == 418

    control(fake, op="credit", value=1_000_000)
    [result] = gateway_for(fake).send_many([(1, "09121234567", "سلام")])
    assert not isinstance(result, GatewayError)


def test_chaos_breaks_about_the_share_of_calls_asked_for(fake):
    control(fake, op="chaos", rate=0.3, timeout=2.0, seed=3)
    client = httpx.Client(timeout=0.5)
    outcomes = []
    for _ in range(200):
        try:
            outcomes.append(client.get(f"{fake.base_url}/v1/{KEY}/account/info.json").status_code)
        except httpx.HTTPError:
            outcomes.append("no answer")
    broken = sum(o != 200 for o in outcomes)
    assert 40 <= broken <= 80, outcomes
    state = httpx.get(f"{fake.base_url}/_fake/state").json()
    assert sum(state["chaos"].values()) == broken

    control(fake, op="chaos", rate=0)
    assert client.get(f"{fake.base_url}/v1/{KEY}/account/info.json").status_code == 200


def test_pushed_replies_are_read_from_the_line(fake):
    control(fake, op="push_inbound", sender="09121234567", message="۱۱")
    [reply] = gateway_for(fake).receive()
    assert (reply.sender, reply.text) == ("09121234567", "۱۱")


def test_a_bad_command_is_a_400(fake):
    assert control(fake, op="explode").status_code == 400
    assert control(fake, op="credit").status_code == 400
