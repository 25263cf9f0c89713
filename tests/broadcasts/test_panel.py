"""The broadcasts pages («ارسال گروهی»): a merchant writes one SMS for a segment in a Persian
form (any digits, a Jalali date), sees its cost, sends themselves a test, schedules it, and
reads its report; a wrong field is explained next to it and nothing is saved."""

import re
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select

from app.broadcasts.models import Broadcast
from app.digits import persian_digits
from app.http import tls
from app.messaging.gateway import ConsoleGateway
from app.messaging.models import ConsoleSms
from app.scheduler import tick
from tests.campaigns.shop import tehran
from tests.helpers import bearer
from tests.segments.scripted import NOW, scripted_store


@pytest.fixture
def api(live_server, seeded):
    with httpx.Client(verify=tls(), base_url=live_server.url, timeout=10,
                      headers=bearer(seeded.store)) as client:
        yield client


def field_error(html: str, field: str) -> str:
    found = re.search(rf'id="{field}"[^>]*>(?:</select>|</textarea>)?.*?'
                      r'<p class="field-error" role="alert">([^<]+)', html, re.S)
    assert found, f"no problem next to {field}"
    return found[1].strip()


def test_draft_estimate_test_schedule_and_report(panel, seeded, factory, clock, api):
    customers = scripted_store(factory, clock, seeded.store.id, seeded.other.id)
    members = sorted(c.phone for c in customers if c.reachable and c.orders >= 3)
    segment = api.post("/api/v1/segments", json={
        "name": "وفاداران", "definition": {"purchases": {"orders_min": 3}}}).json()
    listing = panel.get("/panel/broadcasts")
    assert "هنوز ارسال گروهی‌ای نساخته‌اید" in listing.text and "ارسال گروهی" in listing.text
    form = panel.get("/panel/broadcasts/new").text
    assert f"وفاداران ({persian_digits(len(members))} نفر اکنون)" in form

    form = {"name": "حراج یلدا", "segment_id": str(segment["id"]),
            "template": '{{ first_name or "مشتری" }} عزیز، حراج {{ store_name }}: {{ link }}',
            "date": "۱۴۰۵/۰۹/۱۰", "time": "۱۳:۰۰", "within_hours": "۲۴", "budget": "۹۰۰٬۰۰۰"}
    wrong = panel.post("/panel/broadcasts/new", form | {"date": "فردا", "budget": "-۱"})
    assert field_error(wrong.text, "date").startswith("تاریخ را به شکل")
    assert field_error(wrong.text, "budget").startswith("عددی از")
    with factory() as session:
        assert session.scalars(select(Broadcast)).all() == []

    saved = panel.post("/panel/broadcasts/new", form)
    assert saved.status_code == 303
    with factory() as session:
        broadcast = session.scalars(select(Broadcast)).one()
    assert broadcast.scheduled_at == tehran("2026-12-01T13:00")  # ۱۰ آذر ۱۴۰۵
    assert broadcast.max_cost == 9_000_000  # toman typed, Rial kept
    page = panel.get(saved.headers["location"]).text
    assert "پیش‌نویس" in page and 'value="۱۴۰۵/۰۹/۱۰"' in page

    estimate = panel.post(f"/panel/broadcasts/{broadcast.id}/estimate").text
    assert f'id="estimate-recipients">{persian_digits(len(members))} نفر<' in estimate
    sent = panel.post(f"/panel/broadcasts/{broadcast.id}/test-send", {"phone": "۰۹۱۲۹۹۹۸۸۷۷"})
    assert sent.status_code == 303
    with factory() as session:
        assert session.scalars(select(ConsoleSms.receptor)
                               .where(ConsoleSms.receptor == "+989129998877")).all()

    scheduled = panel.post(f"/panel/broadcasts/{broadcast.id}/schedule")
    assert scheduled.status_code == 303 and scheduled.headers["location"].endswith("ok=scheduled")
    gateway = ConsoleGateway(factory)
    tick(factory, gateway, tehran("2026-12-01T13:00"))
    tick(factory, gateway, NOW + timedelta(hours=23))  # those the frequency cap moved
    with factory() as session:
        got = sorted(session.scalars(select(ConsoleSms.receptor).where(
            ConsoleSms.receptor.not_in(["+989129998877", seeded.store.owner_phone]))))
    assert got == members
    report = panel.get(f"/panel/broadcasts/{broadcast.id}").text
    assert f'id="report-sent">{persian_digits(len(members))}<' in report
    assert "ارسال شد" in panel.get("/panel/broadcasts").text


def test_cancel_from_the_panel(panel, seeded, factory, clock, api):
    clock.set(tehran("2026-12-01T22:00"))
    segment = api.post("/api/v1/segments", json={"name": "همه"}).json()
    b = api.post("/api/v1/broadcasts", json={"name": "شب", "segment_id": segment["id"],
                                             "template": "حراج {{ link }}"}).json()
    assert api.post(f"/api/v1/broadcasts/{b['id']}/schedule").status_code == 200
    page = panel.get(f"/panel/broadcasts/{b['id']}").text
    assert 'id="cancel-broadcast"' in page and 'id="broadcast-form"' not in page
    done = panel.post(f"/panel/broadcasts/{b['id']}/cancel")
    assert done.status_code == 303
    assert "لغو شد" in panel.get(f"/panel/broadcasts/{b['id']}").text
    assert api.get(f"/api/v1/broadcasts/{b['id']}").json()["status"] == "cancelled"
