"""Pay as you go end to end: a store on the platform's account sends while its balance lasts,
is held at zero with nothing lost, resumes on a top-up, and gets refunds Kavenegar gives."""

from sqlalchemy import select

from app.billing.models import LedgerEntry
from app.stores.models import Store
from tests.campaigns.shop import tehran

PRICE = 1_500  # Rial per part


def on_platform(shop, admin_client, balance: int):
    """The platform's account at PRICE per part; the first cart reminder fits in one part."""
    shop.set_step("abandoned_cart", 1, template="سبدت منتظرته: {{ link }}")
    answer = admin_client.put(f"/platform/v1/stores/{shop.store.id}/sms-gateway",
                              json={"provider": "platform", "price_per_part": PRICE})
    assert answer.status_code == 200, answer.text
    if balance:
        admin_client.post(f"/platform/v1/stores/{shop.store.id}/credit", json={"amount": balance})


def ledger(factory) -> list[tuple[str, int]]:
    with factory() as session:
        return [(e.kind, e.amount) for e in session.scalars(
            select(LedgerEntry).order_by(LedgerEntry.id))]


def balance(factory) -> int:
    with factory() as session:
        return session.scalar(select(Store.balance))


def carts(shop, n: int, at):
    for i in range(n):
        shop.cart(f"payg-cart-{i:04d}", at, phone=f"0912100{i:04d}")


def test_sends_while_the_balance_lasts_then_holds_then_resumes_on_top_up(shop, admin_client,
                                                                         factory):
    on_platform(shop, admin_client, balance=2 * PRICE + 100)  # enough for two one-part SMS
    carts(shop, 3, tehran("2026-11-24T10:00"))
    shop.tick(tehran("2026-11-24T11:05"))
    assert len(shop.sms()) == 2
    firsts = [m for m in shop.messages() if m.due_at <= tehran("2026-11-24T11:05")]
    assert sorted(m.status for m in firsts) == ["delivered", "delivered", "held"]
    assert [m.reason for m in firsts if m.status == "held"] == ["no_balance"]
    assert ledger(factory) == [("topup", 2 * PRICE + 100), ("charge", -PRICE), ("charge", -PRICE)]
    assert balance(factory) == 100

    admin_client.post(f"/platform/v1/stores/{shop.store.id}/credit", json={"amount": 10_000})
    shop.tick(tehran("2026-11-24T11:10"))
    assert len(shop.sms()) == 3  # nothing lost: the held one went out
    assert balance(factory) == 100 + 10_000 - PRICE


def test_a_message_is_charged_once_per_part(shop, admin_client, factory):
    on_platform(shop, admin_client, balance=100_000)
    shop.set_step("abandoned_cart", 1, template="سبد " * 40 + "{{ link }}")  # three parts
    shop.cart("payg-long-001", tehran("2026-11-24T10:00"))
    shop.tick(tehran("2026-11-24T11:05"))
    [message] = [m for m in shop.messages() if m.sent_at is not None]
    assert message.parts == 3
    assert ledger(factory)[1:] == [("charge", -PRICE * message.parts)]
    shop.tick(tehran("2026-11-24T11:06"))
    assert len(ledger(factory)) == 2


def test_statuses_kavenegar_refunds_are_refunded(shop, admin_client, factory):
    """Through the platform's Kavenegar account (the fake, over HTTP): status 14 (the receiver
    blocks advertising lines) is refunded by Kavenegar, so the store gets its Rial back."""
    from app.messaging.fake_kavenegar import FakeKavenegar
    from app.messaging.gateway import Gateways

    on_platform(shop, admin_client, balance=100_000)
    with FakeKavenegar(api_key="platform-key-0001") as kavenegar:
        shop.gateway = Gateways(factory, kavenegar_base_url=kavenegar.base_url,
                                platform_key="platform-key-0001", platform_sender="2000660110")
        kavenegar.set_outcome(14)
        carts(shop, 1, tehran("2026-11-24T10:00"))
        shop.tick(tehran("2026-11-24T11:05"))
        [sent] = kavenegar.messages
        assert sent.sender == "2000660110"  # the platform's line, not the store's
        shop.tick(tehran("2026-11-24T11:15"))  # delivery reports are polled
        shop.tick(tehran("2026-11-24T11:25"))
    [message] = [m for m in shop.messages() if m.sent_at is not None]
    assert (message.status, message.delivery_status) == ("failed", 14)
    assert ledger(factory)[1:] == [("charge", -PRICE), ("refund", PRICE)]
    assert balance(factory) == 100_000


def test_a_store_with_its_own_account_is_never_charged(shop, factory):
    carts(shop, 1, tehran("2026-11-24T10:00"))
    shop.tick(tehran("2026-11-24T11:05"))
    assert len(shop.sms()) == 1 and ledger(factory) == []


def test_reports_take_a_pay_as_you_go_stores_costs_from_the_ledger(shop, admin_client, client,
                                                                   factory):
    on_platform(shop, admin_client, balance=100_000)
    carts(shop, 2, tehran("2026-11-24T10:00"))
    shop.tick(tehran("2026-11-24T11:05"))
    charged = -sum(amount for kind, amount in ledger(factory) if kind == "charge")
    assert charged == 2 * PRICE
    report = client.get("/api/v1/reports/summary", params={"from": "2026-11-20", "to": "2026-11-30"},
                        headers={"Authorization": f"Bearer {shop.store.api_key}"})
    assert report.status_code == 200, report.text
    body = report.json()
    assert body["cost_source"] == "ledger" and body["totals"]["cost"] == charged
