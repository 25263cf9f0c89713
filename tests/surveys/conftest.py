import pytest

from tests.surveys.receiver import WebhookReceiver
from tests.surveys.story import SurveyLink, open_survey_link


@pytest.fixture
def survey(shop, client) -> SurveyLink:
    """The survey link of order 1234 (product 11, «چای سبز», known to bazgasht)."""
    shop.product(11, name="چای سبز")
    return open_survey_link(shop, client.base_url)


@pytest.fixture
def receiver():
    """The merchant's webhook endpoint, on loopback."""
    with WebhookReceiver() as receiver:
        yield receiver
