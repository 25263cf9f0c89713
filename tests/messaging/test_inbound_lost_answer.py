"""Found by bench/survive.py's fault model (the gateway's answer lost after it did the work):
replies read with sms/receive isread=0 are marked read at the gateway, so when that answer never
arrives (a timeout, a reset, a worker killed before `keep` commits) they are never read again.
A lost «۱۱» is an opt-out the customer sent and we never recorded: the next reminder goes out.

KavenegarGateway.receive now reads the already-read replies again after a lost answer (keeping
them is idempotent); this is the regression test."""

import pytest

from app.messaging.fake_kavenegar import DEFAULT_LINE, FakeKavenegar
from app.messaging.gateway import GatewayError, KavenegarGateway
from app.messaging.kavenegar import KavenegarClient

KEY = "inbound-test-key-0123"


def test_an_opt_out_whose_receive_answer_was_lost_is_read_again():
    with FakeKavenegar(api_key=KEY) as fake:
        gateway = KavenegarGateway(KavenegarClient(KEY, base_url=fake.base_url, read_timeout=1),
                                   sender=DEFAULT_LINE)
        fake.push_inbound("09121234567", "۱۱")
        fake.drop_next("sms/receive", after_work=True)  # read (marked read), answer lost
        with pytest.raises(GatewayError):
            gateway.receive()

        replies = gateway.receive()

        assert [(r.sender, r.text) for r in replies] == [("09121234567", "۱۱")]
