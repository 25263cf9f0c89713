"""Carts, orders and messages: filtered lists, newest first, with cursor pagination."""

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query

from app.admin import activity
from app.admin.schemas import (
    MESSAGE_STATUS,
    CartOut,
    MessageOut,
    OrderOut,
)
from app.deps import SessionDep, StoreDep
from app.errors import api_errors
from app.pagination import Cursor, Limit, Page
from app.types import MAX_ID, MAX_SMALL_ID

router = APIRouter(prefix="/api/v1", tags=["admin: activity"], responses=api_errors(404))

CampaignId = Annotated[int | None, Query(ge=1, le=MAX_SMALL_ID,
                                         description="a campaign of this store")]
Since = Annotated[datetime | None, Query(
    alias="from", description="from this moment on (inclusive); without a zone: the store's "
                              "local time", examples=["2026-11-20T00:00:00+03:30"])]
Phone = Annotated[str | None, Query(
    max_length=40, description="the contact's phone or a part of it (at least 4 digits), in any "
                               "digits: 09121234567, +98912…, ۰۹۱۲…, 4567",
    examples=["۰۹۱۲۱۲۳"])]
Name = Annotated[str | None, Query(
    max_length=60, description="a part of the contact's name; Arabic ي/ك match Persian ی/ک, "
                               "spaces and half-spaces are ignored", examples=["محمدی"])]
Until = Annotated[datetime | None, Query(
    alias="to", description="up to this moment (exclusive)", examples=["2026-11-27"])]


@router.get("/carts", response_model=Page[CartOut],
            summary="Carts by last activity: status open|converted, campaign_id = enrolled in")
def list_carts(store: StoreDep, session: SessionDep,
               status: Literal["open", "converted"] | None = None,
               campaign_id: CampaignId = None, since: Since = None, until: Until = None,
               limit: Limit = 50, cursor: Cursor = None) -> dict:
    rows, next_cursor = activity.carts(
        session, store=store, limit=limit, cursor=cursor,
        filters=activity.Filters(status, campaign_id, since, until))
    return dict(items=[dict(
        id=c.id, token=c.token, status="converted" if c.converted_at else "open",
        contact_id=c.contact_id, first_name=c.first_name, last_name=c.last_name,
        phone_error=c.phone_error, items=c.items or [], total=c.total, currency=c.currency,
        cart_url=c.cart_url, modified_gmt=c.modified_gmt, converted_at=c.converted_at,
        order_id=c.order_id, created_at=c.created_at) for (c,) in rows], next_cursor=next_cursor)


@router.get("/orders", response_model=Page[OrderOut],
            summary="Orders by creation: status = WooCommerce's, campaign_id = credited to")
def list_orders(store: StoreDep, session: SessionDep,
                status: Annotated[str | None, Query(max_length=64, examples=["processing"])] = None,
                campaign_id: CampaignId = None, since: Since = None, until: Until = None,
                limit: Limit = 50, cursor: Cursor = None) -> dict:
    rows, next_cursor = activity.orders(
        session, store=store, limit=limit, cursor=cursor,
        filters=activity.Filters(status, campaign_id, since, until))
    return dict(items=[dict(
        id=o.id, wc_id=o.wc_id, number=o.number, status=o.status, purchased=o.purchased,
        total=o.total, currency=o.currency, contact_id=o.contact_id, first_name=o.first_name,
        last_name=o.last_name, items=o.items or [], coupon_codes=o.coupon_codes or [],
        created_gmt=o.created_gmt, paid_gmt=o.paid_gmt, completed_gmt=o.completed_gmt,
        deleted_at=o.deleted_at,
        attribution=dict(message_id=a.message_id, campaign_id=a.campaign_id, step_id=a.step_id,
                         variant=a.variant, basis=a.basis, revenue=a.revenue) if a else None)
        for o, a in rows], next_cursor=next_cursor)


@router.get("/messages", response_model=Page[MessageOut],
            summary="Messages by due time, with their status, reason, text and clicks; found by "
                    "status, campaign, contact, phone, name and due time")
def list_messages(store: StoreDep, session: SessionDep, status: MESSAGE_STATUS | None = None,
                  campaign_id: CampaignId = None,
                  contact_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
                  phone: Phone = None, name: Name = None,
                  since: Since = None, until: Until = None, limit: Limit = 50,
                  cursor: Cursor = None) -> dict:
    rows, next_cursor = activity.messages(
        session, store=store, contact_id=contact_id, limit=limit, cursor=cursor,
        filters=activity.Filters(status, campaign_id, since, until, phone=phone, name=name))
    return dict(items=[dict(
        id=m.id, campaign_id=m.campaign_id, step_id=m.step_id, enrollment_id=m.enrollment_id,
        contact_id=m.contact_id, status=m.status, reason=m.reason, reason_detail=m.reason_detail,
        variant=m.variant,
        text=m.text, due_at=m.due_at, sent_at=m.sent_at, delivered_at=m.delivered_at,
        parts=m.parts, cost=m.cost, human_clicks=clicks or 0, created_at=m.created_at)
        for m, clicks in rows], next_cursor=next_cursor)
