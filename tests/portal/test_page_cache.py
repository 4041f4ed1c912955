"""The page cache of anonymous public pages: a second visit costs no query, a
signed-in person's page is never stored or served to anyone else, and every
write that changes what a cached page shows — a publish, an unpublish, an edit
of a unit above, a move, a deletion, a view restriction, a badge opt-in, a
meeting, a shift — is visible on the very next request."""

import datetime as dt
import http.server
import io
import json
import os
import subprocess
import sys
import threading

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from wagtail.models import Page, PageViewRestriction, Site

from portal.publishing import NoticePage
from tests.branches.test_calendars import calendar_url, meeting, unit_ics_url
from tests.factories import NOW, make_duty, make_member, make_shift, publish

# Writes really commit: invalidation runs when a transaction commits, as in production.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture(autouse=True)
def page_cache(settings):
    settings.TONGXIN_PAGE_CACHE = True
    cache.clear()
    yield
    cache.clear()


def visit(client, url, **headers):
    """An anonymous visit: the response, and the queries it cost."""
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, **headers)
    assert response.status_code == 200, url
    return response, len(queries)


def test_a_second_anonymous_visit_is_served_from_the_cache(client, tree, members):
    first, first_queries = visit(client, tree.branch_a.url)
    second, second_queries = visit(client, tree.branch_a.url)

    assert first_queries > 10 and first["X-Page-Cache"] == "miss"
    assert second_queries == 0 and second["X-Page-Cache"] == "hit"
    assert second.content == first.content
    assert "幸福里网格党支部" in second.content.decode()
    for response in (first, second):
        assert not response.cookies
        assert response["Vary"] == "Cookie"
        assert response["Cache-Control"] == "public, max-age=0, s-maxage=0"
        assert response["Content-Type"] == "text/html; charset=utf-8"
    # The request id is the request's own, not the stored one.
    assert second["X-Request-ID"] != first["X-Request-ID"]


def test_every_public_page_kind_is_cached_in_both_languages(client, tree):
    notice = publish(tree.branch_a, NoticePage(title="停水通知", slug="water"))
    urls = [
        "/",
        tree.grid1.url,
        tree.branch_a.url,
        tree.group_a.url,
        notice.url,
        tree.branch_a.url + "notices/",
        tree.branch_a.url + "notices/?kind=notice&page=1",
        calendar_url(tree.branch_a),
        unit_ics_url(tree.branch_a),
    ]
    for url in urls + ["/en" + url for url in urls]:
        visit(client, url)
        response, queries = visit(client, url)
        assert (queries, response["X-Page-Cache"]) == (0, "hit"), url
    english, _ = visit(client, "/en" + urls[2])
    chinese, _ = visit(client, urls[2])
    assert 'lang="en"' in english.content.decode()
    assert 'lang="zh-Hans"' in chinese.content.decode()


def test_the_language_switch_of_an_anonymous_page_is_two_plain_links(client, tree):
    response, _ = visit(client, tree.branch_a.url)
    page = response.content.decode()

    assert f'href="/en{tree.branch_a.url}" lang="en"' in page
    assert "csrfmiddlewaretoken" not in page
    assert "csrftoken" not in response.cookies


def test_unknown_query_parameters_are_served_fresh_and_not_stored(client, tree):
    url = tree.branch_a.url + "?utm_source=wechat"
    visit(client, url)
    response, queries = visit(client, url)

    assert queries > 0 and "X-Page-Cache" not in response


def test_a_signed_in_page_is_never_stored_nor_served_to_anyone_else(client, tree, users):
    visit(client, tree.branch_a.url)  # cached for the anonymous

    client.force_login(users.member)
    response, queries = visit(client, tree.branch_a.url)
    page = response.content.decode()
    assert queries > 0 and "X-Page-Cache" not in response
    assert "退出登录" in page or "Sign out" in page  # their own header, not the cached one
    assert "private" in response["Cache-Control"] and "public" not in response["Cache-Control"]
    member_only, _ = visit(client, "/me/")
    assert "private" in member_only["Cache-Control"]

    client.logout()
    cache.clear()
    client.force_login(users.member)
    visit(client, tree.branch_a.url)  # rendered for the member first
    client.logout()
    anonymous, queries = visit(client, tree.branch_a.url)
    assert queries > 0 and anonymous["X-Page-Cache"] == "miss"
    assert "退出登录" not in anonymous.content.decode()


def site_lookups(client, url):
    """The page served at ``url`` and how many queries looked the request's site
    up (Wagtail's site-for-host query; its cached root paths are another)."""
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, url
    found = [q for q in queries.captured_queries if 'AS "match"' in q["sql"]]
    return response.context["page"], len(found)


