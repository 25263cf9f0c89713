from functools import lru_cache

from celery import shared_task

from app.db import make_engine, make_sessionmaker
from app.ingest.service import process_pending


@lru_cache
def _sessionmaker(database_url: str):
    return make_sessionmaker(make_engine(database_url))


@shared_task(name="bazgasht.ingest.process_pending", bind=True)
def apply_webhook_deliveries(self) -> int:
    return process_pending(_sessionmaker(self.app.conf.bazgasht_database_url))
