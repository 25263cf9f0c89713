"""Writers mark the days whose reports they change, in their own transaction.

Every writer that changes what a day of the reports counts (a message sent, settled,
delivered, its parts; a link's first click; a credit made, removed or cut by a refund) marks
the store-local day of the message's `sent_at` here, and the `report_rollup` job rolls that day
up again (app/reports/rollup.py). A report reads a marked day from the raw tables meanwhile, so
it is exact at every moment.

A mark is a row of its own per writing transaction, not an upsert of a shared (store, day) row:
an upsert would queue every concurrent writer of a store's day behind each other (it locks the
row until commit), and an insert-or-ignore would let the job consume an older mark while a
writer that relied on it has not committed yet. The job deletes exactly the marks it read
before it read the raw tables, so a mark written meanwhile stays. A transaction marks each
(store, day) once, however many of its messages it changes.

A package of its own, below campaigns and links (which mark) and reports (which reads): it
knows the three columns of `messages` it reads by name only.
"""

from collections.abc import Iterable
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import BigInteger, column, insert, select, table
from sqlalchemy.orm import Session

from app.db import in_ids
from app.report_marks.models import ReportDirtyDay
from app.stores.models import Store
from app.types import UTCDateTime

_MARKED = "report_marks"
_messages = table("messages", column("id", BigInteger()), column("store_id"),
                  column("sent_at", UTCDateTime()))


def local_day(at: datetime, tz: str) -> date:
    return at.astimezone(ZoneInfo(tz)).date()


def _state(session: Session) -> tuple[set[tuple[int, date]], dict[int, str]]:
    """This transaction's marks so far, and the timezones of their stores (a lookup per store
    per transaction, not per message: the session keeps no strong reference to a Store)."""
    transaction = session.get_nested_transaction() or session.get_transaction()
    owner, done, zones = session.info.get(_MARKED, (None, set(), {}))
    if owner is not transaction or transaction is None:
        done, zones = set(), {}
        session.info[_MARKED] = (transaction, done, zones)
    return done, zones


def mark_dirty(session: Session, sent: Iterable[tuple[int, datetime | None]]) -> None:
    """These (store id, sent_at) count differently now (sent_at None: never went out, nothing
    to mark)."""
    done, zones = _state(session)
    days = set()
    for store_id, at in sent:
        if at is None:
            continue
        if store_id not in zones:
            zones[store_id] = session.get_one(Store, store_id).timezone
        days.add((store_id, local_day(at, zones[store_id])))
    new = days - done
    if new:
        session.execute(insert(ReportDirtyDay),
                        [{"store_id": store_id, "day": day} for store_id, day in sorted(new)])
        done |= new


def mark_messages(session: Session, message_ids: Iterable[int]) -> None:
    """These messages, those that went out, count differently now."""
    ids = list(message_ids)
    if ids:
        mark_dirty(session, session.execute(
            select(_messages.c.store_id, _messages.c.sent_at).distinct()
            .where(in_ids(_messages.c.id, ids), _messages.c.sent_at.is_not(None))).all())
