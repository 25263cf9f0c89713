"""The campaign page shows the campaign against its control group, and sets the control share."""

from datetime import datetime, timedelta

from app.campaigns.models import Campaign
from app.dashboard.views import FORM_REFUSED
from app.db import unit_of_work
from app.digits import persian_digits
from tests.dashboard.seed import TEHRAN
from tests.reports.trial import buy, enroll_many


def test_the_campaign_page_shows_the_lift_in_persian(panel, seeded, factory):
    """900 treated of whom 270 bought, 100 in control of whom 10 did: 20 points more, give or
    take 1.96 × √(0.3 × 0.7 / 900 + 0.1 × 0.9 / 100) = 6.6 points: × 900, between 121 and 239
    orders more."""
    campaign_id = seeded.campaign_ids["win_back"]  # no history of its own in the seed
    anchor = datetime.now(TEHRAN) - timedelta(days=10)
    with unit_of_work(factory) as session:
        session.get(Campaign, campaign_id).control_percent = 10
        people = enroll_many(session, seeded.store.id, campaign_id,
                             [i % 10 == 0 for i in range(1000)], anchor=anchor,
                             serial=2_000_000)
        bought = {True: 0, False: 0}
        for n, (_, contact_id, control) in enumerate(people):
            if bought[control] < (10 if control else 270):
                bought[control] += 1
                buy(session, seeded.store.id, contact_id, anchor + timedelta(days=1), 1_000_000,
                    wc_id=70_000 + n)
    page = panel.get(f"/panel/campaigns/{campaign_id}")
    assert page.status_code == 200
    box = page.text[page.text.index('id="lift"'):]
    assert "اثر واقعی کمپین" in box and "گروه کنترل (بی پیامک)" in box
    assert ">۹۰۰<" in box and ">۱۰۰<" in box and ">۲۷۰<" in box and ">۱۰<" in box
    assert ">۳۰٪<" in box and ">۱۰٪<" in box  # 270 / 900 and 10 / 100
    assert "بین ۱۲۱ و ۲۳۹ سفارش بیشتر" in box
    assert "این کمپین واقعاً فروش آورده است" in box
    assert 'value="۱۰"' in page.text  # the form shows the share in Persian digits


def test_a_campaign_without_control_says_it_is_off(panel, seeded):
    page = panel.get(f"/panel/campaigns/{seeded.campaign_ids['post_purchase_survey']}")
    box = page.text[page.text.index('id="lift"'):]
    assert "گروه کنترل این کمپین خاموش است" in box and 'id="lift-table"' not in box


def test_the_settings_form_sets_the_control_share(panel, seeded, factory):
    campaign_id = seeded.campaign_ids["abandoned_cart"]
    url = f"/panel/campaigns/{campaign_id}"
    assert 'id="control_percent"' in panel.get(url).text
    saved = panel.post(url, {"name": "سبد رهاشده", "trigger_value": "۱", "trigger_unit": "hours",
                             "control_percent": "۱۵"})
    assert saved.status_code == 303
    with factory() as session:
        assert session.get(Campaign, campaign_id).control_percent == 15
    for bad in ("۶۰", "-1", "ده"):
        refused = panel.post(url, {"name": "سبد رهاشده", "trigger_value": "۱",
                                   "trigger_unit": "hours", "control_percent": bad})
        assert refused.status_code == FORM_REFUSED and f'value="{persian_digits(bad)}"' in refused.text
        assert "عددی از ۰ تا ۵۰" in refused.text or "عدد صحیح" in refused.text
        with factory() as session:
            assert session.get(Campaign, campaign_id).control_percent == 15
