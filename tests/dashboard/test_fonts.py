"""Vazirmatn, served by bazgasht itself (app/assets.py): the panel and the customers'
pages render Persian in it, whatever fonts the machine has, and nothing comes from a CDN."""

import re

from app.assets import FONT, STATIC
from tests.dashboard.test_browser import DESKTOP, PHONE, Merchant

_PRELOAD = re.compile(r'<link rel="preload" href="([^"]+)" as="font" type="font/woff2" crossorigin>')


def test_the_font_is_served_versioned_kept_a_year_and_named_by_the_css(panel):
    page = panel.get("/panel")
    href = _PRELOAD.search(page.text)[1]
    assert href.startswith("/panel/static/fonts/Vazirmatn-Variable.woff2?v=")
    font = panel.http.get(href)
    assert font.status_code == 200
    assert font.headers["content-type"] == "font/woff2"
    assert font.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert font.content[:4] == b"wOF2" and font.content == (STATIC / FONT).read_bytes()
    # The stylesheet asks for exactly the preloaded URL (a different one would load it twice).
    css = re.search(r'href="(/panel/static/panel\.css\?v=[0-9a-f]+)"', page.text)[1]
    assert f'src: url("{href}") format("woff2")' in panel.http.get(css).text
    assert "font-src 'self'" in page.headers["content-security-policy"]
    # Without its version: still served, but checked again each time.
    assert panel.http.get(href.split("?")[0]).headers["cache-control"] == "no-cache"
    assert panel.http.get("/panel/static/fonts/OFL.txt").status_code == 404  # not an asset
    assert panel.http.get("/panel/static/fonts/%2E%2E/panel.css").status_code == 404


def test_a_customers_page_loads_the_same_font(anonymous):
    page = anonymous.get("/not-a-code!")  # the short links' Persian «not found» page
    assert page.status_code == 404
    found = re.search(r'src:url\("([^"]+)"\) format\("woff2"\)', page.text)
    assert found and found[1] == _PRELOAD.search(anonymous.get("/panel/login").text)[1]
    assert "font-src 'self'" in page.headers["content-security-policy"]


def _rendered_fonts(page, selector: str) -> list[str]:
    """The fonts Chromium really drew a node's text with (not the CSS list it was asked for)."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("DOM.enable")
    cdp.send("CSS.enable")
    root = cdp.send("DOM.getDocument")["root"]["nodeId"]
    node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"]
    fonts = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]
    return [f["familyName"] for f in fonts]


def test_persian_text_is_drawn_in_vazirmatn_in_the_panel(browser, live_server, seeded, factory):
    for viewport in (DESKTOP, PHONE):
        merchant = Merchant(browser, live_server.url, viewport)
        try:
            merchant.sign_in(seeded.store.owner_phone, factory)
            page = merchant.page
            page.wait_for_load_state("networkidle")
            assert page.evaluate("document.fonts.ready.then(() => document.fonts.check('16px Vazirmatn'))")
            assert page.evaluate("[...document.fonts].some(f => f.family === 'Vazirmatn' && f.status === 'loaded')")
            assert _rendered_fonts(page, "h1") == ["Vazirmatn"]
            assert _rendered_fonts(page, "#fig-revenue") == ["Vazirmatn"]  # «۸۰۰٬۰۰۰ تومان»
            assert merchant.errors == []
        finally:
            merchant.close()


def test_a_customers_page_is_drawn_in_vazirmatn(browser, live_server):
    context = browser.new_context(viewport=PHONE)
    try:
        page = context.new_page()
        errors = []
        page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" and
                "404" not in msg.text else None)
        page.goto(live_server.url + "/not-a-code!")
        page.wait_for_load_state("networkidle")
        assert page.evaluate("document.fonts.ready.then(() => document.fonts.check('16px Vazirmatn'))")
        assert _rendered_fonts(page, "h1") == ["Vazirmatn"]
        assert errors == []
    finally:
        context.close()
