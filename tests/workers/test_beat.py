"""Production: beat schedules each scheduler job apart (its own task, its own interval), and a
worker runs a job's task as the embedded loop runs the job."""

import time
import uuid
from datetime import timedelta

from celery.contrib.testing.worker import start_worker
from sqlalchemy import select

from app.campaigns.models import Message
from app.config import get_settings
from app.scheduler import JOBS
from tests.campaigns.shop import tehran
from workers.celery_app import make_celery

AT = tehran("2026-11-24T10:00")
DUE = tehran("2026-11-24T11:00")


def test_beat_schedules_every_job_with_its_own_task_and_interval():
    celery = make_celery(redis_url="redis://127.0.0.1:1/0", database_url="sqlite://")
    schedule = celery.conf.beat_schedule
    by_task = {entry["task"]: entry for entry in schedule.values()}
    assert len(by_task) == len(schedule)  # no task twice
    tick_seconds = get_settings().tick_seconds
    for job in JOBS:
        entry = by_task[f"bazgasht.jobs.{job.name}"]
        assert entry["schedule"] == job.interval(tick_seconds), job.name
        # A nudge nobody ran within its interval is dropped: the next one comes anyway.
        assert entry["options"]["expires"] == job.interval(tick_seconds), job.name
    assert "bazgasht.campaigns.tick" not in by_task  # the all-jobs task is for hands only
    celery.loader.import_default_modules()  # what a worker loads when it starts
    assert set(by_task) <= set(celery.tasks)  # every task beat names, a worker has


def test_a_worker_runs_the_jobs_tasks(shop, database_url, redis_url):
    """Beat's nudges, sent by hand: enrolment enrolls the cart, dispatch claims its reminder
    and hands it to a send_batch task, which sends it."""
    shop.cart("beat-cart-0001", AT)
    celery = make_celery(redis_url=redis_url, database_url=database_url)
    # A queue of its own: no other test's worker takes these tasks.
    celery.conf.task_default_queue = f"jobs-test-{uuid.uuid4().hex[:12]}"
    with start_worker(celery, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        enrolment = celery.send_task("bazgasht.jobs.enrolment", (DUE.isoformat(),))
        dispatch = celery.send_task("bazgasht.jobs.dispatch", (DUE.isoformat(),))
        deadline = time.monotonic() + 60  # a bound, not a wait: the worker starts at once
        while time.monotonic() < deadline and not shop.sms():
            time.sleep(0.05)
        assert enrolment.id != dispatch.id
    assert len(shop.sms()) == 1
    with shop.factory() as session:
        assert session.scalar(select(Message.status).where(
            Message.due_at <= DUE + timedelta(minutes=1))) == "sent"
