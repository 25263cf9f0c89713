"""A store in lookup mode: its messages go out as Kavenegar-approved templates (verify/lookup)
through the fake over real HTTP; and the check the admin API runs on a step's lookup config."""

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from app.campaigns.lookup import LookupConfigError, validate_lookup
from app.campaigns.models import ABANDONED_CART, Campaign
from app.campaigns.service import set_campaign_active
from app.db import unit_of_work
from app.errors import DomainError
from app.messaging.kavenegar import ZWNJ
from app.stores.models import Store
from tests.campaigns.test_kavenegar_sending import AT, DUE
from tests.factories import store_settings

TEMPLATE = "cart-reminder"
APPROVED = "%token عزیز، سبد خریدت منتظرته: %token2 (%token10)"
CONFIG = {"template": TEMPLATE, "tokens": {"token": "{{ first_name or 'مشتری' }}",
                                           "token2": "{{ link }}", "token10": "{{ cart_items }}"}}


def set_lookup(shop, config, *, position: int = 1) -> None:
    shop.set_step(ABANDONED_CART, position, lookup=config)


@pytest.fixture
def lshop(kshop, kavenegar):
    """The Kavenegar shop in lookup mode, its first cart step set up, the template approved."""
    store_settings(kshop.factory, kshop.store.id, sms_template_mode="lookup")
    set_lookup(kshop, CONFIG)
    kavenegar.templates[TEMPLATE] = APPROVED
    return kshop


def resume_carts(shop) -> None:
    with unit_of_work(shop.factory) as session:
        campaign = session.scalar(select(Campaign).where(Campaign.kind == ABANDONED_CART))
        set_campaign_active(session, store_id=campaign.store_id, campaign_id=campaign.id,
                            active=True, now=DUE)


def first(shop):
    return next(m for m in shop.messages() if m.due_at <= DUE)


def test_a_lookup_store_sends_the_approved_template_with_rendered_tokens(lshop, kavenegar):
    lshop.cart("lk-cart-000001", AT, name="علی")
    lshop.tick(DUE)

    [call] = kavenegar.calls("lookup")
    assert call.form["template"] == [TEMPLATE] and call.form["receptor"] == ["+989123456789"]
    [sent] = kavenegar.messages
    assert sent.template == TEMPLATE and sent.tokens["token"] == "علی"
    assert sent.tokens["token10"] == "چای سبز"  # one space: token10 may hold a few
    assert sent.tokens["token2"].startswith("http") and " " not in sent.tokens["token2"]
    assert kavenegar.calls("send") == kavenegar.calls("sendarray") == []

    message = first(lshop)
    assert (message.status, message.gateway_id) == ("sent", str(sent.messageid))
    assert message.text == (f"[lookup {TEMPLATE}] token=علی | token2={sent.tokens['token2']} "
                            f"| token10=چای سبز")
    assert (message.cost, message.parts) == (sent.cost, sent.parts) and sent.parts >= 1
    assert "لغو" not in message.text and "لغو" not in sent.message  # the template is fixed text


def test_spaces_a_token_cannot_hold_become_half_spaces(lshop, kavenegar):
    lshop.cart("lk-cart-000002", AT, name="علی رضا")
    lshop.tick(DUE)
    [sent] = kavenegar.messages
    assert sent.tokens["token"] == f"علی{ZWNJ}رضا"  # the fake refuses spaces in token (431)
    assert first(lshop).status == "sent"


def test_a_step_without_a_lookup_template_is_held_not_sent_as_plain_sms(lshop, kavenegar):
    set_lookup(lshop, None)
    lshop.cart("lk-cart-000003", AT)
    lshop.tick(DUE)
    held = first(lshop)
    assert held.status == "held" and held.reason == "lookup_config"
    assert "step 1 has no lookup template" in held.reason_detail
    assert kavenegar.calls("send") == kavenegar.calls("sendarray") == []
    assert kavenegar.calls("lookup") == []

    set_lookup(lshop, CONFIG)  # the merchant sets it up, then resumes the campaign
    resume_carts(lshop)
    lshop.tick(DUE + timedelta(minutes=1))
    assert first(lshop).status == "sent" and len(kavenegar.messages) == 1


def test_a_lookup_whose_answer_was_lost_is_failed_and_never_sent_again(lshop, kavenegar):
    lshop.cart("lk-cart-000004", AT)
    kavenegar.delay("verify/lookup", 2.0)  # processed, answered after the 0.5 s timeout
    lshop.tick(DUE)
    kavenegar.delay("verify/lookup", 0)
    lost = first(lshop)
    assert lost.status == "failed" and lost.reason == "lookup_unknown"
    assert "no localid to ask" in lost.reason_detail and lost.sent_at is not None  # counts for the cap
    lshop.tick(DUE + timedelta(minutes=30))  # later ticks and the reaper leave it alone
    assert len(kavenegar.calls("lookup")) == 1 and len(kavenegar.messages) == 1
    assert kavenegar.calls("statuslocalmessageid") == []  # nothing to ask by: no localid
    assert first(lshop).status == "failed"