def test_a_signed_in_visit_finds_the_site_without_a_query_until_the_site_changes(
    client, tree, users
):
    client.force_login(users.member)
    assert site_lookups(client, "/")[1] == 1
    page, lookups = site_lookups(client, "/")
    assert (page.pk, lookups) == (tree.district.pk, 0)

    # The site now starts at branch A: it is the home page on the next request.
    site = Site.objects.get(is_default_site=True)
    site.root_page = tree.branch_a
    site.save()
    page, lookups = site_lookups(client, "/")
    assert (page.pk, lookups) == (tree.branch_a.pk, 1)
    assert site_lookups(client, "/")[1] == 0

    # An edit of the site's root page is seen on the next request too.
    branch = tree.branch_a.specific
    branch.title = "改名后的支部"
    branch.save_revision().publish()
    page, lookups = site_lookups(client, "/")
    assert (page.title, lookups) == ("改名后的支部", 1)


def test_an_anonymous_search_is_cached_until_the_index_changes(client, tree, users):
    from django.core.management import call_command

    publish(tree.branch_a, NoticePage(title="消防演练通知", slug="drill-1"))
    call_command("search_index", "rebuild", quiet=True, stdout=io.StringIO())
    url = "/search/?q=消防演练"
    first, _ = visit(client, url)
    assert first["X-Page-Cache"] == "miss" and "/drill-1/" in first.content.decode()
    assert not first.cookies and "csrfmiddlewaretoken" not in first.content.decode()
    second, queries = visit(client, url)
    assert (second["X-Page-Cache"], queries) == ("hit", 0)
    assert second.content == first.content

    # A notice published (indexed on commit) shows on the next search.
    publish(tree.branch_a, NoticePage(title="消防演练第二次通知", slug="drill-2"))
    third, queries = visit(client, url)
    assert third["X-Page-Cache"] == "miss" and "/drill-2/" in third.content.decode()

    # Other parameters, and a signed-in person's search, are never stored.
    assert "X-Page-Cache" not in visit(client, url + "&utm_source=x")[0]
    client.force_login(users.secretary)
    mine, queries = visit(client, url)
    assert queries > 0 and "X-Page-Cache" not in mine
    assert "private" in mine["Cache-Control"] and "csrfmiddlewaretoken" in mine.content.decode()


def test_an_anonymous_search_form_posts_without_a_token_and_a_signed_in_one_needs_it(tree, users):
    from django.test import Client

    anonymous = Client(enforce_csrf_checks=True)
    response = anonymous.post("/search/", {"q": "消防"})
    assert (response.status_code, response["Location"]) == (302, "/search/?q=%E6%B6%88%E9%98%B2")
    signed_in = Client(enforce_csrf_checks=True)
    signed_in.force_login(users.secretary)
    assert signed_in.post("/search/", {"q": "消防"}).status_code == 403


def test_a_message_waiting_for_the_visitor_bypasses_the_cache(client, tree, users):
    visit(client, tree.branch_a.url)
    client.force_login(users.member)
    client.post("/accounts/logout/")  # "you have signed out" waits in a cookie or session
    response, queries = visit(client, tree.branch_a.url)
    assert queries > 0 and "X-Page-Cache" not in response


def test_a_published_notice_shows_at_once_on_every_listing_above_it(client, tree):
    pages = [tree.branch_a.url, tree.branch_a.url + "notices/", tree.grid1.url, "/"]
    for url in pages:
        visit(client, url)

    notice = publish(tree.branch_a, NoticePage(title="周六楼道清理通知", slug="cleanup"))

    for url in pages:
        response, _ = visit(client, url)
        assert "周六楼道清理通知" in response.content.decode(), url
    # A unit beside it keeps its cached page.
    visit(client, tree.branch_b.url)
    response, queries = visit(client, tree.branch_b.url)
    assert queries == 0

    notice.unpublish()
    for url in pages:
        response, _ = visit(client, url)
        assert "周六楼道清理通知" not in response.content.decode(), url
    assert client.get(notice.url).status_code == 404


def test_an_edit_of_a_unit_shows_on_its_page_and_in_the_breadcrumbs_below(client, tree):
    visit(client, tree.group_a.url)
    visit(client, tree.branch_a.url)

    branch = tree.branch_a
    branch.title = "幸福里第一网格党支部"
    branch.save_revision().publish()

    for url in (tree.group_a.url, tree.branch_a.url, tree.grid3a.url):
        response, _ = visit(client, url)
        assert "幸福里第一网格党支部" in response.content.decode(), url


def test_a_moved_unit_redirects_from_its_old_address_and_joins_its_new_parent(client, tree):
    old_url = tree.group_b.url
    visit(client, old_url)
    visit(client, tree.branch_a.url)
    visit(client, tree.branch_b.url)

    tree.group_b.move(tree.branch_a, pos="last-child")

    moved = Page.objects.get(pk=tree.group_b.pk)
    old = client.get(old_url)  # Wagtail's redirect from where it was
    assert (old.status_code, old["Location"]) == (301, moved.url)
    visit(client, moved.url)
    assert "光明路8号楼党小组" in visit(client, tree.branch_a.url)[0].content.decode()
    assert "光明路8号楼党小组" not in visit(client, tree.branch_b.url)[0].content.decode()


