"""Previews on real customers in the panel: «پیش‌نمایش» on a campaign's conditions form shows who
of the last days' orders they would let in (nothing saved), and a broadcast's page shows its
text as three members of its segment would read it, phones masked."""

import re

import pytest
from sqlalchemy import select

from app.campaigns.models import Campaign
from app.contacts.models import Contact
from app.db import unit_of_work
from app.digits import persian_digits
from tests.campaigns.test_audience import B, masked, orders, paused  # noqa: F401
from tests.dashboard.test_panel import text_of
from tests.dashboard.test_segments_page import field_error

EMPTY = {"segment_id": "", "products": "", "categories": "", "total_min": "", "total_max": "",
         "order": "", "audience_days": ""}


def rows_of(html: str) -> list[list[str]]:
    table = re.search(r'<table id="audience-first">(.*?)</table>', html, re.S)[1]
    return [[re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>",
                                                                        row, re.S)]
            for row in re.findall(r"<tr>(.*?)</tr>", table.split("</thead>")[1], re.S)]


@pytest.mark.usefixtures("orders")
def test_the_conditions_preview_counts_the_orders_they_would_take(anonymous, store, api,
                                                                   factory, other_store):
    anonymous.sign_in(store)
    thanks = paused(api, "thank_you")
    url = f"/panel/campaigns/{thanks['id']}/conditions"
    page = anonymous.get(f"/panel/campaigns/{thanks['id']}")
    assert 'id="preview-audience"' in page.text and 'value="۳۰"' in page.text

    shown = anonymous.post(url, EMPTY | {"order": "repeat", "action": "audience"})
    assert shown.status_code == 200
    summary = text_of(shown)
    assert ("در ۳۰ روز گذشته ۳ سفارش این کمپین را شروع می‌کرد؛ از این‌ها ۱ مورد با این شرط‌ها "
            "وارد می‌شد.") in summary
    assert rows_of(shown.text) == [["بهار", persian_digits(masked(B)), "۷۰۵", "۹۰٬۰۰۰ تومان",
                                    rows_of(shown.text)[0][4]]]
    assert 'value="repeat" checked' in shown.text  # the form keeps what was typed
    with factory() as session:
        assert session.get_one(Campaign, thanks["id"]).conditions == {}  # nothing saved

    wider = anonymous.post(url, EMPTY | {"total_min": "۸۰٬۰۰۰", "audience_days": "۴۵",
                                         "action": "audience"})
    assert "در ۴۵ روز گذشته ۴ سفارش" in text_of(wider)
    # 703 (600,000 toman, the shop's default) is within 45 days; 701 (60,000) is under the minimum.
    assert [row[2] for row in rows_of(wider.text)] == ["۷۰۵", "۷۰۲", "۷۰۳"]

    wrong = anonymous.post(url, EMPTY | {"audience_days": "صد", "action": "audience"})
    assert field_error(wrong.text, "audience_days") == "یک عدد صحیح بنویسید (مثلاً ۳)."
    assert 'id="audience-first"' not in wrong.text
    too_many = anonymous.post(url, EMPTY | {"audience_days": "۴۰۰", "action": "audience"})
    assert field_error(too_many.text, "audience_days") == "عددی از ۱ تا ۳۶۵ بنویسید."
    with unit_of_work(factory) as session:
        theirs = session.scalars(select(Campaign.id).where(
            Campaign.store_id == other_store.id)).first()
    assert anonymous.post(f"/panel/campaigns/{theirs}/conditions",
                          EMPTY | {"action": "audience"}).status_code == 404


def test_a_broadcast_shows_its_text_for_three_members(anonymous, store, api, factory):
    with unit_of_work(factory) as session:
        session.add_all([Contact(store_id=store.id, phone=f"+98912111000{i}", first_name=name)
                         for i, name in enumerate(["مینا", "نیما", "", "رضا"], start=1)])
    segment = api.post("/api/v1/segments", json={"name": "همه"}).json()
    made = api.post("/api/v1/broadcasts", json={
        "name": "حراج", "segment_id": segment["id"],
        "template": '{{ first_name or "مشتری" }} عزیز، حراج {{ store_name }}: {{ link }}'})
    anonymous.sign_in(store)
    page = anonymous.get(f"/panel/broadcasts/{made.json()['id']}")
    block = re.search(r'<div id="member-texts">(.*?)</div>\s*<div class="row">', page.text,
                      re.S)[1]
    assert "متن پیامک برای ۳ نفر از این گروه" in block
    texts = re.findall(r'<p class="sms-text" dir="rtl">([^<]*)</p>', block)
    phones = re.findall(r'<span dir="ltr">([^<]*)</span>', block)
    # Newest contacts first (the segment's order): رضا, the nameless one, نیما.
    assert [t.split(" عزیز")[0] for t in texts] == ["رضا", "مشتری", "نیما"]
    assert phones == [persian_digits("+989*****0004"), persian_digits("+989*****0003"),
                      persian_digits("+989*****0002")]
    assert "+989121110004" not in page.text  # masked everywhere on the page