def test_a_template_kavenegar_does_not_know_holds_the_message(lshop, kavenegar):
    del kavenegar.templates[TEMPLATE]  # not approved in the panel (424)
    lshop.cart("lk-cart-000005", AT)
    lshop.tick(DUE)
    held = first(lshop)
    assert held.status == "held" and held.reason == "lookup_refused"
    assert "424" in held.reason_detail and held.sent_at is None
    with lshop.factory() as session:
        assert session.scalar(select(Store.sending_paused_at)) is None  # other steps still go

    kavenegar.templates[TEMPLATE] = APPROVED  # approved at last; the merchant resumes
    resume_carts(lshop)
    lshop.tick(DUE + timedelta(minutes=1))
    assert first(lshop).status == "sent" and len(kavenegar.messages) == 1


def test_an_empty_required_token_fails_that_message(lshop, kavenegar):
    set_lookup(lshop, {"template": TEMPLATE, "tokens": {"token": "{{ first_name }}"}})
    lshop.cart("lk-cart-000006", AT, name="")
    lshop.tick(DUE)
    failed = first(lshop)
    assert failed.status == "failed" and failed.reason == "lookup_data"
    assert "lookup.tokens.token: renders empty" in failed.reason_detail
    assert kavenegar.messages == []


def test_a_store_in_sms_mode_ignores_the_lookup_config(kshop, kavenegar):
    set_lookup(kshop, CONFIG)
    kshop.cart("lk-cart-000007", AT)
    kshop.tick(DUE)
    assert kavenegar.calls("lookup") == [] and len(kavenegar.calls("send")) == 1
    assert first(kshop).text.endswith("لغو۱۱")


# -- the check a step's lookup config gets when it is saved ----------------------------------

def test_a_valid_config_comes_back_in_kavenegars_token_order():
    config = validate_lookup({"tokens": {"token20": "{{ cart_items }}",
                                         "token": "{{ first_name }}"}, "template": "cart"})
    assert config == {"template": "cart",
                      "tokens": {"token": "{{ first_name }}", "token20": "{{ cart_items }}"}}


@pytest.mark.parametrize(("config", "field", "words"), [
    ("cart", "", "must be an object"),
    ({"template": "cart", "tokens": {"token": "x"}, "sender": "3000"}, "sender", "unknown field"),
    ({"tokens": {"token": "x"}}, "template", "approved in the Kavenegar panel"),
    ({"template": "cart reminder", "tokens": {"token": "x"}}, "template", "no spaces"),
    ({"template": "cart", "tokens": ["{{ first_name }}"]}, "tokens", "must be an object"),
    ({"template": "cart", "tokens": {"token2": "{{ link }}"}}, "tokens.token", "required"),
    ({"template": "cart", "tokens": {"token": "  "}}, "tokens.token", "required"),
    ({"template": "cart", "tokens": {"token": "x", "token4": "y"}}, "tokens.token4",
     "token, token2, token3, token10, token20"),
    ({"template": "cart", "tokens": {"token": "x", "token2": 5}}, "tokens.token2",
     "template string"),
    ({"template": "cart", "tokens": {"token": "x", "token3": "{{ link "}}, "tokens.token3",
     "line 1"),
    ({"template": "cart", "tokens": {"token": "{{ phone }}"}}, "tokens.token",
     "unknown variable(s): phone"),
])
def test_an_invalid_config_is_refused_naming_the_field(config, field, words):
    with pytest.raises(LookupConfigError) as caught:
        validate_lookup(config)
    error = caught.value
    assert error.field == field and words in error.message
    assert error.message.startswith(f"lookup.{field}:")
    assert isinstance(error, DomainError) and (error.status_code, error.code) == (422,
                                                                                  "invalid_lookup")


def test_the_console_gateway_records_a_lookup_as_its_readable_text(shop):
    store_settings(shop.factory, shop.store.id, sms_template_mode="lookup")
    set_lookup(shop, CONFIG)
    shop.cart("lk-cart-000008", AT)
    shop.tick(DUE)
    [sms] = shop.sms()
    message = first(shop)
    assert message.status == "delivered" and sms.localid == str(message.id)  # console: at once
    assert sms.text == message.text and message.text.startswith(f"[lookup {TEMPLATE}] token=علی")


def test_a_lookup_stalled_mid_send_is_never_sent_again_by_the_reaper(lshop, kavenegar):
    from app.campaigns.models import Message

    lshop.cart("lk-cart-000099", AT, name="علی")
    lshop.tick(DUE)
    [_, second, _] = lshop.messages()
    with unit_of_work(lshop.factory) as session:  # its worker died between approval and answer
        session.execute(update(Message).where(Message.id == second.id).values(
            status="sending", claimed_at=DUE, sent_at=DUE, send_mode="lookup",
            text=f"[lookup {TEMPLATE}] token=علی"))
    lshop.tick(DUE + timedelta(minutes=20))
    stalled = next(m for m in lshop.messages() if m.id == second.id)
    assert stalled.status == "failed" and stalled.reason == "lookup_unknown"
    assert "not sent again" in stalled.reason_detail
    assert len(kavenegar.calls("lookup")) == 1  # only the first step's
