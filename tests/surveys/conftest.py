import pytest

from tests.surveys.story import SurveyLink, open_survey_link


@pytest.fixture
def survey(shop, client) -> SurveyLink:
    """The survey link of order 1234 (product 11, «چای سبز», known to bazgasht)."""
    shop.product(11, name="چای سبز")
    return open_survey_link(shop, client.base_url)
