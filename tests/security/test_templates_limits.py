"""Template bombs (audit finding 4): a merchant's SMS template cannot burn the service's CPU or
memory, whatever values it is rendered with.

The save-time check rendered with every variable set to "x", so a condition that is false for
"x" hid nested loops; output was unbounded. Now every render has a budget (steps, value sizes,
output length: app/messaging/sandbox.py), saving checks every branch, and a template that
got through anyway (saved before the limits) holds its message with the reason at send time.
"""

import pytest

from app.messaging.render import render
from app.messaging.sandbox import MAX_OUTPUT, MAX_SOURCE, MAX_STEPS
from app.messaging.segments import count_segments
from tests.campaigns.shop import tehran
from tests.campaigns.test_editing import campaign_of
from tests.dashboard.conftest import anonymous, panel, seeded  # noqa: F401 (fixtures)
from tests.dashboard.test_panel import _first_step, _step_form
from tests.helpers import error_of

HIDDEN_LOOPS = ('{% if first_name == "VIP" %}{% for a in range(100) %}{% for b in range(100) %}'
                '{{ a }}{% endfor %}{% endfor %}{% endif %}{{ link }}')
BOMBS = {
    "nested loops behind a condition false for the sample values": HIDDEN_LOOPS,
    "loops three deep": "{% for a in first_name %}{% for b in first_name %}{% for c in "
                        "first_name %}{% endfor %}{% endfor %}{% endfor %}{{ link }}",
    "a giant range": "{{ range(10**9)|join }} {{ link }}",
    "a giant range behind a condition": '{% if first_name == "z" %}{% for i in range(10**9) %}'
                                        "{% endfor %}{% endif %}{{ link }}",
    "string multiplication": '{{ "a" * 10**9 }}{{ link }}',
    "string multiplication behind a condition": '{% if cart_total == "0" %}{{ "a" * 10**9 }}'
                                                "{% endif %}{{ link }}",
    "a width argument": "{{ first_name.center(10**9) }}{{ link }}",
    "a format width": '{{ "{:>999999999}".format(link) }}',
    "a %-format width": '{{ "%*s"|format(999999999, link) }}',
    "doubling in a loop": '{% set ns = namespace(a="ab") %}{% for i in range(60) %}'
                          "{% set ns.a = ns.a ~ ns.a %}{% endfor %}{{ link }}",
    "huge output": '{% for i in range(99) %}{% for j in range(99) %}{{ "0123456789" }}'
                   "{% endfor %}{% endfor %}{{ link }}",
    "a macro that calls itself twice": "{% macro f(n) %}{% if n %}{{ f(n - 1) }}{{ f(n - 1) }}"
                                       "{% endif %}{% endmacro %}{{ f(40) }}{{ link }}",
    "lists nesting lists (text exponential in the loop count)":
        "{% set ns = namespace(l=[]) %}{% for i in range(40) %}{% set ns.l = [ns.l, ns.l] %}"
        "{% endfor %}{{ ns.l }}{{ link }}",
    "list multiplication": '{{ ["x"] * 10000 }}{{ link }}',
    "a replace that multiplies": '{% set s = "ab" * 4000 %}{{ s.replace("", s) }}{{ link }}',
    "a recursive loop": "{% for a in cart_items recursive %}{{ loop(a) }}{% endfor %}{{ link }}",
}


@pytest.mark.parametrize("template", BOMBS.values(), ids=BOMBS.keys())
def test_a_template_bomb_is_refused_when_saved(api, template):
    cart = campaign_of(api, "abandoned_cart")
    url = f"/api/v1/campaigns/{cart['id']}/steps/{cart['steps'][0]['id']}"
    before = api.get(url).json()
    response = api.patch(url, json={"template": template})
    assert response.status_code == 422, response.text
    error = error_of(response)
    assert error["code"] == "template_too_heavy" and error["message"].startswith("template: ")
    assert api.get(url).json() == before


def test_a_template_bomb_is_refused_when_previewed(api):
    cart = campaign_of(api, "abandoned_cart")
    url = f"/api/v1/campaigns/{cart['id']}/steps/{cart['steps'][0]['id']}/preview"
    response = api.post(url, json={"template": HIDDEN_LOOPS})
    assert response.status_code == 422
    assert error_of(response)["code"] == "template_too_heavy"


