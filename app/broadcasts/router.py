"""The admin API's broadcasts (`/api/v1/broadcasts`): the edge of app/broadcasts/service.py."""

from fastapi import APIRouter

from app.admin import preview
from app.admin.routers.preview import preview_out, send_test
from app.admin.schemas import PreviewOut, TestSendOut
from app.broadcasts import previews, service
from app.broadcasts.deps import BroadcastDep
from app.broadcasts.models import Broadcast
from app.broadcasts.schemas import (
    BroadcastCreate,
    BroadcastList,
    BroadcastOut,
    BroadcastPatch,
    CancelOut,
    Deleted,
    EstimateOut,
    PreviewRequest,
    ScheduleRequest,
    TestSendRequest,
)
from app.campaigns.models import Campaign, CampaignStep
from app.deps import NowDep, SessionDep, StoreDep
from app.errors import api_errors
from app.messaging.deps import GatewaysDep
from app.pagination import Cursor, Limit, page
from app.stores.models import Store

router = APIRouter(prefix="/api/v1/broadcasts", tags=["admin: broadcasts"],
                   responses=api_errors())


def broadcast_out(broadcast: Broadcast, step: CampaignStep, control_percent: int,
                  report: dict | None = None) -> dict:
    return dict(
        id=broadcast.id, name=broadcast.name, status=broadcast.status,
        segment_id=broadcast.segment_id, definition=broadcast.definition,
        template=step.template, coupon=step.coupon, lookup=step.lookup,
        send_within_minutes=step.send_within_minutes, scheduled_at=broadcast.scheduled_at,
        max_cost=broadcast.max_cost, control_percent=control_percent,
        estimated_recipients=broadcast.estimated_recipients,
        estimated_parts=broadcast.estimated_parts, estimated_cost=broadcast.estimated_cost,
        estimated_at=broadcast.estimated_at, refused_reason=broadcast.refused_reason,
        refused_detail=broadcast.refused_detail, recipients=broadcast.recipients,
        started_at=broadcast.started_at, finished_at=broadcast.finished_at,
        created_at=broadcast.created_at, report=report)


def _one(session, store: Store, broadcast: Broadcast, now) -> dict:
    return broadcast_out(broadcast, service.step_of(session, broadcast),
                         session.get_one(Campaign, broadcast.campaign_id).control_percent,
                         service.report(session, store=store, broadcast=broadcast, now=now))


@router.get("", response_model=BroadcastList, summary="The store's broadcasts, newest first")
def list_broadcasts(store: StoreDep, session: SessionDep, limit: Limit = 50,
                    cursor: Cursor = None) -> dict:
    rows, next_cursor = page(session, service.broadcasts_of_store(store.id), Broadcast.id,
                             limit=limit, cursor=cursor)
    found = [b for (b,) in rows]
    steps, controls = service.steps_of(session, found), service.controls_of(session, found)
    return dict(items=[broadcast_out(b, steps[b.id], controls[b.id]) for b in found],
                next_cursor=next_cursor)


@router.post("", status_code=201, response_model=BroadcastOut, responses=api_errors(404),
             summary="Draft a broadcast: a name, a segment, the SMS (nothing is sent)")
def create_broadcast(data: BroadcastCreate, store: StoreDep, session: SessionDep,
                     now: NowDep) -> dict:
    return _one(session, store, service.create(session, store=store, data=data, now=now), now)


@router.get("/{broadcast_id}", response_model=BroadcastOut, responses=api_errors(404),
            summary="A broadcast, with its report once it started")
def get_broadcast(broadcast: BroadcastDep, store: StoreDep, session: SessionDep,
                  now: NowDep) -> dict:
    return _one(session, store, broadcast, now)


@router.patch("/{broadcast_id}", response_model=BroadcastOut, responses=api_errors(404, 409),
              summary="Change a draft")
