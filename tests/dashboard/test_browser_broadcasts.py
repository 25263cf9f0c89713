"""A broadcast in real Chromium at a phone's width (390×844): a draft's page with its cost and
three members' texts, a test SMS, scheduling; after it went out, its report and the list. The
pages stay within the screen, right to left."""

from datetime import timedelta

import httpx
from sqlalchemy import select

from app.digits import persian_digits
from app.http import tls
from app.messaging.gateway import ConsoleGateway
from app.messaging.models import ConsoleSms
from app.scheduler import tick
from tests.campaigns.shop import tehran
from tests.dashboard.test_browser import PHONE, merchant_at  # noqa: F401
from tests.helpers import bearer
from tests.segments.scripted import NOW, scripted_store


def test_a_merchant_sends_a_broadcast_from_a_phone(merchant_at, seeded, factory, clock,  # noqa: F811
                                                   live_server, screenshots, database_url):
    customers = scripted_store(factory, clock, seeded.store.id, seeded.other.id)
    members = sorted(c.phone for c in customers if c.reachable and c.orders >= 3)
    with httpx.Client(verify=tls(), base_url=live_server.url, timeout=10,
                      headers=bearer(seeded.store)) as api:
        segment = api.post("/api/v1/segments", json={
            "name": "وفاداران", "definition": {"purchases": {"orders_min": 3}}}).json()
        draft = api.post("/api/v1/broadcasts", json={
            "name": "حراج یلدا", "segment_id": segment["id"],
            "scheduled_at": "2026-12-01T13:00:00+03:30",
            "template": '{{ first_name or "مشتری" }} عزیز، حراج یلدای {{ store_name }}: '
                        '{{ link }}'}).json()
    folder = screenshots / database_url.split(":")[0].split("+")[0]
    folder.mkdir(exist_ok=True)

    merchant = merchant_at(PHONE)
    page = merchant.go(f"/panel/broadcasts/{draft['id']}")
    page.click("#estimate")
    page.wait_for_selector("#estimate-recipients")
    assert page.inner_text("#estimate-recipients") == f"{persian_digits(len(members))} نفر"
    assert page.locator("#member-texts .member-text").count() == 3
    page.fill("#phone", "۰۹۱۲۹۹۹۸۸۷۷")
    page.click("#send-test")
    page.wait_for_load_state()
    with factory() as session:
        assert session.scalars(select(ConsoleSms.receptor)
                               .where(ConsoleSms.receptor == "+989129998877")).all()
    assert merchant.layout_problems() == []
    page.screenshot(path=folder / "broadcast-draft-phone.png", full_page=True)

    page.click("#schedule")
    page.wait_for_url("**ok=scheduled*")
    gateway = ConsoleGateway(factory)
    tick(factory, gateway, tehran("2026-12-01T13:00"))
    tick(factory, gateway, NOW + timedelta(hours=23))  # those the frequency cap moved
    page = merchant.go(f"/panel/broadcasts/{draft['id']}")
    assert page.inner_text("#report-sent") == persian_digits(len(members))
    assert merchant.layout_problems() == []
    page.screenshot(path=folder / "broadcast-report-phone.png", full_page=True)
    page = merchant.go("/panel/broadcasts")
    assert "حراج یلدا" in page.inner_text("main")
    assert merchant.layout_problems() == []
    page.screenshot(path=folder / "broadcasts-phone.png", full_page=True)
