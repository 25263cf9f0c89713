"""What every SMS provider's fake and adapter must let the conformance suite do
(tests/messaging/test_conformance.py): one harness per provider, speaking to its fake in the
provider's own terms (its delivery codes, its credit unit, its inbox), so the scenarios
themselves are the same for all."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Protocol

from app.messaging.gateway import Gateway
from app.messaging.kavenegar import KavenegarClient

LINE = "10004346"


class Harness(Protocol):
    name: str
    gateway: Gateway
    chunk: int  # the most messages one bulk call of the provider takes

    def sent(self) -> list[tuple[str, str]]:
        """(receptor as E.164, text) of every message the provider took, in order."""

    def refuse_number(self, receptor: str) -> None:
        """The provider refuses this number as invalid from now on."""

    def no_credit(self) -> None:
        """Every send from now on is refused for want of credit."""

    def lose_next_send(self, *, after_work: bool) -> None:
        """The next bulk send's connection closes unanswered, before or after the work."""

    def deliver(self, receptor: str, outcome: str) -> None:
        """Final state of messages to `receptor`: "delivered", "failed" or "blacklisted"."""

    def push_inbound(self, sender: str, text: str) -> None:
        """A reply from `sender` (E.164) to the store's line."""


@dataclass
class KavenegarHarness:
    fake: object
    gateway: Gateway
    name: str = "kavenegar"
    chunk: int = 200

    _OUTCOMES = {"delivered": 10, "failed": 11, "blacklisted": 14}

    def sent(self) -> list[tuple[str, str]]:
        return [(m.receptor, m.message) for m in self.fake.messages]

    def refuse_number(self, receptor: str) -> None:
        self.fake.invalid_receptors.add(receptor)

    def no_credit(self) -> None:
        self.fake.credit = 0

    def lose_next_send(self, *, after_work: bool) -> None:
        self.fake.drop_next("sms/sendarray", after_work=after_work)

    def deliver(self, receptor: str, outcome: str) -> None:
        self.fake.set_outcome(self._OUTCOMES[outcome], receptor=receptor)

    def push_inbound(self, sender: str, text: str) -> None:
        self.fake.push_inbound(sender, text, line=LINE)


@contextmanager
def kavenegar() -> Iterator[KavenegarHarness]:
    from app.messaging.fake_kavenegar import FakeKavenegar
    from app.messaging.gateway import KavenegarGateway

    with FakeKavenegar(api_key="conformance-kavenegar-key") as fake:
        client = KavenegarClient("conformance-kavenegar-key", base_url=fake.base_url,
                                 connect_timeout=2, read_timeout=2)
        yield KavenegarHarness(fake, KavenegarGateway(client, sender=LINE))
        client.close()


@dataclass
class SmsIrHarness:
    fake: object
    gateway: Gateway
    name: str = "smsir"
    chunk: int = 100

    _OUTCOMES = {"delivered": 1, "failed": 2, "blacklisted": 7}

    def sent(self) -> list[tuple[str, str]]:
        return [(m.mobile, m.text) for m in self.fake.messages]

    def refuse_number(self, receptor: str) -> None:
        self.fake.invalid_mobiles.add(receptor[-10:])

    def no_credit(self) -> None:
        self.fake.credit = 0

    def lose_next_send(self, *, after_work: bool) -> None:
        self.fake.drop_next("send/likeToLike", after_work=after_work)

    def deliver(self, receptor: str, outcome: str) -> None:
        self.fake.set_outcome(self._OUTCOMES[outcome], mobile=receptor)

    def push_inbound(self, sender: str, text: str) -> None:
        self.fake.push_inbound(sender, text)


@contextmanager
def smsir() -> Iterator[SmsIrHarness]:
    from app.messaging.fake_smsir import DEFAULT_LINE, FakeSmsIr
    from app.messaging.smsir import SmsIrClient
    from app.messaging.smsir_gateway import SmsIrGateway

    with FakeSmsIr(api_key="conformance-smsir-key") as fake:
        client = SmsIrClient("conformance-smsir-key", base_url=f"{fake.base_url}/v1",
                             connect_timeout=2, read_timeout=2)
        yield SmsIrHarness(fake, SmsIrGateway(client, sender=DEFAULT_LINE, rial_per_credit=10))
        client.close()


@dataclass
class IpPanelHarness:
    fake: object
    gateway: Gateway
    name: str = "ippanel"
    chunk: int = 100

    _OUTCOMES = {"delivered": 2, "failed": 3, "blacklisted": 4}  # IPPanel's message_status

    def sent(self) -> list[tuple[str, str]]:
        return [(r.receptor, r.text) for b in self.fake.bulks for r in b.recipients]

    def refuse_number(self, receptor: str) -> None:
        self.fake.invalid_receptors.add(receptor)

    def no_credit(self) -> None:
        self.fake.credit = 0

    def lose_next_send(self, *, after_work: bool) -> None:
        self.fake.drop_next("peer_to_peer", after_work=after_work)

    def deliver(self, receptor: str, outcome: str) -> None:
        self.fake.set_outcome(self._OUTCOMES[outcome], receptor=receptor)

    def push_inbound(self, sender: str, text: str) -> None:
        from app.messaging.fake_ippanel import DEFAULT_LINE

        self.fake.push_inbound(sender, text, line=DEFAULT_LINE)


