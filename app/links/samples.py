"""Sample links: what a preview and a test SMS carry where a real message has its short link.

A preview writes no row, so it mints no link; yet the merchant taps the link of a test SMS and
expects to see what a customer would. So each kind of link has a fixed code of its own in the
short-link code space (as long as a real code: the preview's parts count is the send's), and
that code answers with a sample of the page the real link leads to, marked «نمونه»: a cart
restored, the survey (answering it records nothing), a product, an order's payment. Nothing is
looked up, redirected or counted; the sample never names a store (a code is no secret).
"""

import json
from functools import lru_cache

from fastapi.responses import HTMLResponse

from app.digits import persian_digits
from app.messaging.render import TEMPLATES
from app.pages import page
from app.surveys.service import MAX_COMMENT

# link kind (app/links/models.py Link.kind) → its sample's code: 7 letters, as a minted code.
SAMPLE_CODES = {"cart": "SmpCart", "survey": "SmpSurv", "product": "SmpProd",
                "order": "SmpOrdr", "store": "SmpStor"}
_KIND_OF = {code: kind for kind, code in SAMPLE_CODES.items()}


def sample_url(public_url: str, kind: str) -> str:
    return f"{public_url}/{SAMPLE_CODES.get(kind, SAMPLE_CODES['store'])}"


def is_sample(code: str) -> bool:
    return code in _KIND_OF


@lru_cache(maxsize=1)
def _subject() -> dict:
    """The built-in sample customer, cart and order (the previews' own)."""
    return json.loads((TEMPLATES / "admin" / "sample_subject.json").read_text(encoding="utf-8"))


def sample_page(code: str, *, answered: int | None = None) -> HTMLResponse:
    """The sample for `code`; `answered`: the rating a sample survey was just given (kept
    nowhere)."""
    kind = _KIND_OF[code]
    subject = _subject()
    if kind == "survey":
        if answered is not None:
            return page("sample_survey_thanks.html", store_name=None, sample=True,
                        rating=answered)
        return page("survey.html", store_name=None, sample=True,
                    order_number=persian_digits(subject["order_number"]),
                    products=subject["order_items"], errors=[], rating=None, comment="",
                    max_comment=MAX_COMMENT)
    return page("sample.html", store_name=None, sample=True, kind=kind, subject=subject)
