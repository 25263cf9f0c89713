"""Prometheus metrics: what a scrape of /metrics shows after real traffic, in one process and
added up across several (uvicorn --workers, Celery's prefork children)."""

import os
import subprocess
import sys
import textwrap
from datetime import timedelta, timezone

import httpx
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import update

from app.campaigns.enroll import run_triggers
from app.campaigns.models import Message
from app.config import Settings
from app.db import unit_of_work
from app.http import tls
from app.messaging.gateway import Gateways
from app.migrate import upgrade
from app.scheduler import JOBS
from tests.campaigns.shop import tehran
from tests.conftest import LiveServer, _free_port
from tests.factories import set_contact
from tests.helpers import deliver
from tests.ops.conftest import use_kavenegar, wait_until

AT = tehran("2026-11-24T10:00")
DUE = tehran("2026-11-24T11:00")


def scrape(client, **headers) -> dict:
    answer = client.get("/metrics", headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain")
    return samples(answer.text)


def samples(text: str) -> dict:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(scraped: dict, name: str, **labels) -> float:
    return scraped.get((name, tuple(sorted(labels.items()))), 0.0)


def test_webhook_deliveries_by_topic_and_result(client, store):
    before = scrape(client)
    assert deliver(client, store, "order.deleted", {"id": 5}).status_code == 200
    assert deliver(client, store, "order.deleted", {"id": 6}, secret="wrong").status_code == 401
    assert deliver(client, store, "x-made-up.topic", {"id": 7}).status_code == 200
    after = scrape(client)

    def delta(topic, result):
        name = "bazgasht_webhook_deliveries_total"
        return (value(after, name, topic=topic, result=result)
                - value(before, name, topic=topic, result=result))

    assert delta("order.deleted", "accepted") == 1
    assert delta("order.deleted", "invalid_signature") == 1
    assert delta("other", "accepted") == 1  # a topic no one knows is no new label


def test_a_tick_counts_messages_gateway_calls_and_its_own_duration(shop, client, kavenegar):
    for i in range(2):
        shop.cart(f"metrics-cart-{i:03d}", AT, phone=f"0912111{i:04d}")
    shop.cart("metrics-opted-out", AT, phone="09121119999")
    with unit_of_work(shop.factory) as session:  # enrolled, then the customer opts out
        assert run_triggers(session, DUE.astimezone(timezone.utc)) == 3
        set_contact(session, shop.store.id, "+989121119999", opted_out_at=shop.clock.now())
    use_kavenegar(shop.factory, shop.store.id)
    shop.gateway = Gateways(shop.factory, kavenegar_base_url=kavenegar.base_url)
    before = scrape(client)
    report = shop.tick(DUE)
    after = scrape(client)

    def delta(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert report.claimed == 3
    assert delta("bazgasht_messages_total", status="sent", reason="none") == 2
    assert delta("bazgasht_messages_total", status="skipped", reason="opted_out") == 1
    assert delta("bazgasht_gateway_calls_total", provider="kavenegar", method="sms/sendarray",
                 code="200") == 1
    assert delta("bazgasht_gateway_call_seconds_count", provider="kavenegar",
                 method="sms/sendarray") == 1
    for job in JOBS:  # the round ran every job once, each counted and timed under its name
        assert delta("bazgasht_ticks_total", job=job.name, result="ran") == 1, job.name
        assert delta("bazgasht_tick_seconds_count", job=job.name) == 1, job.name


def test_a_refused_gateway_call_is_counted_by_its_code(shop, client, kavenegar):
    shop.cart("metrics-refused-1", AT)
    use_kavenegar(shop.factory, shop.store.id)
    shop.gateway = Gateways(shop.factory, kavenegar_base_url=kavenegar.base_url)
    kavenegar.fail_next("sms/send", 418)
    before = scrape(client)
    shop.tick(DUE)
    after = scrape(client)
    labels = dict(provider="kavenegar", method="sms/send", code="418")
    assert (value(after, "bazgasht_gateway_calls_total", **labels)
            - value(before, "bazgasht_gateway_calls_total", **labels)) == 1
    held = dict(status="held", reason="store_paused")
    assert (value(after, "bazgasht_messages_total", **held)
            - value(before, "bazgasht_messages_total", **held)) == 1


def test_redirects_and_clicks_humans_and_bots_apart(shop, client, live_server):
    shop.cart("metrics-click-01", AT)
    shop.tick(DUE)
    [sms] = shop.sms()
    code = shop.link(sms.text).code
    before = scrape(client)
    assert client.get(f"/{code}", headers={"User-Agent": "Mozilla/5.0 (Linux; Android 14)"},
                      follow_redirects=False).status_code == 302
    assert client.get(f"/{code}", headers={"User-Agent": "TelegramBot (like TwitterBot)"},
                      follow_redirects=False).status_code == 302
    assert client.get("/zzzzzzz").status_code == 404
    live_server.app.state.click_recorder.flush()
    after = scrape(client)
    assert (value(after, "bazgasht_redirect_seconds_count")
            - value(before, "bazgasht_redirect_seconds_count")) == 3
    for kind in ("human", "bot"):
        assert (value(after, "bazgasht_clicks_total", kind=kind)
                - value(before, "bazgasht_clicks_total", kind=kind)) == 1


def test_queue_lag_is_the_age_of_the_oldest_due_message(shop, client):
    assert value(scrape(client), "bazgasht_queue_lag_seconds") == 0  # nothing due
    shop.cart("metrics-lag-0001", AT)
    shop.tick(AT + timedelta(minutes=61))  # enrolls; its first message is due now
    with unit_of_work(shop.factory) as session:  # due 5 minutes ago and still waiting
        session.execute(update(Message).values(
            status="scheduled", due_at=shop.clock.now() - timedelta(minutes=5)))
    scraped = scrape(client)
    assert value(scraped, "bazgasht_queue_lag_up") == 1
    assert 300 <= value(scraped, "bazgasht_queue_lag_seconds") < 360


def test_a_metrics_token_closes_the_endpoint(database_url):
    settings = Settings(database_url=database_url, metrics_token="scrape-me-7Hq2Lx9PzW4nK8vR3tY6bJ")
    with LiveServer(settings) as server, httpx.Client(verify=tls(), base_url=server.url) as client:
        assert client.get("/metrics").status_code == 401
        assert client.get("/metrics", headers={"Authorization": "Bearer nope"}).status_code == 401
        assert "bazgasht_ticks_total" in client.get(
            "/metrics", headers={"Authorization": "Bearer scrape-me-7Hq2Lx9PzW4nK8vR3tY6bJ"}).text


WRITER = textwrap.dedent("""
    from app.ops import metrics
    metrics.CLICKS.labels("human").inc(5)
""")


def test_several_processes_add_up_in_multiprocess_mode(tmp_path):
    """uvicorn with two workers and another process (as a Celery child would) writing to the
    same PROMETHEUS_MULTIPROC_DIR: one scrape shows the sum of all of them."""
    url = f"sqlite:///{tmp_path / 'metrics.db'}"
    upgrade(url)
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    env = os.environ | {"DATABASE_URL": url, "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)}
    env.pop("REDIS_URL", None)
    subprocess.run([sys.executable, "-c", WRITER], env=env, check=True, timeout=60)
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "app.asgi:app", "--host", "127.0.0.1", "--port",
         str(port), "--workers", "2", "--log-level", "warning"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        def up():
            try:
                return httpx.get(f"{base}/healthz", timeout=2).status_code == 200
            except httpx.HTTPError:
                assert server.poll() is None, server.stderr.read()
                return False

        wait_until(up, timeout=60, what="uvicorn to start")
        for _ in range(6):  # a fresh connection each: either worker may answer
            with httpx.Client(verify=tls(), base_url=base) as client:
                assert client.get("/abcdefg").status_code == 404
        scraped = samples(httpx.get(f"{base}/metrics", timeout=10).text)
    finally:
        server.terminate()
        server.wait(30)
    assert value(scraped, "bazgasht_clicks_total", kind="human") == 5  # another process's
    assert value(scraped, "bazgasht_redirect_seconds_count") == 6
    assert any(p.name.startswith("histogram_") for p in metrics_dir.iterdir())