def test_a_deleted_or_restricted_page_is_not_served_from_the_cache(client, tree):
    notice = publish(tree.branch_a, NoticePage(title="内部通知", slug="internal"))
    visit(client, notice.url)
    visit(client, tree.group_a.url)

    PageViewRestriction.objects.create(page=tree.group_a, restriction_type="login")
    assert client.get(tree.group_a.url).status_code == 302

    notice.delete()
    assert client.get(notice.url).status_code == 404


def test_a_badge_opt_in_and_opt_out_show_at_once(client, tree):
    member = make_member(branch=tree.branch_a, name="陈亮身份", public_badge=False)
    assert "陈亮身份" not in visit(client, tree.branch_a.url)[0].content.decode()

    member.public_badge = True
    member.save()
    assert "陈亮身份" in visit(client, tree.branch_a.url)[0].content.decode()

    member.public_badge = False
    member.save()
    assert "陈亮身份" not in visit(client, tree.branch_a.url)[0].content.decode()


def test_a_public_meeting_and_a_shift_show_on_every_calendar_above(client, tree):
    calendars = [calendar_url(tree.branch_a), unit_ics_url(tree.branch_a), calendar_url(tree.grid1)]
    for url in calendars:
        visit(client, url)
    # The unit's own page shows no events: it stays cached.
    visit(client, tree.branch_a.url)

    meeting(tree.branch_a, "十二月主题党日", public=True, days=3)
    duty = make_duty(tree, title="冬季扫雪", published=True)
    shift = make_shift(duty, start_in=dt.timedelta(days=4))

    for url in calendars:
        page = visit(client, url)[0].content.decode()
        assert "十二月主题党日" in page and "冬季扫雪" in page, url
    assert visit(client, tree.branch_a.url)[1] == 0

    shift.starts_at = NOW + dt.timedelta(days=500)  # beyond every calendar's window
    shift.ends_at = shift.starts_at + dt.timedelta(hours=2)
    shift.save()
    assert "冬季扫雪" not in visit(client, calendar_url(tree.branch_a))[0].content.decode()


def test_a_page_rendered_within_the_clock_skew_of_a_change_is_not_kept(client, tree, settings):
    settings.TONGXIN_PAGE_CACHE_CLOCK_SKEW = 3600  # the tree was built moments ago
    visit(client, tree.branch_a.url)
    response, queries = visit(client, tree.branch_a.url)

    assert queries > 0 and response["X-Page-Cache"] == "miss"


def test_the_cache_is_off_unless_switched_on(client, tree, settings):
    settings.TONGXIN_PAGE_CACHE = False
    visit(client, tree.branch_a.url)
    response, queries = visit(client, tree.branch_a.url)

    assert queries > 0 and "X-Page-Cache" not in response
    # Still right for a proxy in front: public, no cookie.
    assert response["Cache-Control"] == "public, max-age=0, s-maxage=0"
    assert not response.cookies


def test_a_proxy_in_front_is_told_to_purge_a_unit_and_its_routes(tree, settings):
    """With FRONTEND_CACHE_PURGE_URL set, Wagtail sends the proxy an HTTP PURGE
    for the page and each of its routes (a local server stands for the proxy)."""
    from wagtail.contrib.frontend_cache.utils import purge_page_from_cache

    purged = []

    class Proxy(http.server.BaseHTTPRequestHandler):
        def do_PURGE(self):  # noqa: N802 (the HTTP method's name)
            purged.append(self.path)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Proxy)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        settings.WAGTAILFRONTENDCACHE = {
            "proxy": {
                "BACKEND": "wagtail.contrib.frontend_cache.backends.HTTPBackend",
                "LOCATION": f"http://127.0.0.1:{server.server_port}",
            }
        }
        purge_page_from_cache(tree.branch_a)
    finally:
        server.shutdown()
    url = tree.branch_a.url
    assert sorted(purged) == sorted(
        [url, url + "notices/", url + "calendar/", url + "calendar/ics/"]
    )


def settings_with(**env) -> dict:
    """The cache settings a process started with ``env`` gets."""
    code = (
        "import json; from django.conf import settings as s; print(json.dumps("
        "[s.CACHES['default']['BACKEND'], s.SESSION_ENGINE, s.TONGXIN_PAGE_CACHE]))"
    )
    environment = {name: value for name, value in os.environ.items() if name != "CACHE_URL"}
    environment.update(DJANGO_SETTINGS_MODULE="portal.settings.base", **env)
    done = subprocess.run(
        [sys.executable, "-c", code], env=environment, capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout)


def test_a_shared_cache_carries_sessions_and_switches_the_page_cache_on():
    assert settings_with() == [
        "django.core.cache.backends.locmem.LocMemCache",
        "django.contrib.sessions.backends.db",
        False,
    ]
    assert settings_with(CACHE_URL="redis://127.0.0.1:6379/0") == [
        "portal.cache.ResilientRedisCache",
        "django.contrib.sessions.backends.cached_db",
        True,
    ]
    assert settings_with(CACHE_URL="redis://127.0.0.1:6379/0", PAGE_CACHE="0")[2] is False
