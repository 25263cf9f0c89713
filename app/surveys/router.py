"""The survey page customers reach from the survey SMS: GET shows it, a form POST answers it."""

from collections.abc import Sequence
from typing import Annotated
from urllib.parse import parse_qsl

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from app.deps import NowDep, SessionDep
from app.pages import not_found_page, page
from app.ratelimit import SURVEY_ANSWERS, client_ip, limit
from app.surveys import service
from app.surveys.models import SurveyAnswer
from app.surveys.service import AlreadyAnswered, InvalidAnswer, Survey, SurveyNotFound

# A rating and a 500-character Persian comment, percent-encoded, stay far below this.
MAX_FORM_BYTES = 16 * 1024

router = APIRouter(tags=["surveys"], include_in_schema=False)


async def read_form(request: Request) -> dict[str, str] | None:
    """The urlencoded form's fields (first value of each); None when the body is too large.

    Parsed here rather than with FastAPI's Form(): that needs python-multipart for a form that
    is only ever urlencoded.
    """
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            return None
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "application/x-www-form-urlencoded":
        return {}
    try:
        pairs = parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True,
                          max_num_fields=20)
    except ValueError:
        return {}
    fields: dict[str, str] = {}
    for key, value in pairs:
        fields.setdefault(key, value)
    return fields


FormDep = Annotated[dict[str, str] | None, Depends(read_form)]


def _form(survey: Survey, *, status_code: int = 200, errors: Sequence[str] = (),
          rating: int | None = None, comment: str = "") -> HTMLResponse:
    return page("survey.html", status_code=status_code, store_name=survey.store.name,
                order_number=survey.order_number, products=survey.product_names,
                errors=list(errors), rating=rating, comment=comment,
                max_comment=service.MAX_COMMENT)


def _answered(session: Session, survey: Survey, answer: SurveyAnswer, *, template: str,
              status_code: int) -> HTMLResponse:
    high = answer.rating >= service.HIGH_RATING
    return page(template, status_code=status_code, store_name=survey.store.name,
                order_number=survey.order_number, rating=answer.rating,
                low=answer.rating <= service.LOW_RATING,
                review_links=service.review_links(session, survey) if high else [])


def _open(request: Request, session: Session, token: str) -> Survey:
    # The campaign engine's message_subject, handed over by create_app (app.state).
    return service.open_survey(session, token=token,
                               message_subject=request.app.state.message_subject,
                               now=request.app.state.clock.now())


@router.get("/survey/{token}", response_class=HTMLResponse)
def show_survey(token: str, request: Request, session: SessionDep) -> HTMLResponse:
    try:
        survey = _open(request, session, token)
    except SurveyNotFound:
        return not_found_page()
    if survey.answer is not None:
        return _answered(session, survey, survey.answer, template="survey_answered.html",
                         status_code=200)
    return _form(survey)


@router.post("/survey/{token}", response_class=HTMLResponse)
def answer_survey(token: str, request: Request, form: FormDep, session: SessionDep,
                  now: NowDep) -> HTMLResponse:
    limit(request, SURVEY_ANSWERS, client_ip(request))
    try:
        survey = _open(request, session, token)
    except SurveyNotFound:
        return not_found_page()
    if form is None:
        if survey.answer is not None:
            return _answered(session, survey, survey.answer, template="survey_answered.html",
                             status_code=409)
        return _form(survey, status_code=413, errors=["too_large"])
    try:
        answer = service.submit_answer(session, survey=survey, form=form, now=now)
    except InvalidAnswer as exc:
        return _form(survey, status_code=exc.status_code, errors=exc.codes, rating=exc.rating,
                     comment=exc.comment[:service.MAX_COMMENT * 2])
    except AlreadyAnswered as exc:
        return _answered(session, survey, exc.answer, template="survey_answered.html",
                         status_code=exc.status_code)
    except SurveyNotFound:
        return not_found_page()
    return _answered(session, survey, answer, template="survey_thanks.html", status_code=200)
