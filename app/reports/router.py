"""The merchant's reports: `/api/v1/reports/...`, with the store's API key."""

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse

from app.campaigns.deps import CampaignWithHistoryDep
from app.deps import NowDep, SessionDep, StoreDep
from app.errors import api_errors
from app.reports import export, retention, schemas, service
from app.reports.deps import PeriodDep
from app.reports.segments import segment_report
from app.segments.deps import SegmentDep

router = APIRouter(prefix="/api/v1/reports", tags=["reports"])

_MAX_ID = 2**31 - 1  # campaigns.id is an INTEGER: a larger id names no campaign
CampaignFilter = Annotated[int | None, Query(ge=1, le=_MAX_ID,
                                             description="only this campaign's messages")]
Phones = Annotated[Literal["masked", "full"], Query(
    description="masked (default): +989*****6789; full: the whole number")]


@router.get("/summary", response_model=schemas.Summary,
            summary="Totals, and per campaign, step, A/B variant and broadcast, for a period")
def summary(request: Request, store: StoreDep, session: SessionDep, period: PeriodDep) -> dict:
    return service.summary(session, store=store, period=period,
                           broadcasts_of=request.app.state.broadcasts_of)


@router.get("/campaigns/{campaign_id}", response_model=schemas.CampaignReport,
            summary="One campaign: its steps and variants, opt-outs and survey answers")
def campaign(store: StoreDep, session: SessionDep, period: PeriodDep,
             campaign: CampaignWithHistoryDep) -> dict:
    # After the period: a malformed period is refused before the campaign is looked up.
    return service.campaign_report(session, store=store, period=period, campaign=campaign)


@router.get("/timeseries", response_model=schemas.TimeSeries,
            summary="Per day (store-local, with Jalali labels): sent, delivered, clicks, "
                    "orders, revenue, cost")
def timeseries(store: StoreDep, session: SessionDep, period: PeriodDep,
               campaign_id: CampaignFilter = None) -> dict:
    return service.timeseries(session, store=store, period=period,
                              campaign_id=campaign_id)


@router.get("/ab-tests", response_model=schemas.AbTests,
            summary="A/B variants per step: who leads on clicks and orders, and whether it is "
                    "significant yet")
def ab_tests(store: StoreDep, session: SessionDep, period: PeriodDep,
             campaign_id: CampaignFilter = None) -> dict:
    return service.ab_tests(session, store=store, period=period,
                            campaign_id=campaign_id)


@router.get("/retention", response_model=schemas.Retention,
            summary="Retention per Jalali month: customers new and returning, repeat purchases, "
                    "time to a second order, refunds, satisfaction, lifetime value by cohort")
def retention_report(store: StoreDep, session: SessionDep, period: PeriodDep,
                     now: NowDep) -> dict:
    return retention.retention(session, store=store, period=period, now=now)


_CSV = {200: {"content": {"text/csv": {}},
              "description": "UTF-8 CSV with a byte-order mark (opens in Excel), streamed"}}


@router.get("/messages.csv", response_class=StreamingResponse, responses=_CSV,
            summary="The period's messages as CSV")
def messages_csv(request: Request, store: StoreDep, session: SessionDep, period: PeriodDep,
                 campaign_id: CampaignFilter = None,
                 phones: Phones = "masked") -> StreamingResponse:
    return _export(export.messages_csv, "messages", request, store, session, period,
                   campaign_id, phones)


@router.get("/orders.csv", response_class=StreamingResponse, responses=_CSV,
            summary="The orders credited to the period's messages as CSV")
def orders_csv(request: Request, store: StoreDep, session: SessionDep, period: PeriodDep,
               campaign_id: CampaignFilter = None,
               phones: Phones = "masked") -> StreamingResponse:
    return _export(export.orders_csv, "orders", request, store, session, period, campaign_id,
                   phones)


def _export(rows_of, name: str, request: Request, store, session, period, campaign_id,
            phones) -> StreamingResponse:
    if campaign_id is not None:
        service.store_campaign(session, store=store, campaign_id=campaign_id)
    # Pages are read after this request's session is closed, each in a short read of its own.
    rows = rows_of(request.app.state.sessionmaker, store=export.StoreView.of(store),
                   period=period, campaign_id=campaign_id, phones=phones)
    return export.download(rows, name, period)


# A segment's report lives with the reports (it reads their figures); its address is the
# segment's.
segments_router = APIRouter(prefix="/api/v1/segments", tags=["admin: segments"])


@segments_router.get("/{segment_id}/report", response_model=schemas.SegmentReport, responses=api_errors(404),
            summary="Its size now, and what its members got and bought in a period")
def report(store: StoreDep, session: SessionDep, now: NowDep, period: PeriodDep,
           segment: SegmentDep) -> dict:
    """`from`/`to` as in the reports (store-local days, ISO or Jalali, by default the last 30
    days). The members are those in the segment now; their messages are those that went out in
    the period, with their clicks and credited orders whenever they came, and their purchases
    those placed in the period, whatever brought them."""
    # The period before the segment: a malformed period is refused before the id is looked up.
    return segment_report(session, store=store, segment=segment, period=period, now=now)
