"""The shared pager (portal/pager.html) keeps the filter on every page: its
"Next" link, followed as a browser follows it, shows page 2 of the same list."""

import datetime as dt
import html
import re

from django.core.paginator import Paginator
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.utils import timezone

from portal.publishing import NewsPage, NoticePage
from tests.factories import publish
from tests.volunteers.test_request_views import new_request, worker  # noqa: F401 (fixture)
from volunteers.models import ServiceRequest


def next_link(body: str) -> str:
    links = re.findall(r'<nav class="pager".*?href="([^"]+)"[^>]*>\s*下一页', body, re.S)
    assert links, "the page has a 下一页 link"
    return html.unescape(links[-1])


def test_the_pager_link_is_a_query_string_with_the_filter():
    request = RequestFactory().get("/x/", {"kind": "news", "page": "1"})
    items = Paginator(range(45), 20).get_page(1)
    body = render_to_string("portal/pager.html", {"items": items}, request=request)
    assert 'href="?kind=news&amp;page=2"' in body
    assert "??" not in body


def test_page_two_of_a_filtered_notice_listing(client, tree):
    now = timezone.now()
    for n in range(25):
        publish(tree.branch_a, NewsPage(title=f"动态{n:02d}"), at=now - dt.timedelta(hours=n))
    publish(tree.branch_a, NoticePage(title="一则通知"), at=now)
    url = tree.branch_a.url + "notices/"
    first = client.get(url, {"kind": "news"})
    link = next_link(first.content.decode())
    assert link.startswith("?") and not link.startswith("??")
    second = client.get(url + link).content.decode()
    shown = re.findall(r'class="pub-item__title"><a href="[^"]*">([^<]+)</a>', second)
    assert shown == [f"动态{n:02d}" for n in range(20, 25)]  # the news only, page 2


def test_page_two_of_a_filtered_request_list(client, tree, worker):  # noqa: F811
    for n in range(23):
        new_request(worker, tree.grid3a, title=f"需求{n:02d}")
    for n in range(10):  # other requests the filter leaves out
        new_request(
            worker, tree.grid3a, title=f"关怀{n:02d}", category=ServiceRequest.Category.OTHER
        )
    client.force_login(worker)
    first = client.get("/requests/", {"category": "elderly"})
    link = next_link(first.content.decode())
    assert link.startswith("?category=elderly") and "page=2" in link
    second = client.get("/requests/" + link).content.decode()
    assert "第 2 页，共 2 页" in second
    assert sum(f"需求{n:02d}" in second for n in range(23)) == 3
    assert "关怀" not in second
