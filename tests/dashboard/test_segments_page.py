"""The segments pages («گروه‌ها»): a merchant describes a group of customers in a Persian form,
previews its size and first members, saves, changes and deletes it; a wrong field is explained
next to it and nothing is saved."""

import re

import httpx
import pytest

from app.db import unit_of_work
from app.digits import persian_digits, persian_number
from app.http import tls
from app.messaging.persian import money
from app.stores.models import Store
from tests.helpers import bearer
from tests.segments.scripted import scripted_store

FORM = {"name": "", "orders_min": "۲", "categories": "۱۵، ۱۶", "buyer": "",
        "clicked_within_days": "", "monetary_min": "٣"}


@pytest.fixture
def story(seeded, factory, clock):
    return scripted_store(factory, clock, seeded.store.id, seeded.other.id)


@pytest.fixture
def api(live_server, seeded):
    with httpx.Client(verify=tls(), base_url=live_server.url, timeout=10,
                      headers=bearer(seeded.store)) as client:
        yield client


def size_by_api(api, definition: dict) -> int:
    return api.post("/api/v1/segments/preview", json={"definition": definition}).json()["size"]


def field_error(html: str, field: str) -> str:
    """The Persian problem shown right after the field's input (and its hint)."""
    found = re.search(rf'id="{field}"[^>]*>\s*(?:<p class="hint"[^>]*>[^<]*</p>\s*)?'
                      r'<p class="field-error" role="alert">([^<]+)', html)
    assert found, f"no problem next to {field}"
    return found[1].strip()


def test_preview_save_change_and_delete(panel, story, api):
    assert "هنوز گروهی نساخته‌اید" in panel.get("/panel/segments").text
    panel.get("/panel/segments/new")
    definition = {"purchases": {"orders_min": 2, "categories": [15, 16]},
                  "rfm": {"monetary_min": 3}}
    expected = size_by_api(api, definition)
    assert 0 < expected < 60

    preview = panel.post("/panel/segments/new", FORM | {"action": "preview"})
    assert preview.status_code == 200
    assert f'id="segment-size">{persian_digits(expected)} نفر<' in preview.text
    assert preview.text.count('<tr>', preview.text.index('id="segment-sample"')) == min(
        expected, 20) + 1  # the header's row too
    assert 'value="۱۵، ۱۶"' in preview.text  # what was typed stays in the form
    assert "هنوز گروهی نساخته‌اید" in panel.get("/panel/segments").text  # nothing saved

    unnamed = panel.post("/panel/segments/new", FORM | {"action": "save"})
    assert field_error(unnamed.text, "name") == "این خانه را پر کنید."

    saved = panel.post("/panel/segments/new", FORM | {"action": "save", "name": "وفاداران"})
    assert saved.status_code == 303
    where = saved.headers["location"]
    assert re.fullmatch(r"/panel/segments/\d+\?ok=saved", where)
    shown = panel.get(where).text
    assert "گروه ذخیره شد." in shown and 'value="۲"' in shown and 'value="۳"' in shown
    assert f'id="segment-size">{persian_digits(expected)} نفر<' in shown
    listed = panel.get("/panel/segments").text
    assert "وفاداران" in listed and f'class="segment-size">{persian_digits(expected)}<' in listed
    segment_id = where.split("/")[-1].split("?")[0]
    saved_by_api = api.get(f"/api/v1/segments/{segment_id}").json()
    assert saved_by_api["name"] == "وفاداران"
    assert saved_by_api["definition"]["purchases"]["categories"] == [15, 16]

    changed = panel.post(f"/panel/segments/{segment_id}",
                         FORM | {"action": "save", "name": "همه", "orders_min": "",
                                 "categories": "", "monetary_min": ""})
    assert changed.status_code == 303
    assert f'id="segment-size">{persian_digits(size_by_api(api, {}))} نفر<' in panel.get(
        f"/panel/segments/{segment_id}").text
    assert api.get(f"/api/v1/segments/{segment_id}").json()["name"] == "همه"

    deleted = panel.post(f"/panel/segments/{segment_id}/delete", {})
    assert deleted.headers["location"] == "/panel/segments?ok=deleted"
    assert "گروه حذف شد." in panel.get("/panel/segments?ok=deleted").text
    assert api.get(f"/api/v1/segments/{segment_id}").status_code == 404


def test_a_wrong_field_is_explained_next_to_it_and_nothing_is_saved(panel, seeded, api):
    panel.get("/panel/segments/new")
    refused = panel.post("/panel/segments/new", {
        "action": "save", "name": "نادرست", "orders_min": "۵", "orders_max": "۲",
        "last_order_within_days": "-۱", "rating_min": "۹", "products": "چای",
        "spent_min": "دو میلیون"})
    assert refused.status_code == 200
    html = refused.text
    assert field_error(html, "orders_max").startswith("این مقدار نباید از «حداقل» کمتر باشد")
    assert field_error(html, "last_order_within_days") == "عددی از ۰ تا ۳۶٬۵۰۰ بنویسید."
    assert field_error(html, "rating_min") == "عددی از ۱ تا ۵ بنویسید."
    assert field_error(html, "products").startswith("فقط شناسه‌های عددی ووکامرس")
    assert field_error(html, "spent_min").startswith("یک مبلغ بنویسید")
    assert 'value="دو میلیون"' in html
    assert api.get("/api/v1/segments").json()["items"] == []


def test_another_stores_segment_is_not_found(panel, seeded, live_server):
    with httpx.Client(verify=tls(), base_url=live_server.url, timeout=10,
                      headers=bearer(seeded.other)) as other:
        theirs = other.post("/api/v1/segments", json={"name": "مال دیگری"}).json()["id"]
    panel.get("/panel/segments")
    assert panel.get(f"/panel/segments/{theirs}").status_code == 404
    assert panel.post(f"/panel/segments/{theirs}", {"action": "save", "name": "x"}
                      ).status_code == 404
    assert panel.post(f"/panel/segments/{theirs}/delete", {}).status_code == 404
    assert panel.get("/panel/segments/abc").status_code == 404


