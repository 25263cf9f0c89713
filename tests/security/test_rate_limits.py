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
    LOGIN_FAILURES_PER_IP,
    MERCHANT_API,
    SURVEY_ANSWERS,
    WEBHOOKS,
    Limiter,
    Rule,
    off_the_loop,
)
from tests.dashboard.conftest import Panel

NINE = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)  # a window starts on the hour


def _from(live_server, address: str) -> httpx.Client:
    """A client calling from another loopback address (another shopper, another attacker)."""
    transport = httpx.HTTPTransport(local_address=address, verify=tls())
    return httpx.Client(transport=transport, base_url=live_server.url, follow_redirects=False)


def _try_key(panel: Panel, key: str) -> httpx.Response:
    panel.http.get("/panel/login")
    return panel.post("/panel/login", {"api_key": key},
                      csrf=panel.http.cookies.get("bazgasht_panel_login"))


def _limited(response: httpx.Response, rule: Rule, left: int) -> None:
    assert response.status_code == 429, response.text[:300]
    assert response.headers["retry-after"] == str(left)


def test_failed_sign_ins_from_one_address_are_stopped_in_persian(anonymous, seeded, clock):
    clock.set(NINE)
    for _ in range(LOGIN_FAILURES_PER_IP.limit):
        assert _try_key(anonymous, "bz_guess" + "x" * 30).status_code == 200
    clock.advance(timedelta(minutes=5))
    # Even the right key waits: the attacker would otherwise learn when a guess was right.
    blocked = _try_key(anonymous, seeded.store.api_key)
    _limited(blocked, LOGIN_FAILURES_PER_IP, 10 * 60)
    assert "تلاش‌های ناموفق زیاد بود؛ ۱۰ دقیقهٔ دیگر" in blocked.text
    assert "bazgasht_panel" not in anonymous.http.cookies
    clock.advance(timedelta(minutes=10))
    assert _try_key(anonymous, seeded.store.api_key).status_code == 303


def test_guesses_at_one_stores_keys_from_many_addresses_are_stopped(live_server, seeded,
                                                                    clock):
    clock.set(NINE)
    prefix = seeded.store.api_key[:8]
    for n in range(10):
        with _from(live_server, f"127.0.0.{2 + n % 3}") as http:
            assert _try_key(Panel(http), prefix + "wrong" * 6).status_code == 200
    with _from(live_server, "127.0.0.9") as http:
        _limited(_try_key(Panel(http), prefix + "wrong" * 6), LOGIN_FAILURES_PER_IP, 15 * 60)
        # Another store's keys are not held up.
        assert _try_key(Panel(http), "bz_other" + "x" * 30).status_code == 200


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
