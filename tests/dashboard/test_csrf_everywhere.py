"""Every form the panel shows refuses a POST without this session's CSRF token, and one with
another session's: the panel is walked like a browser would, so a form added later is covered."""

import re
from urllib.parse import urljoin, urlsplit

import httpx
import pytest

from app.http import tls
from tests.dashboard.conftest import Panel

_LINK = re.compile(r'href="(/panel[^"#]*)"')
_FORM = re.compile(r'<form\b[^>]*\bmethod="post"[^>]*>', re.IGNORECASE)
_ACTION = re.compile(r'\baction="([^"]*)"')
MAX_PAGES = 60


def _walk(panel: Panel) -> set[str]:
    """The POST targets of every form on the panel pages reachable from /panel."""
    seen, queue, targets = set(), ["/panel"], set()
    while queue and len(seen) < MAX_PAGES:
        path = queue.pop(0)
        if path in seen or "/logout" in path:
            continue
        seen.add(path)
        page = panel.get(path)
        if page.status_code != 200 or "text/html" not in page.headers.get("content-type", ""):
            continue
        for form in _FORM.findall(page.text):
            action = _ACTION.search(form)
            targets.add(urlsplit(urljoin(path, action[1] if action else path)).path)
        queue += [link.replace("&amp;", "&") for link in _LINK.findall(page.text)
                  if urlsplit(link).path not in seen]
    return targets


@pytest.fixture
def second_session(live_server, seeded, factory):
    with httpx.Client(verify=tls(), base_url=live_server.url, timeout=10,
                      follow_redirects=False) as client:
        other = Panel(client, factory)
        other.sign_in(seeded.store)
        yield other


def test_every_panel_form_refuses_a_missing_or_foreign_csrf_token(panel, second_session):
    targets = _walk(panel) - {"/panel/login"}
    # The forms a merchant uses most must be among them, or the walk missed the panel.
    assert {"/panel/settings/sending", "/panel/settings/alerts", "/panel/logout"} <= targets, targets
    foreign = second_session.csrf
    assert foreign and foreign != panel.csrf
    for target in sorted(targets):
        for token in ("", foreign):
            response = panel.post(target, {}, csrf=token)
            assert response.status_code == 403, (target, token == foreign, response.status_code)
    # Still signed in: nothing above logged the session out.
    assert panel.get("/panel").status_code == 200
