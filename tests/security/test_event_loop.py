"""One request cannot hold the event loop: a huge User-Agent on a short link (audit finding 3).

The crawler regex held the loop 8-15 s for a 10 KB user agent; /healthz and signed webhooks
waited meanwhile. Now only the first MAX_USER_AGENT characters are ever searched, with no
pattern that is quadratic in a run of letters.
"""

import re

import pytest
from crawlerdetect import CrawlerDetect
from sqlalchemy import select

from app.links import bots
from app.links.bots import MAX_USER_AGENT, is_bot
from app.links.models import Click, Link
from tests.links.test_links import PHONE_UA, PREVIEW_BOTS, first_cart_sms, path

# Letters: the run that made CrawlerDetect's `[a-z0-9\-_]*(bot|…)` try every start position.
LETTERS_10K = "a" * 10_000


def test_only_the_head_of_a_user_agent_is_searched():
    # The marker past the cap is never read: the work is bounded by MAX_USER_AGENT, whatever
    # the length sent.
    assert is_bot("Googlebot/2.1 " + LETTERS_10K)
    assert not is_bot(PHONE_UA + " " + LETTERS_10K + " Googlebot/2.1")
    assert not is_bot(PHONE_UA.ljust(MAX_USER_AGENT, "a") + "bot" * 300_000)  # ~1 MB


def test_no_pattern_is_quadratic_in_a_run_of_letters():
    # A search from every position of a pattern with an unbounded leading class is O(n²).
    assert not re.search(r"(^|\|)\[[^\]]*\]\*", bots._CRAWLERS.pattern)


@pytest.mark.parametrize("agent", [*PREVIEW_BOTS, PHONE_UA, "Googlebot/2.1", "curl/8.4.0",
                                   "Mozilla/5.0 (compatible; bingbot/2.0)", "okhttp/4.9.2",
                                   "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) "
                                   "AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148"])
def test_the_same_answers_as_crawlerdetect(agent):
    assert is_bot(agent) == (not agent.strip() or CrawlerDetect().isCrawler(agent))


def test_a_10kb_user_agent_on_a_short_link_is_answered_and_counted(shop, client, live_server,
                                                                    factory):
    link = shop.link(first_cart_sms(shop).text)
    for agent in (LETTERS_10K, PHONE_UA + " " + LETTERS_10K, "TelegramBot " + LETTERS_10K):
        assert client.get(path(link), headers={"User-Agent": agent}).status_code == 302
        assert client.get("/healthz").json() == {"ok": True}
    live_server.app.state.click_recorder.flush()
    with factory() as session:
        row = session.get(Link, link.id)
        agents = session.scalars(select(Click.user_agent).where(Click.link_id == link.id)).all()
    assert (row.human_clicks, row.bot_hits) == (2, 1)
    assert all(len(agent) <= MAX_USER_AGENT for agent in agents)
