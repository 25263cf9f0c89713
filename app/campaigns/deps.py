"""This store's campaign (or step) named in the path, or 404: what every API endpoint that
takes a campaign id asks for, so that no endpoint can forget that ids of another store are
unknown here."""

from typing import Annotated

from fastapi import Depends

from app.campaigns.editing import step_of
from app.campaigns.models import Campaign, CampaignStep
from app.campaigns.service import campaign_of_store
from app.deps import SessionDep, SmallPathId, StoreDep


def store_campaign(campaign_id: SmallPathId, store: StoreDep, session: SessionDep) -> Campaign:
    """The store's campaign, not deleted."""
    return campaign_of_store(session, store_id=store.id, campaign_id=campaign_id)


def store_campaign_with_history(campaign_id: SmallPathId, store: StoreDep,
                                session: SessionDep) -> Campaign:
    """The store's campaign, deleted ones too: for what asks after its history (reports)."""
    return campaign_of_store(session, store_id=store.id, campaign_id=campaign_id,
                             include_deleted=True)


def store_step(campaign_id: SmallPathId, step_id: SmallPathId, store: StoreDep,
               session: SessionDep) -> tuple[Campaign, CampaignStep]:
    """The store's campaign and its step (neither deleted)."""
    # Both ids are this function's own parameters rather than a CampaignDep beside step_id:
    # the OpenAPI document lists a dependency's own parameters before those of the dependencies
    # it uses, and the path's order (campaign_id, then step_id) is kept.
    campaign = store_campaign(campaign_id, store, session)
    return campaign, step_of(session, campaign=campaign, step_id=step_id)


CampaignDep = Annotated[Campaign, Depends(store_campaign)]
CampaignWithHistoryDep = Annotated[Campaign, Depends(store_campaign_with_history)]
StepDep = Annotated[tuple[Campaign, CampaignStep], Depends(store_step)]