def update_broadcast(broadcast: BroadcastDep, patch: BroadcastPatch, store: StoreDep,
                     session: SessionDep, now: NowDep) -> dict:
    service.update_draft(session, store=store, broadcast=broadcast, patch=patch, now=now)
    return _one(session, store, broadcast, now)


@router.delete("/{broadcast_id}", response_model=Deleted, responses=api_errors(404, 409),
               summary="Delete a draft")
def delete_broadcast(broadcast: BroadcastDep, session: SessionDep) -> dict:
    service.delete_draft(session, broadcast=broadcast)
    return dict(deleted=True)


@router.post("/{broadcast_id}/estimate", response_model=EstimateOut,
             responses=api_errors(404, 409, 502),
             summary="What sending it now costs: recipients × parts × price per part, against "
                     "the balance (or the gateway's credit) and its budget")
def estimate(broadcast: BroadcastDep, store: StoreDep, session: SessionDep,
             gateways: GatewaysDep, now: NowDep) -> dict:
    session.commit()  # no transaction stays open while the gateway is asked
    money = service.available_for_request(gateways, store)
    found = service.estimate(session, store=store, broadcast=broadcast, money=money, now=now)
    return dict(recipients=found.recipients, parts=found.parts,
                price_per_part=found.price_per_part, cost=found.cost,
                available=found.available, max_cost=found.max_cost,
                affordable=found.affordable, within_budget=found.within_budget,
                text=found.text, estimated_at=now)


@router.post("/{broadcast_id}/preview", response_model=PreviewOut,
             responses=api_errors(404, 409),
             summary="Its SMS for one member of its segment (contact_id) or the sample customer: "
                     "text, parts, cost (nothing is written, no link is made)")
def preview_broadcast(broadcast: BroadcastDep, store: StoreDep, session: SessionDep,
                      now: NowDep, body: PreviewRequest | None = None) -> dict:
    body = body or PreviewRequest()
    return preview_out(previews.for_contact(session, store=store, broadcast=broadcast,
                                            contact_id=body.contact_id, now=now))


@router.post("/{broadcast_id}/schedule", response_model=BroadcastOut,
             responses=api_errors(404, 409, 502),
             summary="Schedule it (409 over_balance / over_budget: the estimate is more than "
                     "there is; nothing is scheduled)")
def schedule(broadcast: BroadcastDep, store: StoreDep, session: SessionDep,
             gateways: GatewaysDep, now: NowDep, body: ScheduleRequest | None = None) -> dict:
    body = body or ScheduleRequest()
    session.commit()  # no transaction stays open while the gateway is asked
    money = service.available_for_request(gateways, store)
    service.schedule(session, store=store, broadcast=broadcast, at=body.scheduled_at,
                     money=money, now=now)
    return _one(session, store, broadcast, now)


@router.post("/{broadcast_id}/cancel", response_model=CancelOut, responses=api_errors(404, 409),
             summary="Cancel: its SMS not sent yet are skipped (never sent)")
def cancel(broadcast: BroadcastDep, session: SessionDep, now: NowDep) -> dict:
    return dict(status="cancelled",
                skipped_messages=service.cancel(session, broadcast=broadcast, now=now))


@router.post("/{broadcast_id}/test-send", response_model=TestSendOut,
             responses=api_errors(404, 409, 429, 502),
             summary="Send its SMS, for the sample customer, to a phone through the store's "
                     f"gateway (at most {preview.TEST_SENDS_PER_HOUR} test SMS per hour)")
def test_send(broadcast: BroadcastDep, body: TestSendRequest, store: StoreDep,
              session: SessionDep, gateways: GatewaysDep, now: NowDep):
    campaign = session.get_one(Campaign, broadcast.campaign_id)
    step = service.step_of(session, broadcast)
    rendered = preview.preview(session, store=store, campaign=campaign, step=step, now=now)
    return send_test(session, gateways, store=store, step=step, phone=body.phone,
                     rendered=rendered, now=now)
