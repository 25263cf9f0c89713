"""The merchant panel over real HTTP (httpx) and in real Chromium (Playwright).

A tea shop whose owner signs in with their phone and the code the console gateway "sent", its
last ten days written row by row (tests/dashboard/seed.py), and a second shop whose rows must
never show in the first one's panel.
"""

import re
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from app.db import unit_of_work
from app.digits import latin_digits
from app.http import tls
from app.messaging.models import ConsoleSms
from tests.conftest import SCREENSHOTS
from tests.dashboard.seed import Seeded, seed_store
from tests.helpers import StoreCreds, create_store

_CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)">')
_LOGIN_TOKEN = re.compile(r'<input type="hidden" name="csrf" value="([^"]+)">')
_CODE = re.compile(r"[0-9۰-۹]{6}")
_CHOICE = re.compile(r'name="member" value="(\d+)" data-store="(\d+)"')


def sms_code(factory, phone: str) -> str:
    """The code of the last sign-in SMS the console gateway recorded for this phone."""
    with factory() as session:
        texts = session.scalars(select(ConsoleSms.text).where(ConsoleSms.receptor == phone)
                                .order_by(ConsoleSms.id.desc())).all()
    for text in texts:
        if "کد ورود به پنل بازگشت" in text:
            return latin_digits(_CODE.search(text)[0])
    raise AssertionError(f"no sign-in code was sent to {phone}")


def sign_in_sms_count(factory, phone: str) -> int:
    with factory() as session:
        return len([t for t in session.scalars(select(ConsoleSms.text).where(
            ConsoleSms.receptor == phone)) if "کد ورود به پنل بازگشت" in t])


def phone_of(who: "StoreCreds | str") -> str:
    if isinstance(who, StoreCreds):
        return who.owner_phone
    assert not who.startswith("bz_"), ("the panel is no longer entered with the API key: sign "
                                       "in with the StoreCreds (its owner) or a member's phone")
    return who


class Panel:
    """A browser-like client: cookies kept, redirects not followed, the page's CSRF token used
    for the next POST."""

    def __init__(self, client: httpx.Client, factory=None):
        self.http = client
        self.factory = factory
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

    def login_token(self, path: str = "/panel/login") -> str:
        return _LOGIN_TOKEN.search(self.http.get(path).text)[1]

    def ask_code(self, phone: str, *, next: str = "/panel") -> httpx.Response:
        token = self.login_token()
        return self.post("/panel/login", {"phone": phone, "next": next}, csrf=token)

    def send_code(self, code: str) -> httpx.Response:
        return self.post("/panel/login/code", {"code": code},
                         csrf=self.http.cookies.get("bazgasht_panel_login"))

    def sign_in(self, who: StoreCreds | str, *, next: str = "/panel") -> httpx.Response:
        """Sign in as a member (a store's owner, or a phone) the way a person does: the phone,
        then the code read from the SMS the console gateway recorded."""
        assert self.factory is not None, "Panel(client, factory) to read the SMS"
        phone = phone_of(who)
        asked = self.ask_code(phone, next=next)
        assert asked.status_code == 303, asked.text[:500]
        response = self.send_code(sms_code(self.factory, phone))
        if response.status_code == 200 and isinstance(who, StoreCreds):  # several stores
            member = {store: member for member, store in _CHOICE.findall(response.text)}
            response = self.post("/panel/login/store", {
                "member": member[str(who.id)], "next": next,
                "ticket": re.search(r'name="ticket" value="([^"]+)"', response.text)[1]},
                csrf=self.http.cookies.get("bazgasht_panel_login"))
        assert response.status_code == 303, response.text[:500]
        self.get("/panel")
        return response


@pytest.fixture
def anonymous(live_server, factory) -> Panel:
    with httpx.Client(verify=tls(), base_url=live_server.url, timeout=10, follow_redirects=False) as client:
        yield Panel(client, factory)


@pytest.fixture
def seeded(factory) -> Seeded:
    with unit_of_work(factory) as session:
        return seed_store(session)


@pytest.fixture
def panel(anonymous, seeded) -> Panel:
    anonymous.sign_in(seeded.store)
    return anonymous


@pytest.fixture
def other_store(factory) -> StoreCreds:
    with unit_of_work(factory) as session:
        return create_store(session, name="دکان دیگر", url="https://other.example")


@pytest.fixture(scope="session")
def screenshots() -> Path:
    """Where the browser tests' screenshots go (emptied at the start of the run: tests/conftest)."""
    return SCREENSHOTS
