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


PROVIDERS = {"kavenegar": kavenegar}
