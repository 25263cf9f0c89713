"""Rate limits over real HTTP: each one trips, answers 429 with Retry-After and a code (in the
panel, a Persian page), and lets requests through again in the next window of the app's clock.
"""

import asyncio
import threading
from datetime import datetime, timedelta, timezone

import httpx
import pytest

from app.http import tls
from app.ratelimit import (
    LINK_REDIRECTS,
    LOGIN_CODES_PER_IP,
    LOGIN_CODES_PER_PHONE,
    MERCHANT_API,
    SURVEY_ANSWERS,
    WEBHOOKS,
    Limiter,
    Rule,
    off_the_loop,
)
from tests.dashboard.conftest import Panel, sign_in_sms_count

NINE = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)  # a window starts on the hour


def _from(live_server, address: str) -> httpx.Client:
    """A client calling from another loopback address (another shopper, another attacker)."""
    transport = httpx.HTTPTransport(local_address=address, verify=tls())
    return httpx.Client(transport=transport, base_url=live_server.url, follow_redirects=False)


def _limited(response: httpx.Response, rule: Rule, left: int) -> None:
    assert response.status_code == 429, response.text[:300]
    assert response.headers["retry-after"] == str(left)


def _ask(panel: Panel, phone: str):
    return panel.ask_code(phone)


def test_sign_in_codes_asked_from_one_address_are_capped_in_persian(anonymous, seeded, clock,
                                                                    factory):
    clock.set(NINE)
    for n in range(LOGIN_CODES_PER_IP.limit):  # each a different phone: no per-phone wait
        assert _ask(anonymous, f"+9891255{n:05d}").status_code == 303
    clock.advance(timedelta(minutes=5))
    # Even a member's phone waits, and is sent nothing.
    blocked = _ask(anonymous, seeded.store.owner_phone)
    _limited(blocked, LOGIN_CODES_PER_IP, 55 * 60)
    assert "درخواست کد زیاد بود؛ ۵۵ دقیقهٔ دیگر" in blocked.text
    assert sign_in_sms_count(factory, seeded.store.owner_phone) == 0
    clock.advance(timedelta(minutes=55))
    assert _ask(anonymous, seeded.store.owner_phone).status_code == 303
    assert sign_in_sms_count(factory, seeded.store.owner_phone) == 1


def test_codes_for_one_phone_from_many_addresses_are_capped(live_server, seeded, clock,
                                                            factory):
    clock.set(NINE)
    phone = seeded.store.owner_phone
    for n in range(LOGIN_CODES_PER_PHONE.limit):
        with _from(live_server, f"127.0.0.{2 + n % 3}") as http:
            assert _ask(Panel(http, factory), phone).status_code == 303
        clock.advance(timedelta(seconds=61))  # past the wait between two codes
    assert sign_in_sms_count(factory, phone) == LOGIN_CODES_PER_PHONE.limit
    with _from(live_server, "127.0.0.9") as http:
        _limited(_ask(Panel(http, factory), phone), LOGIN_CODES_PER_PHONE,
                 60 * 60 - 5 * 61)
        # Another phone is not held up.
        assert _ask(Panel(http, factory), seeded.other.owner_phone).status_code == 303
    assert sign_in_sms_count(factory, phone) == LOGIN_CODES_PER_PHONE.limit


def test_the_merchant_api_is_limited_per_key(api, other_api, clock):
    clock.set(NINE)
    for _ in range(MERCHANT_API.limit):
        assert api.get("/api/v1/store").status_code == 200
    limited = api.get("/api/v1/store")
    _limited(limited, MERCHANT_API, 60)
    assert limited.json()["error"]["code"] == "rate_limited"
    assert other_api.get("/api/v1/store").status_code == 200
    clock.advance(timedelta(seconds=60))
    assert api.get("/api/v1/store").status_code == 200


