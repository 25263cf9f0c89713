"""Template previews and test sends."""

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from app.admin import preview
from app.admin.preview import Rendered
from app.admin.schemas import (
    DraftPreviewRequest,
    PreviewOut,
    PreviewRequest,
    TestSendOut,
    TestSendRequest,
)
from app.campaigns import editing
from app.campaigns.deps import CampaignDep, StepDep
from app.deps import NowDep, SessionDep, StoreDep
from app.errors import api_errors, error_body
from app.messaging.deps import GatewaysDep
from app.messaging.gateway import GatewayError

router = APIRouter(prefix="/api/v1/campaigns", tags=["admin: preview"], responses=api_errors(404))


def preview_out(rendered: Rendered) -> dict:
    lookup = rendered.lookup
    return dict(text=rendered.text, characters=len(rendered.text),
                encoding=rendered.segments.encoding, parts=rendered.segments.parts,
                cost_estimate=rendered.cost_estimate, price_per_part=rendered.price_per_part,
                subject=rendered.subject, variant=rendered.variant,
                opt_out_line=rendered.opt_out_line,
                lookup=dict(template=lookup.template, tokens=lookup.tokens) if lookup else None,
                warnings=[dict(code=p.code, message=p.message, blocking=True)
                          for p in rendered.problems]
                + [dict(code=w.code, message=w.message, blocking=False)
                   for w in rendered.warnings])


@router.post("/{campaign_id}/steps/{step_id}/preview", response_model=PreviewOut,
             summary="A step's SMS for the sample subject or a real cart or order: text, parts, "
                     "cost (nothing is written, no link is made)")
def preview_step(found: StepDep, store: StoreDep, session: SessionDep, now: NowDep,
                 body: PreviewRequest | None = None) -> dict:
    body = body or PreviewRequest()
    campaign, step = found
    return preview_out(preview.preview(session, store=store, campaign=campaign, step=step,
                                       template=body.template, variant=body.variant,
                                       cart_id=body.cart_id, order_id=body.order_id,
                                       now=now))


@router.post("/{campaign_id}/preview", response_model=PreviewOut,
             summary="Preview a step that is not saved yet (its template, coupon and lookup)")
def preview_draft(campaign: CampaignDep, body: DraftPreviewRequest, store: StoreDep,
                  session: SessionDep, now: NowDep) -> dict:
    draft = editing.draft_step(campaign=campaign,
                               data=body.model_dump(include={"template", "coupon", "lookup"}))
    return preview_out(preview.preview(session, store=store, campaign=campaign, step=draft,
                                       cart_id=body.cart_id, order_id=body.order_id,
                                       now=now))


@router.post("/{campaign_id}/steps/{step_id}/test-send", response_model=TestSendOut,
             responses=api_errors(409, 429, 502),  # 422 also: the gateway refused
             summary="Send the step's preview to a phone through the store's gateway "
                     f"(at most {preview.TEST_SENDS_PER_HOUR} per hour)")
def test_send(found: StepDep, body: TestSendRequest, store: StoreDep, session: SessionDep,
              gateways: GatewaysDep, now: NowDep):
    campaign, step = found
    rendered = preview.preview(session, store=store, campaign=campaign, step=step,
                               template=body.template, variant=body.variant,
                               cart_id=body.cart_id, order_id=body.order_id, now=now)
    return send_test(session, gateways, store=store, step=step, phone=body.phone,
                     rendered=rendered, now=now)


def send_test(session, gateways, *, store, step, phone: str, rendered: Rendered, now):
    """A rendered SMS to one phone through the store's gateway, as a test send: recorded first
    (it counts against the limit), then sent with no transaction open; the answer a test-send
    endpoint gives (a campaign step's, a broadcast's)."""
    try:
        ticket = preview.open_test_send(session, store=store, step=step, phone=phone,
                                        rendered=rendered, now=now)
    except preview.TestSendLimited as exc:
        return JSONResponse(error_body(exc.code, exc.message), status_code=exc.status_code,
                            headers={"Retry-After": str(exc.retry_after)})
    # The send is recorded (it counts against the limit) and no transaction stays open while
    # the gateway is called.
    session.commit()
    outcome = preview.deliver_test_send(gateways.for_store(store), ticket)
    row = preview.close_test_send(session, ticket=ticket, outcome=outcome)
    if isinstance(outcome, GatewayError):
        session.commit()  # keep the failure on record; the error below would roll it back
        raise preview.test_send_failure(outcome)
    return dict(id=row.id, phone=row.phone, status=row.status, gateway_id=row.gateway_id,
                text=row.text, parts=None if rendered.lookup else rendered.segments.parts,
                created_at=row.created_at)