def figure(html: str, name: str) -> str:
    found = re.search(rf'id="seg-{name}"><span class="label">[^<]+</span><b>([^<]+)</b>', html)
    assert found, f"no figure {name}"
    return found[1]


def test_a_saved_segment_shows_its_report_for_the_chosen_period(panel, story, api):
    segment = api.post("/api/v1/segments", json={
        "name": "تکراری‌ها", "definition": {"purchases": {"orders_min": 2}}}).json()
    report = api.get(f"/api/v1/segments/{segment['id']}/report",
                     params={"from": "2026-11-01", "to": "2026-11-30"}).json()
    assert report["messages"]["sent"] > 0 and report["purchases"]["orders"] > 0

    # The same month typed the way a merchant thinks of it: Jalali, Persian digits.
    html = panel.get(f"/panel/segments/{segment['id']}?from=۱۴۰۵/۰۸/۱۰&to=۱۴۰۵/۰۹/۰۹").text
    assert "از <b>۱۴۰۵/۰۸/۱۰</b> تا <b>۱۴۰۵/۰۹/۰۹</b> (۳۰ روز)" in html
    assert f"برای {persian_digits(report['size'])} نفری" in html
    assert figure(html, "sent") == persian_number(report["messages"]["sent"])
    assert figure(html, "messaged") == f"{persian_number(report['messaged'])} نفر"
    assert figure(html, "purchases") == persian_number(report["purchases"]["orders"])
    # Amounts in the store's unit: toman, with «٬» between thousands.
    assert figure(html, "purchase-revenue") == money(report["purchases"]["revenue"], "IRT")
    assert figure(html, "purchase-revenue").endswith(" تومان")
    assert figure(html, "cost") == money(report["messages"]["cost"], "IRT")

    # A preset chip, and a date that is none: a Persian problem beside the chooser, the
    # default period's figures, never an error page.
    week = panel.get(f"/panel/segments/{segment['id']}?days=7")
    assert week.status_code == 200 and "(۷ روز)" in week.text
    wrong = panel.get(f"/panel/segments/{segment['id']}?from=۱۴۰۵/۱۳/۰۱")
    assert wrong.status_code == 200 and "(۳۰ روز)" in wrong.text
    assert 'class="field-error" role="alert"' in wrong.text


def test_an_unsaved_segment_has_no_report(panel, story):
    html = panel.get("/panel/segments/new").text
    assert 'id="segment-report"' not in html


def test_a_name_already_used_is_explained_next_to_it(panel, seeded, api):
    api.post("/api/v1/segments", json={"name": "وفاداران"})
    panel.get("/panel/segments/new")
    refused = panel.post("/panel/segments/new", FORM | {"action": "save", "name": "وفاداران"})
    assert refused.status_code == 200
    assert field_error(refused.text, "name") == "گروهی با همین نام دارید؛ نام دیگری بنویسید."
    assert 'value="۱۵، ۱۶"' in refused.text  # what was typed stays
    other = api.post("/api/v1/segments", json={"name": "تازه‌ها"}).json()
    renamed = panel.post(f"/panel/segments/{other['id']}", FORM | {"action": "save",
                                                                  "name": "وفاداران"})
    assert field_error(renamed.text, "name").startswith("گروهی با همین نام دارید")
    assert sorted(s["name"] for s in api.get("/api/v1/segments").json()["items"]) == [
        "تازه‌ها", "وفاداران"]


def test_amounts_take_the_decimals_of_the_stores_currency(panel, story, api, factory, seeded):
    with unit_of_work(factory) as session:  # thousand toman: «۲۵۰۰٫۵» is 2,500,500 toman
        session.get_one(Store, seeded.store.id).currency = "IRHT"
    panel.get("/panel/segments/new")
    form = {"name": "خریداران بزرگ", "spent_min": "۲۵۰۰٫۵"}
    preview = panel.post("/panel/segments/new", form | {"action": "preview"})
    expected = size_by_api(api, {"purchases": {"spent_min": 2500.5}})
    assert expected == len([c for c in story if c.reachable and c.spent >= 2_500_500])
    assert f'id="segment-size">{persian_digits(expected)} نفر<' in preview.text
    assert "جمع خرید دست‌کم (هزار تومان)" in preview.text
    saved = panel.post("/panel/segments/new", form | {"action": "save"})
    assert saved.status_code == 303
    segment_id = saved.headers["location"].split("/")[-1].split("?")[0]
    assert api.get(f"/api/v1/segments/{segment_id}").json()["definition"]["purchases"][
        "spent_min"] == 2500.5
    assert 'value="۲۵۰۰٫۵"' in panel.get(f"/panel/segments/{segment_id}").text

    refused = panel.post("/panel/segments/new", form | {"action": "save", "name": "دیگر",
                                                       "spent_min": "۱٫۰۰۰۰۵"})
    assert field_error(refused.text, "spent_min") == (
        "مبلغ به واحد فروشگاه شما حداکثر ۴ رقم اعشار دارد.")
    with unit_of_work(factory) as session:
        session.get_one(Store, seeded.store.id).currency = "IRR"
    rial = panel.post("/panel/segments/new", form | {"action": "save", "name": "دیگر",
                                                    "spent_min": "۱۲٫۵"})
    assert field_error(rial.text, "spent_min") == "یک عدد صحیح بنویسید (مثلاً ۳)."
    assert [s["name"] for s in api.get("/api/v1/segments").json()["items"]] == [
        "خریداران بزرگ"]
