"""The admin API's preset catalog (`/api/v1/presets`): what a store can add as a campaign, and
adding one (paused) through app/campaigns/editing.py, as the panel's gallery does."""

from typing import Annotated

from fastapi import APIRouter, Path

from app.campaigns import editing
from app.campaigns.catalog import PresetList, catalog
from app.campaigns.router import campaign_out
from app.campaigns.schemas import CampaignOut
from app.deps import NowDep, SessionDep, StoreDep
from app.errors import api_errors

router = APIRouter(prefix="/api/v1/presets", tags=["admin: presets"], responses=api_errors())

PresetKind = Annotated[str, Path(max_length=40, examples=["win_back"],
                                 description="a preset's kind, as GET /api/v1/presets lists it")]


@router.get("", response_model=PresetList,
            summary="The presets: automations ready to add, with their triggers and texts")
def list_presets(store: StoreDep) -> dict:
    return dict(items=catalog())


@router.post("/{kind}", status_code=201, response_model=CampaignOut, responses=api_errors(404),
             summary="Add a preset as a new campaign of the store, paused")
def add_preset(kind: PresetKind, store: StoreDep, session: SessionDep, now: NowDep) -> dict:
    campaign = editing.add_from_preset(session, store=store, kind=kind, now=now)
    return campaign_out(campaign, editing.live_steps(session, campaign_ids=[campaign.id])[
        campaign.id])
