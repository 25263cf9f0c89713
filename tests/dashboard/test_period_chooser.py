"""The period chooser's empty date fields show, greyed, the period the page's figures are for —
never a fixed example date that disagrees with them."""

import re


def _hints(html: str) -> tuple[str, str]:
    found = re.findall(r'<input name="(?:from|to)" value="[^"]*" placeholder="([^"]*)"', html)
    assert len(found) == 2, found
    return found[0], found[1]


def test_the_empty_fields_show_the_period_on_the_page(panel):
    for path in ("/panel?days=7", "/panel/retention?days=90"):
        html = panel.get(path).text
        shown = re.search(r"از <b>([^<]+)</b> تا <b>([^<]+)</b>", html)
        assert shown, path
        assert _hints(html) == (shown[1], shown[2]), path


def test_a_typed_period_is_shown_again_and_hinted_the_same(panel):
    html = panel.get("/panel", **{"from": "۱۴۰۵/۰۸/۰۱", "to": "1405/08/10"}).text
    assert 'value="۱۴۰۵/۰۸/۰۱"' in html and 'value="1405/08/10"' in html
    assert _hints(html) == ("۱۴۰۵/۰۸/۰۱", "۱۴۰۵/۰۸/۱۰")
