"""Small builders the tests share: stores, signed WooCommerce deliveries."""

import base64
import hashlib
import hmac
import json
import re
from concurrent.futures import Future, wait
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy.orm import Session

from app.dashboard.members import add_member
from app.dashboard.models import OWNER
from app.onboarding import open_store
from app.stores.schemas import StoreCreate


@dataclass
class StoreCreds:
    id: int
    api_key: str
    webhook_secret: str
    owner_phone: str = ""  # the panel owner every test store has (signs in with it)


def owner_phone_of(store_id: int) -> str:
    return f"+98912{store_id:07d}"


def create_store(session: Session, **overrides) -> StoreCreds:
    data = StoreCreate(**({"name": "چای‌خانه", "url": "https://shop.example"} | overrides))
    store, api_key = open_store(session, data)
    owner = owner_phone_of(store.id)
    add_member(session, store_id=store.id, phone=owner, name="مالک", role=OWNER,
               now=store.created_at)
    return StoreCreds(store.id, api_key, store.webhook_secret, owner)


def bearer(creds: StoreCreds) -> dict:
    """The merchant API's Authorization header for this store."""
    return {"Authorization": f"Bearer {creds.api_key}"}


def error_of(response: httpx.Response) -> dict:
    """The error body every failure has: {"error": {"code", "message"}}."""
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}, body
    return body["error"]


def sign(body: bytes, secret: str) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def wc_body(payload) -> bytes:
    """Encode like WooCommerce's wp_json_encode: \\uXXXX for non-ASCII, '\\/' for '/'."""
    return json.dumps(payload, separators=(",", ":")).replace("/", "\\/").encode()


def deliver(client: httpx.Client, store: StoreCreds, topic: str, body: bytes | dict, *,
            secret: str | None = None, signature: str | None = None, path_suffix: str = "",
            extra_headers: dict | None = None) -> httpx.Response:
    """POST one delivery the way WooCommerce's Hookshot does."""
    if not isinstance(body, bytes):
        body = wc_body(body)
    resource, _, event = topic.partition(".")
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "WooCommerce/10.0.2 Hookshot (WordPress/6.8.8)",
        "X-WC-Webhook-Source": "https://shop.example/",
        "X-WC-Webhook-Topic": topic,
        "X-WC-Webhook-Resource": resource,
        "X-WC-Webhook-Event": event,
        "X-WC-Webhook-ID": "7",
        "X-WC-Webhook-Delivery-ID": hashlib.md5(body).hexdigest(),
        "X-WC-Webhook-Signature": signature if signature is not None
        else sign(body, secret or store.webhook_secret),
    } | (extra_headers or {})
    return client.post(f"/webhooks/woocommerce/{store.id}{path_suffix}", content=body,
                       headers=headers)


def capture(fixtures_dir: Path, name: str) -> tuple[dict, bytes]:
    """A real captured delivery: its headers and the exact bytes WooCommerce signed."""
    data = json.loads((fixtures_dir / "real" / name).read_text())
    return data["headers"], base64.b64decode(data["body_b64"])


def docs_payload(fixtures_dir: Path, name: str):
    text = (fixtures_dir / name).read_text()
    if name.startswith("ios_"):  # a test response with trailing commas: not strict JSON
        text = re.sub(r",(\s*[\]}])", r"\1", text)
    data = json.loads(text)
    return data.get("data", data) if isinstance(data, dict) else data


@contextmanager
def live_kavenegar(live_server, api_key: str, **fake_options):
    """A fake Kavenegar on loopback that the live server's gateways use for one test."""
    from app.messaging.fake_kavenegar import FakeKavenegar
    from app.messaging.gateway import Gateways

    state = live_server.app.state
    with FakeKavenegar(api_key=api_key, **fake_options) as fake:
        own, state.gateways = state.gateways, Gateways(
            state.sessionmaker, kavenegar_base_url=fake.base_url, read_timeout=2)
        try:
            yield fake
        finally:
            state.gateways = own


class AllDone:
    """A fan-out deadline that waits for every store's work: a test's round is decided by what
    the stores answered, never by how busy the machine is."""

    def wait(self, futures: dict[int, Future], *, what: str) -> None:
        wait(futures.values())


ALL_DONE = AllDone()


def outlasts_a_question(fake, held: str, send, question):
    """`send` runs while the fake holds its answer (`held`); `question` is asked meanwhile and
    gives up at its own, shorter deadline; then the send is answered. Returns what the send
    returned and what the question returned or raised. No clock is read: the question's
    whole deadline passing while the send waited is what shows the send's is longer."""
    from concurrent.futures import ThreadPoolExecutor

    from tests.ops.conftest import wait_until

    fake.hold(held)
    with ThreadPoolExecutor(1) as pool:
        sent = pool.submit(send)
        try:
            wait_until(lambda: fake.holding(held) == 1, what=f"{held} to be held")
            try:
                asked = question()
            except Exception as exc:  # noqa: BLE001  (what the question raised is the answer)
                asked = exc
        finally:
            fake.release(held)
        return sent.result(), asked
