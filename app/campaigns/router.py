"""The admin API's campaigns and their steps (`/api/v1/campaigns`): the edge of
app/campaigns/editing.py, which the merchant panel calls too."""

from fastapi import APIRouter

from app.campaigns import audience, editing
from app.campaigns.deps import CampaignDep, StepDep
from app.campaigns.models import Campaign, CampaignStep
from app.campaigns.schemas import (
    AudienceOut,
    AudienceRequest,
    CampaignCreate,
    CampaignList,
    CampaignOut,
    CampaignPatch,
    Deleted,
    StepCreate,
    StepOut,
    StepPatch,
)
from app.deps import NowDep, SessionDep, StoreDep
from app.errors import api_errors

router = APIRouter(prefix="/api/v1/campaigns", tags=["admin: campaigns"], responses=api_errors())


def campaign_out(campaign: Campaign, steps: list[CampaignStep]) -> dict:
    # The steps are not an attribute of the campaign's row (no relationship): handed in.
    return dict(id=campaign.id, kind=campaign.kind, name=campaign.name, active=campaign.active,
                promotional=campaign.promotional, trigger=campaign.trigger,
                trigger_minutes=campaign.trigger_minutes,
                trigger_params=campaign.trigger_params or {}, conditions=campaign.conditions or {},
                exits=campaign.exits or {}, control_percent=campaign.control_percent,
                created_at=campaign.created_at, steps=[StepOut.model_validate(s) for s in steps])


def _one(session, campaign: Campaign) -> dict:
    steps = editing.live_steps(session, campaign_ids=[campaign.id])[campaign.id]
    return campaign_out(campaign, steps)


@router.get("", response_model=CampaignList, summary="The store's campaigns with their steps")
def list_campaigns(store: StoreDep, session: SessionDep) -> dict:
    campaigns = editing.list_campaigns(session, store=store)
    steps = editing.live_steps(session, campaign_ids=[c.id for c in campaigns])
    return dict(items=[campaign_out(c, steps[c.id]) for c in campaigns])


@router.post("", status_code=201, response_model=CampaignOut, responses=api_errors(409),
             summary="Create a campaign (paused unless active: true)")
def create_campaign(data: CampaignCreate, store: StoreDep, session: SessionDep, now: NowDep) -> dict:
    return _one(session, editing.create_campaign(session, store=store, data=data, now=now))


@router.get("/{campaign_id}", response_model=CampaignOut, responses=api_errors(404))
def get_campaign(campaign: CampaignDep, session: SessionDep) -> dict:
    return _one(session, campaign)


@router.patch("/{campaign_id}", response_model=CampaignOut, responses=api_errors(404),
              summary="Rename it, change its trigger or its control share")
def update_campaign(campaign: CampaignDep, patch: CampaignPatch, session: SessionDep) -> dict:
    return _one(session, editing.update_campaign(session, campaign=campaign, patch=patch))


@router.post("/{campaign_id}/pause", response_model=CampaignOut, responses=api_errors(404),
             summary="Pause: messages due meanwhile are held, not lost")
def pause_campaign(campaign: CampaignDep, session: SessionDep, now: NowDep) -> dict:
    return _one(session, editing.set_active(session, campaign=campaign, active=False, now=now))


@router.post("/{campaign_id}/resume", response_model=CampaignOut, responses=api_errors(404, 409),
             summary="Resume: held messages go out at the next tick, under every rule again")
def resume_campaign(campaign: CampaignDep, session: SessionDep, now: NowDep) -> dict:
    return _one(session, editing.set_active(session, campaign=campaign, active=True, now=now))


@router.delete("/{campaign_id}", response_model=Deleted, responses=api_errors(404),
               summary="Delete: its messages not sent yet are skipped (never sent); history stays")
def delete_campaign(campaign: CampaignDep, session: SessionDep, now: NowDep) -> dict:
    skipped, exited = editing.delete_campaign(session, campaign=campaign, now=now)
    return dict(deleted=True, skipped_messages=skipped, exited_enrollments=exited)


@router.post("/{campaign_id}/steps", status_code=201, response_model=StepOut,
             responses=api_errors(404, 409), summary="Add a last step (for enrollments from now on)")
def add_step(campaign: CampaignDep, data: StepCreate, session: SessionDep,
             now: NowDep) -> StepOut:
    return StepOut.model_validate(editing.add_step(session, campaign=campaign, data=data,
                                                   now=now))


@router.get("/{campaign_id}/steps/{step_id}", response_model=StepOut, responses=api_errors(404))
def get_step(found: StepDep) -> StepOut:
    _, step = found
    return StepOut.model_validate(step)


@router.patch("/{campaign_id}/steps/{step_id}", response_model=StepOut, responses=api_errors(404),
              summary="Change a step (a new text applies to every message not sent yet)")
def update_step(found: StepDep, patch: StepPatch, session: SessionDep, now: NowDep) -> StepOut:
    _, step = found
    return StepOut.model_validate(editing.update_step(
        session, step=step, data=patch.model_dump(exclude_unset=True), now=now))


@router.delete("/{campaign_id}/steps/{step_id}", response_model=Deleted,
               responses=api_errors(404, 409),
               summary="Delete a step: its messages not sent yet are skipped (never sent)")
def delete_step(found: StepDep, session: SessionDep, now: NowDep) -> dict:
    campaign, step = found
    skipped = editing.delete_step(session, campaign=campaign, step=step, now=now)
    return dict(deleted=True, skipped_messages=skipped)


@router.post("/{campaign_id}/audience", response_model=AudienceOut, responses=api_errors(404),
             summary="Who it would take: its trigger's subjects of the last days (reorder_due: "
                     "due now) that its conditions (saved, or tried) let in; nothing is written")
def campaign_audience(campaign: CampaignDep, store: StoreDep, session: SessionDep, now: NowDep,
                      body: AudienceRequest | None = None) -> dict:
    body = body or AudienceRequest()
    found = audience.audience(session, store=store, campaign=campaign, now=now, days=body.days,
                              given=body.conditions, trigger_params=body.trigger_params)
    return dict(trigger=found.trigger, days=found.days, since=found.since,
                looked_at=found.looked_at, passing=found.passing, capped=found.capped,
                cap=audience.CAP, first=[vars(entry) for entry in found.first])