@pytest.mark.parametrize("template", ["{{ first_name|center(9999) }}", "{{ lipsum(9999) }}",
                                      "{{ first_name.expandtabs(9999) }}"])
def test_what_an_sms_does_not_need_is_not_there(api, template):
    cart = campaign_of(api, "abandoned_cart")
    url = f"/api/v1/campaigns/{cart['id']}/steps/{cart['steps'][0]['id']}"
    response = api.patch(url, json={"template": template + "{{ link }}"})
    assert response.status_code == 422 and error_of(response)["code"] == "invalid_template"


def test_a_template_longer_than_the_limit_is_refused(api):
    cart = campaign_of(api, "abandoned_cart")
    url = f"/api/v1/campaigns/{cart['id']}/steps/{cart['steps'][0]['id']}"
    response = api.patch(url, json={"template": "{{ link }}" + "س" * MAX_SOURCE})
    assert response.status_code == 422


def test_the_panel_refuses_a_template_bomb_in_persian(panel, seeded, factory):  # noqa: F811
    campaign = seeded.campaign_ids["abandoned_cart"]
    step = _first_step(factory, campaign)
    url = f"/panel/campaigns/{campaign}/steps/{step.id}"
    panel.get(url)
    refused = panel.post(url, _step_form(template=HIDDEN_LOOPS))
    assert "?ok=saved" not in refused.headers.get("location", "")
    assert "متن پیامک از حد مجاز سنگین‌تر است" in refused.text
    fragment = panel.post(f"{url}/preview", _step_form(preview_template=HIDDEN_LOOPS))
    assert "متن پیامک از حد مجاز سنگین‌تر است" in fragment.text
    with factory() as session:
        assert session.get(type(step), step.id).template == step.template


@pytest.mark.parametrize("template", [BOMBS["nested loops behind a condition false for the "
                                            "sample values"].replace("first_name == \"VIP\"",
                                                                     "true"),
                                      BOMBS["string multiplication"], BOMBS["huge output"]],
                         ids=["loops", "multiplication", "output"])
def test_a_bomb_saved_before_the_limits_holds_its_message_with_the_reason(shop, template):
    shop.set_step("abandoned_cart", 1, template=template)  # as it was stored before
    shop.cart("bomb-cart-0001", tehran("2026-11-24T10:00"))
    shop.tick(tehran("2026-11-24T11:05"))
    assert shop.sms() == []
    message = shop.messages("abandoned_cart")[0]
    assert (message.status, message.reason) == ("held", "template_broken")
    assert "TemplateLimit" in message.reason_detail


class Counting:
    """A value that counts how often the template wrote it out."""

    def __init__(self) -> None:
        self.written = 0

    def __str__(self) -> str:
        self.written += 1
        return "y" * 100


def test_rendering_stops_as_soon_as_the_output_passes_the_limit():
    value = Counting()
    with pytest.raises(ValueError, match=f"longer than {MAX_OUTPUT} characters"):
        render("{% for a in range(100) %}{% for b in range(100) %}{{ first_name }}"
               "{% endfor %}{% endfor %}", {"first_name": value})
    assert value.written == MAX_OUTPUT // 100 + 1  # not the 10,000 the loops ask for


def test_loops_over_long_values_stop_at_the_step_limit():
    value = Counting()
    with pytest.raises(ValueError, match=f"more than {MAX_STEPS} steps"):
        render('{% for a in cart_items %}{% for b in cart_items %}{% if a == "z" %}'
               "{{ first_name }}{% endif %}{% endfor %}{% endfor %}",
               {"cart_items": "ab" * 5000, "first_name": value})
    assert value.written == 0  # stopped by the count of iterations, not by the output


def test_segments_of_a_long_text_are_counted_exactly():
    # Counted in slices (the codec is quadratic in what it is given); an extension character
    # (two septets) on a slice's edge counts the same.
    text = ("a" * 255 + "€") * 4000
    segments = count_segments(text)
    assert (segments.encoding, segments.units) == ("gsm7", 257 * 4000)
    assert count_segments(text + "س").units == len(text) + 1
