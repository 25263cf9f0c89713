"""What-if patches for bench/tick.py: changes to app code tried in the benchmark's processes
only, to put a number on a proposal before anyone edits app/. Nothing here is app code.

Against app/campaigns/dispatch.py as of 50de42b ("Dispatch in batches"):

`hold-rows`: _Batch preloads a batch's enrollments, campaigns, stores, steps, carts and orders
  with one IN query each but keeps no reference to them. SQLAlchemy's identity map holds
  unmodified objects weakly, so they are freed at once, and every guard's session.get() loads
  its cart (twice), enrollment and step again, one SELECT each; each of those loads autoflushes
  the previous guard's changes first (one UPDATE per message). The patch keeps the rows
  referenced for the batch's lifetime (the app's fix: keep the loaded lists on the _Batch).

`no-autoflush`: each guard runs with autoflush off (for comparison; with hold-rows the
  guards no longer query, so nothing triggers an autoflush anyway).

In process: `install("hold-rows")`. Celery workers: `-A bench.tick_patch:celery_app` with
BENCH_TICK_PATCH=hold-rows in the environment (the module attribute installs the patch in that
worker process, then returns the real app).
"""

import os

from sqlalchemy import select

PATCHES = ("hold-rows", "no-autoflush")
_installed: set[str] = set()


def _hold_rows() -> None:
    from app.campaigns import dispatch
    from app.campaigns.models import Campaign, CampaignStep, Enrollment
    from app.commerce.models import Cart, Order
    from app.stores.models import Store

    batch_cls = getattr(dispatch, "_Batch", None)
    if batch_cls is None:
        raise SystemExit("what-if hold-rows: app.campaigns.dispatch has no _Batch at this commit")
    original_init = batch_cls.__init__

    def __init__(self, session, messages, now):
        held = []

        def load(model, ids):
            ids = set(ids)
            rows = list(session.scalars(select(model).where(model.id.in_(ids)))) if ids else []
            held.extend(rows)
            return rows

        enrollments = load(Enrollment, (m.enrollment_id for m in messages))
        load(Campaign, (m.campaign_id for m in messages))
        load(Store, (m.store_id for m in messages))
        load(CampaignStep, (m.step_id for m in messages))
        load(Cart, (e.subject_id for e in enrollments if e.subject_type == "cart"))
        load(Order, (e.subject_id for e in enrollments if e.subject_type == "order"))
        self._held = held  # loaded first, so the original's own loads find these very objects
        original_init(self, session, messages, now)

    batch_cls.__init__ = __init__

    def undo():
        batch_cls.__init__ = original_init
    return undo


def _no_autoflush() -> None:
    from app.campaigns import dispatch

    original_guard = dispatch._guard

    def _guard(session, *args, **kwargs):
        with session.no_autoflush:
            return original_guard(session, *args, **kwargs)

    dispatch._guard = _guard

    def undo():
        dispatch._guard = original_guard
    return undo


_UNDO: dict[str, object] = {}


def install(names: str) -> None:
    for name in filter(None, names.split("+")):
        if name in _installed:
            continue
        if name == "hold-rows":
            _UNDO[name] = _hold_rows()
        elif name == "no-autoflush":
            _UNDO[name] = _no_autoflush()
        else:
            raise SystemExit(f"unknown patch {name!r} (known: {', '.join(PATCHES)})")
        _installed.add(name)


def uninstall() -> None:
    for name in list(_installed):
        _UNDO.pop(name)()
        _installed.discard(name)


def __getattr__(name):
    if name == "celery_app":  # celery -A bench.tick_patch:celery_app
        install(os.environ.get("BENCH_TICK_PATCH", ""))
        from workers.celery_app import celery_app
        return celery_app
    raise AttributeError(name)