def test_webhooks_are_limited_per_store_generously(client, store, clock):
    clock.set(NINE)
    for _ in range(WEBHOOKS.limit):
        assert client.post(f"/webhooks/woocommerce/{store.id}", content=b"{}").status_code == 401
    limited = client.post(f"/webhooks/woocommerce/{store.id}", content=b"{}")
    _limited(limited, WEBHOOKS, 60)
    assert limited.json()["error"]["code"] == "rate_limited"
    clock.advance(timedelta(seconds=60))
    assert client.post(f"/webhooks/woocommerce/{store.id}", content=b"{}").status_code == 401


@pytest.mark.parametrize("rule, request_", [
    (LINK_REDIRECTS, lambda http: http.get("/Zz9Zz9Z")),
    (SURVEY_ANSWERS, lambda http: http.post("/survey/AAAAAAAAAAA", data={"rating": "5"})),
])
def test_short_links_and_survey_answers_are_limited_per_address(live_server, factory, clock,
                                                                rule, request_):
    clock.set(NINE)
    with _from(live_server, "127.0.0.5") as http, _from(live_server, "127.0.0.6") as other:
        for _ in range(rule.limit):
            assert request_(http).status_code == 404
        _limited(request_(http), rule, rule.seconds)
        assert request_(other).status_code == 404
        clock.advance(timedelta(seconds=rule.seconds))
        assert request_(http).status_code == 404


def test_in_redis_every_process_shares_the_counts(redis_url):
    import redis

    rule = Rule("test-shared", 3, 60)
    redis.Redis.from_url(redis_url).flushdb()
    one, two = Limiter(redis_url), Limiter(redis_url)
    assert [one.hit(rule, "s", now=NINE), two.hit(rule, "s", now=NINE),
            one.hit(rule, "s", now=NINE)] == [None, None, None]
    assert two.hit(rule, "s", now=NINE + timedelta(seconds=20)) == 40
    assert two.exhausted(rule, "s", now=NINE + timedelta(seconds=20)) == 40
    assert one.hit(rule, "s", now=NINE + timedelta(seconds=60)) is None


def test_without_redis_answering_requests_go_through():
    unreachable = Limiter("redis://127.0.0.1:1/0")
    rule = Rule("test-down", 1, 60)
    assert [unreachable.hit(rule, "s", now=NINE) for _ in range(3)] == [None, None, None]


def test_a_script_fetching_a_link_over_and_over_counts_one_click(shop, client, factory, clock,
                                                                 live_server):
    from app.links.models import Link
    from tests.campaigns.shop import tehran

    shop.cart("inflate-0001", tehran("2026-11-24T10:00"))
    shop.tick(tehran("2026-11-24T11:05"))
    link = shop.link(shop.sms()[0].text)
    phone = {"User-Agent": "Mozilla/5.0 (Linux; Android 14) Chrome/131.0 Mobile Safari/537.36"}
    clock.set(NINE)
    for _ in range(50):
        assert client.get(f"/{link.code}", headers=phone).status_code == 302
    with _from(live_server, "127.0.0.7") as neighbour:  # another shopper's phone
        assert neighbour.get(f"/{link.code}", headers=phone).status_code == 302
    clock.advance(timedelta(hours=1))  # the window over: the same phone counts again
    assert client.get(f"/{link.code}", headers=phone).status_code == 302
    live_server.app.state.click_recorder.flush()
    with factory() as session:
        assert session.get_one(Link, link.id).human_clicks == 3


def test_counting_in_redis_happens_off_the_event_loop(redis_url):
    """With Redis each count is a network call: an async endpoint makes it in a worker thread,
    so a slow Redis stalls no other request; in-process counts stay on the loop's thread."""
    def where() -> str:
        return threading.current_thread().name

    async def both() -> tuple[str, str, str]:
        here = where()
        return (here, await off_the_loop(Limiter(redis_url), where),
                await off_the_loop(Limiter(None), where))

    # A loop of its own, in a thread of its own: a browser test may leave this one's running.
    found: list = []
    runner = threading.Thread(target=lambda: found.append(asyncio.run(both())))
    runner.start()
    runner.join(30)
    [(loop_thread, remote, local)] = found
    assert Limiter(redis_url).remote and not Limiter(None).remote
    assert remote != loop_thread and local == loop_thread
