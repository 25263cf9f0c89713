"""The merchant panel over real HTTP (httpx) and in real Chromium (Playwright).

A tea shop signed in with its API key, its last ten days written row by row (tests/dashboard/
seed.py), and a second shop whose rows must never show in the first one's panel.
"""

import re
from pathlib import Path

import httpx
import pytest

from app.db import unit_of_work
from app.http import tls
from tests.conftest import SCREENSHOTS
from tests.dashboard.seed import Seeded, seed_store
from tests.helpers import StoreCreds, create_store

_CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)">')
_LOGIN_TOKEN = re.compile(r'<input type="hidden" name="csrf" value="([^"]+)">')


class Panel:
    """A browser-like client: cookies kept, redirects not followed, the page's CSRF token used
    for the next POST."""

    def __init__(self, client: httpx.Client):
        self.http = client
        self.csrf = ""

    def _remember(self, response: httpx.Response) -> httpx.Response:
        found = _CSRF_META.search(response.text) if "text/html" in response.headers.get(
            "content-type", "") else None
        if found:
            self.csrf = found[1]
        return response

    def get(self, path: str, **params) -> httpx.Response:
        return self._remember(self.http.get(path, params=params or None))

    def post(self, path: str, data: dict | list | None = None, *, csrf: str | None = None,
             headers: dict | None = None) -> httpx.Response:
        fields = list(data.items()) if isinstance(data, dict) else list(data or [])
        token = self.csrf if csrf is None else csrf
        if token is not None:
            fields.append(("csrf", token))
        return self._remember(self.http.post(
            path, content=httpx.QueryParams(fields).__str__().encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded"} | (headers or {})))

    def sign_in(self, api_key: str) -> httpx.Response:
        form = self.http.get("/panel/login")
        token = _LOGIN_TOKEN.search(form.text)[1]
        response = self.post("/panel/login", {"api_key": api_key, "next": "/panel"}, csrf=token)
        assert response.status_code == 303, response.text
        self.get("/panel")
        return response


@pytest.fixture
def anonymous(live_server, factory) -> Panel:
    with httpx.Client(verify=tls(), base_url=live_server.url, timeout=10, follow_redirects=False) as client:
        yield Panel(client)


@pytest.fixture
def seeded(factory) -> Seeded:
    with unit_of_work(factory) as session:
        return seed_store(session)


@pytest.fixture
def panel(anonymous, seeded) -> Panel:
    anonymous.sign_in(seeded.store.api_key)
    return anonymous


@pytest.fixture
def other_store(factory) -> StoreCreds:
    with unit_of_work(factory) as session:
        return create_store(session, name="دکان دیگر", url="https://other.example")


@pytest.fixture(scope="session")
def screenshots() -> Path:
    """Where the browser tests' screenshots go (emptied at the start of the run: tests/conftest)."""
    return SCREENSHOTS
