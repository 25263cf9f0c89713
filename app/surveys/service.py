"""Post-purchase surveys: signed survey links, one answer per order, an alert for a low rating.

The survey link is `{public_url}/survey/{token}`. The token is the survey message's id followed by
a 96-bit HMAC-SHA256 tag, base64url without padding (about 20 characters):

- stateless: nothing to store or look up but the message row itself, and a retried send renders
  the same URL (the SMS text stays identical, as localid deduplication expects);
- unforgeable and unguessable: a 96-bit tag cannot be found by guessing over HTTP, and the key is
  per store, so a token of one store says nothing about another's;
- the key is derived from the store's webhook secret under a label of its own, so a survey tag can
  never double as a WooCommerce body signature or the reverse. Rotating that secret invalidates
  the links already sent; the merchant, who knows the secret, could forge links to their own
  store's surveys only, which gains them nothing they cannot do in their own shop.

Through the message the token reaches its enrollment, whose subject is the order being rated:
the campaign engine answers that (app.campaigns.service.message_subject), handed over by the
edge, because the engine imports surveys and dependencies point one way.
"""

import base64
import binascii
import hashlib
import hmac
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.alerts.models import SURVEY_LOW_RATING
from app.alerts.service import raise_alert
from app.commerce.models import Order, Product
from app.contacts.models import Contact
from app.digits import latin_digits, persian_digits
from app.errors import Conflict, DomainError, NotFound
from app.stores.models import Store
from app.stores.service import webhook_secrets
from app.surveys.models import SurveyAnswer

log = logging.getLogger(__name__)


TAG_BYTES = 12
_KEY_LABEL = b"bazgasht/survey-link/v1"
_TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{16,32}")
MAX_ID_BYTES = 7  # ids below 2**56: never near BIGINT's limit, so a lookup cannot overflow

MAX_COMMENT = 500  # characters, after line endings are folded to one character
LOW_RATING = 2     # at or below: the merchant is alerted
HIGH_RATING = 4    # at or above: the customer is asked for a public review
MAX_REVIEW_LINKS = 3


class SurveyNotFound(NotFound):
    code = "survey_not_found"


class InvalidAnswer(DomainError, status=422, code="invalid_answer"):
    """The form was not a valid answer; `codes` name every problem (the page words them)."""

    def __init__(self, codes: list[str], *, rating: int | None, comment: str):
        super().__init__(", ".join(codes))
        self.codes, self.rating, self.comment = codes, rating, comment


class AlreadyAnswered(Conflict):
    code = "survey_already_answered"

    def __init__(self, answer: SurveyAnswer):
        super().__init__("this order's survey was already answered")
        self.answer = answer


# -- links ------------------------------------------------------------------------------------

def _tag(secret: str, payload: bytes) -> bytes:
    key = hmac.new(secret.encode(), _KEY_LABEL, hashlib.sha256).digest()
    return hmac.new(key, payload, hashlib.sha256).digest()[:TAG_BYTES]


