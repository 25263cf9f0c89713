"""The preset gallery («افزودن اتوماسیون از الگو»): every preset of the catalog with what starts
it, its steps' delays and its first SMS as the store's customer would read it (rendered on the
sample subject like a step's preview, not its raw template); adding one makes a paused campaign of it (the API's
POST /api/v1/presets/{kind}: app/campaigns/editing.add_from_preset)."""

from collections import Counter

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.admin.preview import preset_preview
from app.campaigns import editing
from app.campaigns.catalog import PresetNotFound, catalog
from app.campaigns.presets import PRESETS
from app.dashboard.auth import PanelDep, PanelNotFound, PostDep
from app.dashboard.views import page, redirect
from app.deps import NowDep, SessionDep

router = APIRouter(prefix="/panel/presets", include_in_schema=False)


@router.get("")
def gallery(request: Request, current: PanelDep, session: SessionDep, now: NowDep) -> Response:
    # How many campaigns of each kind the store has: a second copy is named apart, and of the
    # built-in kinds only one runs at a time.
    has = Counter(c.kind for c in editing.list_campaigns(session, store=current.store))
    texts = {kind: preset_preview(session, store=current.store, preset=preset, now=now)
             for kind, preset in PRESETS.items()}
    return page(request, "presets.html", panel=current, nav="campaigns", presets=catalog(),
                has=has, texts=texts)


@router.post("/{kind}")
def add(kind: str, current: PostDep, session: SessionDep, now: NowDep) -> Response:
    try:
        campaign = editing.add_from_preset(session, store=current.store, kind=kind, now=now)
    except PresetNotFound:
        raise PanelNotFound() from None
    return redirect(f"/panel/campaigns/{campaign.id}?ok=preset_added")
