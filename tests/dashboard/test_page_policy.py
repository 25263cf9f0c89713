"""The panel's Content-Security-Policy: its own scripts, styles and forms only — and forms may
go on to the store's own site (the one-click connect is a POST redirected to its WooCommerce,
and browsers hold a form's redirects to form-action), never anywhere else."""

from types import SimpleNamespace

import pytest

from app.dashboard.views import _headers


def _form_action(url: str | None) -> str:
    store = None if url is None else SimpleNamespace(url=url)
    policy = _headers(store)["Content-Security-Policy"]
    return policy.split("form-action ", 1)[1].split(";", 1)[0]


@pytest.mark.parametrize("url, allowed", [
    (None, "'self'"),
    ("https://shop.example", "'self' https://shop.example"),
    ("http://127.0.0.1:8080/shop/", "'self' http://127.0.0.1:8080"),
    ("https://user:secret@shop.ir/", "'self' https://shop.ir"),
    ("https://فروشگاه.ir", "'self' https://xn--mgbtj4c7ad63e.ir"),
    ("https://[::1]:9/", "'self' https://[::1]:9"),
    # Nothing that could add a directive or a source of its own:
    ("https://shop.example;script-src *", "'self'"),
    ("https://a b.ir", "'self'"),
    ("https://shop.ir:99999/", "'self'"),
    ("javascript:alert(1)", "'self'"),
])
def test_forms_may_go_to_the_stores_own_site_only(url, allowed):
    assert _form_action(url) == allowed


def test_a_signed_in_page_names_the_stores_site(panel, seeded):
    policy = panel.get("/panel").headers["content-security-policy"]
    assert "form-action 'self' https://shop.example;" in policy
    assert "script-src 'self';" in policy and "default-src 'none'" in policy