def survey_token(store: Store, message_id: int) -> str:
    if not 0 < message_id < 2 ** (8 * MAX_ID_BYTES):
        raise ValueError(f"message id out of range: {message_id}")
    payload = message_id.to_bytes((message_id.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(payload + _tag(store.webhook_secret, payload)).rstrip(b"=").decode()


def survey_url(public_url: str, store: Store, message_id: int) -> str:
    """The link a survey SMS carries: `{public_url}/survey/{token}`."""
    return f"{public_url.rstrip('/')}/survey/{survey_token(store, message_id)}"


def _parse_token(token: str) -> tuple[int, bytes, bytes] | None:
    """(message id, payload, tag) of a well-formed token, or None. Says nothing of validity."""
    if not _TOKEN_SHAPE.fullmatch(token):
        return None
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError):
        return None
    payload, tag = raw[:-TAG_BYTES], raw[-TAG_BYTES:]
    if not 1 <= len(payload) <= MAX_ID_BYTES or payload[0] == 0:
        return None
    # One token per message: reject other spellings of the same bytes (unused trailing bits).
    if base64.urlsafe_b64encode(raw).rstrip(b"=").decode() != token:
        return None
    return int.from_bytes(payload, "big"), payload, tag


# -- the survey page --------------------------------------------------------------------------

@dataclass
class Survey:
    token: str
    store: Store
    order: Order
    message_id: int
    answer: SurveyAnswer | None

    @property
    def order_number(self) -> str:
        return persian_digits(self.order.number or self.order.wc_id)

    @property
    def product_names(self) -> list[str]:
        return [i["name"] for i in self.order.items or [] if i.get("name")]


@dataclass(frozen=True)
class ReviewLink:
    url: str
    product_name: str | None = None  # None: the store's home page, no product known


# (store id, subject type, subject id) of a message id, or None.
MessageSubject = Callable[..., tuple[int, str, int] | None]


def open_survey(session: Session, *, token: str, message_subject: MessageSubject,
                now: datetime) -> Survey:
    """The survey a token opens; SurveyNotFound for anything forged, garbled or gone. A link
    sent before the webhook secret was rotated opens while the previous secret is in force."""
    parsed = _parse_token(token)
    if parsed is None:
        raise SurveyNotFound("no such survey")
    message_id, payload, tag = parsed
    found = message_subject(session, message_id=message_id)
    store = session.get(Store, found[0]) if found else None
    if found is None or store is None or not any(
            [hmac.compare_digest(tag, _tag(secret, payload))
             for secret in webhook_secrets(store, now)]):
        raise SurveyNotFound("no such survey")
    _, subject_type, subject_id = found
    order = session.get(Order, subject_id) if subject_type == "order" else None
    if order is None or order.store_id != store.id:
        raise SurveyNotFound("the survey's order is gone")
    answer = session.scalar(select(SurveyAnswer).where(SurveyAnswer.order_id == order.id))
    return Survey(token=token, store=store, order=order, message_id=message_id, answer=answer)


# Controls other than tab and newline: NUL is refused by PostgreSQL, the rest are noise.
_CONTROLS = dict.fromkeys(c for c in range(32) if c not in (9, 10)) | {127: None}


def _rating(raw: str | None) -> int | None:
    value = latin_digits((raw or "").strip())
    return int(value) if value in {"1", "2", "3", "4", "5"} else None


def _comment(raw: str | None) -> str:
    # Browsers send a textarea's line breaks as CRLF but count them as one toward maxlength.
    return (raw or "").replace("\r\n", "\n").replace("\r", "\n").translate(_CONTROLS).strip()


def submit_answer(session: Session, *, survey: Survey, form: Mapping[str, str],
                  now: datetime) -> SurveyAnswer:
    """Record the customer's answer; a low rating also records an alert for the merchant.

    Raises AlreadyAnswered when the order has its answer (also when a concurrent submit got there
    first: the unique order_id decides), InvalidAnswer when the form is not a valid answer.
    """
    if survey.answer is not None:
        raise AlreadyAnswered(survey.answer)
    rating, comment = _rating(form.get("rating")), _comment(form.get("comment"))
    problems = []
    if rating is None:
        problems.append("rating_missing" if not (form.get("rating") or "").strip()
                        else "rating_invalid")
    if len(comment) > MAX_COMMENT:
        problems.append("comment_too_long")
    if problems:
        raise InvalidAnswer(problems, rating=rating, comment=comment)

    answer = SurveyAnswer(store_id=survey.store.id, order_id=survey.order.id,
                          message_id=survey.message_id, rating=rating, comment=comment or None,
                          answered_at=now)
    try:
        with session.begin_nested():
            session.add(answer)
    except IntegrityError:
        existing = session.scalar(select(SurveyAnswer).where(
            SurveyAnswer.order_id == survey.order.id))
        if existing is None:  # not a duplicate: the order (or message) vanished meanwhile
            raise SurveyNotFound("the survey's order is gone") from None
        raise AlreadyAnswered(existing) from None
    if rating <= LOW_RATING:
        raise_alert(session, survey.store, SURVEY_LOW_RATING, _alert_details(session, survey, answer),
                    now, answer_id=answer.id)
    return answer


def _alert_details(session: Session, survey: Survey, answer: SurveyAnswer) -> dict:
    """What the merchant is told of a low rating (the alert webhook's body, less its envelope)."""
    order = survey.order
    phone = (session.scalar(select(Contact.phone).where(Contact.id == order.contact_id))
             if order.contact_id else None) or order.phone_raw or None
    return {"order": {"id": order.wc_id, "number": order.number},
            "rating": answer.rating, "comment": answer.comment,
            "answered_at": answer.answered_at.isoformat(),
            "customer": {"first_name": order.first_name, "last_name": order.last_name,
                         "phone": phone}}


def _same_site(url: str, site: str) -> bool:
    """Whether `url` is an http(s) page of the store's own site (www. or not)."""
    target, home = urlsplit(url), urlsplit(site)
    if target.scheme not in ("http", "https") or not target.hostname or not home.hostname:
        return False
    return target.hostname.removeprefix("www.") == home.hostname.removeprefix("www.")


def review_links(session: Session, survey: Survey) -> list[ReviewLink]:
    """Where a happy customer can review what they bought: each known product's reviews,
    else the store's home page."""
    store = survey.store
    ids = list(dict.fromkeys(i.get("product_id") for i in survey.order.items or []
                             if i.get("product_id")))
    products = {p.wc_id: p for p in session.scalars(select(Product).where(
        Product.store_id == store.id, Product.wc_id.in_(ids), Product.deleted_at.is_(None)))
        } if ids else {}
    links = []
    for wc_id in ids:
        product = products.get(wc_id)
        if product is not None and product.permalink and _same_site(product.permalink, store.url):
            links.append(ReviewLink(url=product.permalink.split("#")[0] + "#reviews",
                                    product_name=product.name or None))
        if len(links) == MAX_REVIEW_LINKS:
            break
    return links or [ReviewLink(url=store.url)]
