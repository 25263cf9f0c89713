"""Every code the panel can show a merchant has one Persian label in templates/dashboard/
_labels.html, enumerated from where the codes come from, not from a list kept here: the reasons a
message's column can hold, the statuses the campaign engine gives it, a WooCommerce order's
statuses (a skip's particulars) and the gateway's final delivery codes."""

import ast
import re
from pathlib import Path
from typing import get_args

import pytest

from app.admin.schemas import MESSAGE_STATUS
from app.campaigns.models import Message
from app.campaigns.presets import PRESETS
from app.campaigns.reasons import Reason
from app.campaigns.schemas import TRIGGER, CampaignCreate
from app.commerce import service as commerce
from app.dashboard.views import _env
from app.messaging.gateway import FINAL_STATUSES

ROOT = Path(__file__).resolve().parents[2]
# Names, not words: what a Persian label may say in Latin letters.
NAMES = {"SMS", "API"}


def labels(name: str) -> dict:
    return getattr(_env().get_template("_labels.html").module, name)


def message_statuses() -> set[str]:
    """The constants under «# Message statuses» in app/campaigns/models.py."""
    source = (ROOT / "app" / "campaigns" / "models.py").read_text(encoding="utf-8")
    block = source[source.index("# Message statuses"):].split("\n\n")[0]
    found = {node.value.value for node in ast.parse(block).body
             if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)}
    assert len(found) >= 7
    return found


def reasons_produced() -> set[str]:
    """Every Reason.X the app's code names (what it can write), read from its source."""
    found = set()
    for path in (ROOT / "app").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                    and node.value.id == "Reason"):
                found.add(Reason[node.attr].value)
    return found


def latin_words(text: str) -> set[str]:
    return set(re.findall(r"[A-Za-z][A-Za-z_]*", text)) - NAMES


def persian(text: str) -> bool:
    return bool(re.search("[\u0600-\u06ff]", text))


def test_every_reason_a_message_can_hold_has_a_persian_label():
    column = set(Message.__table__.c.reason.type.enums)  # Python refuses any other value
    assert column == {r.value for r in Reason}
    assert reasons_produced() <= column
    reasons = labels("REASONS")
    assert set(reasons) == column
    for code, label in reasons.items():
        assert persian(label) and not latin_words(label), (code, label)


def test_every_message_status_has_a_persian_label():
    statuses = message_statuses()
    assert set(MESSAGE_STATUS.__args__) == statuses
    shown = labels("STATUS")
    assert set(shown) == statuses
    for code, label in shown.items():
        assert persian(label) and not latin_words(label), (code, label)


def test_every_campaign_kind_is_named_in_persian_by_its_preset():
    kinds = set(CampaignCreate.model_fields["kind"].annotation.__args__)
    assert kinds <= set(PRESETS), kinds - set(PRESETS)
    for kind in kinds:
        assert persian(PRESETS[kind].name) and not latin_words(PRESETS[kind].name), kind


def test_every_order_status_a_skip_can_name_has_a_persian_label():
    known = (commerce.PURCHASED_STATUSES | commerce.NEVER_PURCHASED_STATUSES
             | commerce.UNPAID_STATUSES)
    shown = labels("ORDER_STATUS")
    assert set(shown) == known
    assert all(persian(label) and not latin_words(label) for label in shown.values())


def test_every_final_delivery_code_has_a_persian_label():
    shown = labels("DELIVERY")
    assert set(shown) == FINAL_STATUSES
    assert all(persian(label) and not latin_words(label) for label in shown.values())


def test_every_trigger_a_campaign_or_preset_can_have_says_in_persian_when_it_starts():
    shown = labels("TRIGGERS")
    known = set(get_args(TRIGGER)) | {p.trigger for p in PRESETS.values()}
    assert known <= set(shown), known - set(shown)
    for code, label in shown.items():
        # "{duration}" is filled in: the trigger's minutes, «۱ ساعت».
        assert label.startswith("وقتی ") and not latin_words(label.replace("{duration}", "")), \
            (code, label)


@pytest.mark.parametrize("code", ["date_invalid", "range_order", "search_too_short",
                                  "search_too_long"])
def test_the_activity_searchs_problems_are_persian(code):
    label = labels("ERRORS")[code]
    assert persian(label) and not latin_words(label)


def test_the_latin_word_check_sees_a_word():
    """The check above would catch an English word in a label."""
    assert latin_words("الگوی lookup این مرحله") == {"lookup"}
    assert latin_words("پیامک SMS و API") == set()
