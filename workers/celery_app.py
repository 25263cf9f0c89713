"""The Celery application (production mode, REDIS_URL set).

Postgres holds everything scheduled; Redis only carries "do this now" nudges. Beat re-runs
each job every few seconds, so a lost nudge costs seconds, never data.
"""

from celery import Celery, signals

import workers.ops  # noqa: F401  logs, metrics and task log context of worker processes
from app.config import get_settings
from app.scheduler import JOBS


def make_celery(redis_url: str | None = None, database_url: str | None = None) -> Celery:
    settings = get_settings()
    broker = redis_url or settings.redis_url or "redis://127.0.0.1:6379/0"
    app = Celery("bazgasht", broker=broker, include=["workers.tasks"])
    app.conf.update(
        bazgasht_database_url=database_url or settings.database_url,
        task_ignore_result=True,
        task_acks_late=True,
        worker_prefetch_multiplier=1,
        broker_connection_retry_on_startup=True,
        # ---- ops: shutdown and beat (README "Production") ----
        # A cold shutdown (SIGQUIT, a second Ctrl-C) still lets running batches finish this long.
        worker_soft_shutdown_timeout=settings.worker_soft_shutdown_seconds,
        beat_schedule={
            # `expires`: a nudge nobody ran in time is dropped, not piled up behind a busy or
            # stopped worker pool (the next one comes a few seconds later anyway).
            "apply-webhook-deliveries": {"task": "bazgasht.ingest.process_pending",
                                         "schedule": 5.0, "options": {"expires": 5.0}},
        } | job_schedule(settings.tick_seconds),
    )
    return app


def job_schedule(tick_seconds: float) -> dict:
    """One beat entry per scheduler job (app/scheduler.py JOBS), each its own task and
    interval: a slow or failing job delays no other."""
    return {f"job-{job.name}": {"task": job.task, "schedule": job.interval(tick_seconds),
                                "options": {"expires": job.interval(tick_seconds)}}
            for job in JOBS}


celery_app = make_celery()


@signals.beat_init.connect
def _run_every_job_at_start(sender, **_) -> None:
    """Beat's first round of an interval comes one interval after it starts: a deployment that
    starts (or restarts after an outage) with work waiting would sit idle that long. Every job
    is nudged once at beat's start instead; their locks keep this from doubling a round."""
    app = sender.app
    for entry in app.conf.beat_schedule.values():
        app.send_task(entry["task"], **entry.get("options", {}))
