"""On a phone the panel's menu is wider than the screen and scrolls sideways: the entry of the
page shown is always in sight."""

import pytest

from tests.dashboard.test_browser import PHONE, Merchant


@pytest.mark.parametrize("path", ["/panel", "/panel/settings", "/panel/people",
                                  "/panel/segments"])
def test_the_current_menu_entry_is_on_the_screen(path, browser, live_server, seeded, factory):
    merchant = Merchant(browser, live_server.url, PHONE)
    try:
        merchant.sign_in(seeded.store.owner_phone, factory)
        merchant.go(path)
        box = merchant.page.locator('.top nav a[aria-current="page"]').bounding_box()
        assert box is not None
        assert 0 <= box["x"] and box["x"] + box["width"] <= PHONE["width"], (path, box)
        assert merchant.page.evaluate("window.scrollY") == 0  # the page itself did not move
        assert merchant.errors == []
    finally:
        merchant.close()