@contextmanager
def ippanel() -> Iterator[IpPanelHarness]:
    from app.messaging.fake_ippanel import DEFAULT_LINE, FakeIpPanel
    from app.messaging.ippanel import IpPanelClient
    from app.messaging.ippanel_gateway import IpPanelGateway

    with FakeIpPanel(api_key="conformance-ippanel-key") as fake:
        client = IpPanelClient("conformance-ippanel-key", base_url=fake.base_url,
                               connect_timeout=2, read_timeout=2)
        yield IpPanelHarness(fake, IpPanelGateway(client, sender=DEFAULT_LINE))
        client.close()


@dataclass
class GhasedakHarness:
    fake: object
    gateway: Gateway
    name: str = "ghasedak"
    chunk: int = 100

    _OUTCOMES = {"delivered": 14, "failed": 16, "blacklisted": 12}  # the SDK's state codes

    def sent(self) -> list[tuple[str, str]]:
        return [(m.receptor, m.message) for m in self.fake.messages]

    def refuse_number(self, receptor: str) -> None:
        from app.messaging.ghasedak_gateway import local_number

        self.fake.invalid_receptors.add(local_number(receptor))

    def no_credit(self) -> None:
        self.fake.credit = 0

    def lose_next_send(self, *, after_work: bool) -> None:
        self.fake.drop_next("SendPairToPairSMS", after_work=after_work)

    def deliver(self, receptor: str, outcome: str) -> None:
        from app.messaging.ghasedak_gateway import local_number

        self.fake.set_outcome(self._OUTCOMES[outcome], receptor=local_number(receptor))

    def push_inbound(self, sender: str, text: str) -> None:
        from app.messaging.ghasedak_gateway import local_number

        self.fake.push_inbound(local_number(sender), text)


@contextmanager
def ghasedak() -> Iterator[GhasedakHarness]:
    from app.messaging.fake_ghasedak import DEFAULT_LINE, FakeGhasedak
    from app.messaging.ghasedak import GhasedakClient
    from app.messaging.ghasedak_gateway import GhasedakGateway

    with FakeGhasedak(api_key="conformance-ghasedak-key") as fake, GhasedakClient(
            "conformance-ghasedak-key", base_url=fake.base_url, connect_timeout=2,
            read_timeout=2) as client:
        yield GhasedakHarness(fake, GhasedakGateway(client, sender=DEFAULT_LINE))


@dataclass
class MeliPayamakHarness:
    fake: object
    gateway: Gateway
    name: str = "melipayamak"
    chunk: int = 100

    _OUTCOMES = {"delivered": 1, "failed": 2, "blacklisted": 35}  # receive/status codes

    def sent(self) -> list[tuple[str, str]]:
        return [(m.receptor, m.text) for m in self.fake.messages]

    def refuse_number(self, receptor: str) -> None:
        from app.messaging.melipayamak import local_number

        self.fake.invalid_receptors.add(local_number(receptor))

    def no_credit(self) -> None:
        self.fake.credit = 0

    def lose_next_send(self, *, after_work: bool) -> None:
        # A batch of different texts is a send/simple per message: every call of it is lost.
        for method in ("send/simple", "send/advanced"):
            self.fake.drop_next(method, after_work=after_work, times=self.chunk)

    def deliver(self, receptor: str, outcome: str) -> None:
        from app.messaging.melipayamak import local_number

        self.fake.set_outcome(self._OUTCOMES[outcome], receptor=local_number(receptor))

    def push_inbound(self, sender: str, text: str) -> None:
        from app.messaging.fake_melipayamak import DEFAULT_LINE
        from app.messaging.melipayamak import local_number

        self.fake.push_inbound(local_number(sender), text, line=DEFAULT_LINE)


@contextmanager
def melipayamak() -> Iterator[MeliPayamakHarness]:
    from app.messaging.fake_melipayamak import DEFAULT_LINE, FakeMeliPayamak
    from app.messaging.melipayamak import MeliPayamakClient
    from app.messaging.melipayamak_gateway import MeliPayamakGateway

    with FakeMeliPayamak(api_key="conformance-melipayamak-key") as fake, MeliPayamakClient(
            "conformance-melipayamak-key", base_url=fake.base_url, connect_timeout=2,
            read_timeout=2) as client:
        yield MeliPayamakHarness(fake, MeliPayamakGateway(client, sender=DEFAULT_LINE))


PROVIDERS = {"kavenegar": kavenegar, "smsir": smsir, "ippanel": ippanel, "ghasedak": ghasedak,
             "melipayamak": melipayamak}
