"""Starting a broadcast to a 20,000-contact segment on PostgreSQL: how fast its members are
enrolled, from cold.

    .venv/bin/python bench/broadcast.py                  # from the repository root; under a minute
    .venv/bin/python bench/broadcast.py --contacts 5000  # a smaller segment

Creates a throwaway PostgreSQL database (BENCH_POSTGRES_URL, default the local server;
`bazgasht_bench_broadcast_<pid>`, dropped at the end whatever happens), migrates it, opens one
store (the console gateway: no credit to ask) and bulk-inserts N contacts (default 20,000), a
segment of everyone and a broadcast to it, scheduled for now. VACUUM ANALYZE.

Then, from cold (a new engine), the baseline: the segment's members computed once (the read
every start makes: `segments.service.members`, what the panel's preview costs). Then the
scheduler's broadcast job (`start_due`) is timed until the broadcast is sending with every
member enrolled: enrolled/s, and its time over the baseline's (what enrolling adds to reading
who is in the segment). Prints a table, writes bench/results/broadcast.json.
"""

import argparse
import json
import os
import platform
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, insert, select, text  # noqa: E402

from app.broadcasts import service  # noqa: E402
from app.broadcasts.models import SENDING, Broadcast  # noqa: E402
from app.broadcasts.schemas import BroadcastCreate  # noqa: E402
from app.campaigns.models import Enrollment, Message  # noqa: E402
from app.contacts.models import Contact  # noqa: E402
from app.db import make_engine, make_sessionmaker, unit_of_work  # noqa: E402
from app.messaging.gateway import ConsoleGateway  # noqa: E402
from app.migrate import upgrade  # noqa: E402
from app.onboarding import open_store  # noqa: E402
from app.segments.schemas import Definition, SegmentCreate  # noqa: E402
from app.segments.service import create_segment, members  # noqa: E402
from app.stores.models import Store  # noqa: E402
from app.stores.schemas import StoreCreate  # noqa: E402
from bench.harness import RESULTS, throwaway_database, time_limit  # noqa: E402

CONTACTS = 20_000
NOW = datetime(2026, 12, 1, 8, 0, tzinfo=timezone.utc)  # 11:30 in Tehran: within the window


def setup(url: str, n: int) -> tuple[int, int]:
    """The store, n contacts, a segment of everyone, a broadcast scheduled now: (store, id)."""
    engine = make_engine(url)
    factory = make_sessionmaker(engine)
    with unit_of_work(factory) as session:
        store, _ = open_store(session, StoreCreate(name="چای‌خانه", url="https://shop.example"))
        session.execute(insert(Contact), [dict(store_id=store.id, phone=f"+98912{i:07d}",
                                               first_name="علی") for i in range(n)])
        segment = create_segment(session, store_id=store.id, now=NOW,
                                 data=SegmentCreate(name="همه", definition=Definition()))
        broadcast = service.create(session, store=store, now=NOW, data=BroadcastCreate(
            name="حراج", segment_id=segment.id,
            template='{{ first_name or "مشتری" }} عزیز، حراج {{ store_name }}: {{ link }}'))
        service.schedule(session, store=store, broadcast=broadcast, at=None, money=None,
                         now=NOW)
        ids = store.id, broadcast.id
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
    engine.dispose()
    return ids


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=CONTACTS)
    args = parser.parse_args()
    time_limit(600)
    with throwaway_database(f"bazgasht_bench_broadcast_{os.getpid()}") as (url, version):
        upgrade(url)
        store_id, broadcast_id = setup(url, args.contacts)

        engine = make_engine(url)  # cold: a new engine, nothing cached
        factory = make_sessionmaker(engine)
        started = time.perf_counter()
        with factory() as session:
            store = session.get_one(Store, store_id)
            found = len(members(session, store=store, definition=Definition(), now=NOW))
        read = time.perf_counter() - started
        engine.dispose()

        engine = make_engine(url)
        factory = make_sessionmaker(engine)
        started = time.perf_counter()
        started_n = service.start_due(factory, ConsoleGateway(factory), NOW)
        took = time.perf_counter() - started
        with factory() as session:
            broadcast = session.get_one(Broadcast, broadcast_id)
            enrolled = session.scalar(select(func.count()).select_from(Enrollment))
            messages = session.scalar(select(func.count()).select_from(Message))
            assert broadcast.status == SENDING and broadcast.enrolled_at is not None
        engine.dispose()
    assert started_n == 1 and enrolled == messages == found == args.contacts, (
        started_n, enrolled, messages, found)
    result = {"contacts": args.contacts, "members_read_s": round(read, 3),
              "start_s": round(took, 3), "enrolled_per_s": round(enrolled / took),
              "start_over_read": round(took / read, 2), "postgres": version,
              "python": platform.python_version(),
              "at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    print(f"{'members read (baseline)':<28}{read:>8.2f} s")
    print(f"{'start: read + enrol':<28}{took:>8.2f} s")
    print(f"{'enrolled':<28}{enrolled:>8,} ({result['enrolled_per_s']:,}/s)")
    print(f"{'start / read':<28}{result['start_over_read']:>8.2f}")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "broadcast.json").write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
