"""The prepaid ledger through its APIs: the operator tops up, the merchant reads."""

import pytest

from app.db import unit_of_work
from tests.helpers import create_store


def test_top_up_and_read_the_ledger(admin_client, client, store):
    first = admin_client.post(f"/platform/v1/stores/{store.id}/credit",
                              json={"amount": 5_000_000, "note": "واریز"})
    second = admin_client.post(f"/platform/v1/stores/{store.id}/credit", json={"amount": 1000})
    assert (first.status_code, second.status_code) == (201, 201)
    ledger = client.get("/api/v1/billing", headers={"Authorization": f"Bearer {store.api_key}"})
    assert ledger.status_code == 200
    body = ledger.json()
    assert body["balance"] == 5_001_000 and body["metered"] is False
    assert [(e["kind"], e["amount"], e["balance_after"]) for e in body["entries"]] == [
        ("topup", 1000, 5_001_000), ("topup", 5_000_000, 5_000_000)]
    assert body["entries"][1]["note"] == "واریز"


def test_pages_of_the_ledger(admin_client, store):
    for amount in range(1, 6):
        admin_client.post(f"/platform/v1/stores/{store.id}/credit", json={"amount": amount})
    page = admin_client.get(f"/platform/v1/stores/{store.id}/ledger", params={"limit": 3}).json()
    rest = admin_client.get(f"/platform/v1/stores/{store.id}/ledger",
                            params={"limit": 3, "before_id": page["next_before_id"]}).json()
    assert [e["amount"] for e in page["entries"] + rest["entries"]] == [5, 4, 3, 2, 1]
    assert rest["next_before_id"] is None


@pytest.mark.parametrize("body", [{"amount": 0}, {"amount": -5}, {"amount": "lots"}, {},
                                  {"amount": 10**14}])
def test_bad_top_ups_change_nothing(admin_client, store, body):
    answer = admin_client.post(f"/platform/v1/stores/{store.id}/credit", json=body)
    assert answer.status_code == 422 and "error" in answer.json()
    ledger = admin_client.get(f"/platform/v1/stores/{store.id}/ledger").json()
    assert (ledger["balance"], ledger["entries"]) == (0, [])


def test_unknown_store_and_no_operator_token(admin_client, client, store):
    assert admin_client.post("/platform/v1/stores/999999/credit",
                             json={"amount": 5}).status_code == 404
    assert client.post(f"/platform/v1/stores/{store.id}/credit",
                       json={"amount": 5}).status_code == 401


def test_a_merchant_sees_only_its_own_ledger(admin_client, client, store, factory):
    with unit_of_work(factory) as session:
        other = create_store(session, name="دیگری", url="https://other.example")
    admin_client.post(f"/platform/v1/stores/{store.id}/credit", json={"amount": 700})
    mine = client.get("/api/v1/billing", headers={"Authorization": f"Bearer {other.api_key}"})
    assert mine.json()["balance"] == 0 and mine.json()["entries"] == []
