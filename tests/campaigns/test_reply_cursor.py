"""Replies read by cursor (IPPanel): a restarted process goes on from the reply the store
kept last, so a «۱۱» that came while no process read is not skipped, however many came."""

from sqlalchemy import func, select

from app.messaging.fake_ippanel import DEFAULT_LINE, FakeIpPanel
from app.messaging.gateway import Gateways
from app.messaging.inbound import read_replies
from app.messaging.models import InboundSms
from tests.campaigns.test_kavenegar_sending import DUE
from tests.helpers import bearer

KEY = "ippanel-cursor-key-0123456789"


def kept(factory) -> int:
    with factory() as session:
        return session.scalar(select(func.count()).select_from(InboundSms))


def test_a_restarted_process_reads_every_reply_since_the_last_one_kept(shop):
    with FakeIpPanel(api_key=KEY) as ippanel:
        def fresh_gateways():  # a new process: no cursor in memory
            return Gateways(shop.factory, kavenegar_base_url="http://127.0.0.1:9",
                            base_urls={"ippanel": ippanel.base_url}, read_timeout=2)

        answer = shop.client.patch("/api/v1/store", headers=bearer(shop.store), json={
            "sms_provider": "ippanel", "sms_api_key": KEY, "sms_sender": DEFAULT_LINE})
        assert answer.status_code == 200, answer.text
        ippanel.push_inbound("+989120000000", "سلام")
        assert read_replies(shop.factory, fresh_gateways(), DUE) == 1
        for i in range(1, 131):  # more than one page came while no process read
            ippanel.push_inbound(f"+98912{i:07d}", "۱۱")
        assert read_replies(shop.factory, fresh_gateways(), DUE) == 130
        assert kept(shop.factory) == 131
