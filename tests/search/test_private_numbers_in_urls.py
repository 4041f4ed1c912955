"""Full ID and mobile numbers never travel in a URL or reach a log line or an error
report unmasked (issue 12): lookups post, results come back behind a token."""

import io
import logging
import re
from urllib.parse import unquote_plus

import pytest
from django.core.management import call_command
from django.test import RequestFactory
from django.urls import reverse

from portal.log_filters import MaskedExceptionReporter
from tests.factories import make_member

ID_NUMBER = "11010519491231002X"
MOBILE = "13912345678"
FULL = (ID_NUMBER, ID_NUMBER.lower(), MOBILE)


@pytest.fixture
def looked_up(tree, users):
    member = make_member(branch=tree.branch_a, name="查找对象", id_number=ID_NUMBER, phone=MOBILE)
    rebuild()
    return member


def rebuild():
    call_command("search_index", "rebuild", quiet=True, stdout=io.StringIO())


def assert_no_full_number(text):
    text = unquote_plus(text)
    for value in FULL:
        assert value not in text
    assert "139 1234 5678" not in text


@pytest.mark.parametrize("url_name", ["search", "search_admin"])
@pytest.mark.parametrize("typed", [ID_NUMBER, MOBILE, "139 1234 5678", f"张 {MOBILE}"])
def test_lookup_by_full_number_posts_and_comes_back_behind_a_token(
    client, users, looked_up, url_name, typed
):
    client.force_login(users.secretary)
    url = reverse(url_name)

    response = client.post(url, {"q": typed})

    assert response.status_code == 302
    location = response["Location"]
    assert_no_full_number(location)
    assert re.fullmatch(rf"{re.escape(url)}\?t=[\w-]+", location)
    page = client.get(location)
    assert page.status_code == 200
    if typed != f"张 {MOBILE}":
        assert "查找对象" in page.content.decode()


@pytest.mark.parametrize("url_name", ["search", "search_admin"])
def test_a_full_number_in_a_get_url_is_moved_behind_a_token(client, users, looked_up, url_name):
    client.force_login(users.secretary)

    response = client.get(reverse(url_name), {"q": ID_NUMBER})

    assert response.status_code == 302
    assert_no_full_number(response["Location"])
    assert "查找对象" in client.get(response["Location"]).content.decode()


def test_plain_words_stay_in_the_url(client, users, looked_up):
    client.force_login(users.secretary)

    response = client.post(reverse("search"), {"q": "查找对象"})

    assert response.status_code == 302
    assert unquote_plus(response["Location"]) == "/search/?q=查找对象"
    assert "查找对象" in client.get(response["Location"]).content.decode()


@pytest.mark.parametrize("url_name", ["search", "search_admin"])
def test_search_forms_post(client, users, url_name):
    client.force_login(users.secretary)
    html = client.get(reverse(url_name)).content.decode()
    assert re.search(r'<form[^>]*method="post"[^>]*action="' + reverse(url_name), html)
    assert "csrfmiddlewaretoken" in html


def test_token_pages_keep_the_query(client, users, tree):
    for i in range(25):
        make_member(branch=tree.branch_a, name=f"同号{i:02d}", phone=MOBILE)
    rebuild()
    client.force_login(users.secretary)

    first = client.get(client.post(reverse("search"), {"q": MOBILE})["Location"])
    html = first.content.decode()

    next_link = re.search(r'href="(\?t=[^"]+page=2)"', html.replace("&amp;", "&"))
    assert next_link, "a next-page link carrying the token"
    assert_no_full_number(next_link.group(1))
    second = client.get("/search/" + next_link.group(1)).content.decode()
    assert "同号" in second


def test_an_unknown_or_expired_token_says_so(client, users):
    client.force_login(users.secretary)
    html = client.get(reverse("search"), {"t": "made-up"}).content.decode()
    assert "expired" in html or "已过期" in html


def test_admin_list_searches_cannot_find_by_full_number(client, users, looked_up):
    """The admin lists search names only; a full number finds nothing there, so no
    lookup by number goes through their ``?q=``."""
    client.force_login(users.secretary)
    for url in ("/admin/members/", "/admin/residents/", "/admin/households/"):
        html = client.get(url, {"q": ID_NUMBER}).content.decode()
        assert "查找对象" not in html
        html = client.get(url, {"q": MOBILE}).content.decode()
        assert "查找对象" not in html


# --- Logs and error reports ---------------------------------------------------------------


def test_no_log_line_carries_a_full_number(client, users, looked_up, caplog):
    caplog.set_level(logging.INFO)
    client.force_login(users.secretary)
    client.get(reverse("search"), {"q": ID_NUMBER})
    client.post(reverse("search"), {"q": MOBILE})
    client.get("/admin/members/", {"q": MOBILE})
    not_found = client.get(f"/no-such-page/{ID_NUMBER}/{MOBILE}/")
    client.force_login(users.leader)
    forbidden = client.get(f"/admin/import/members/{ID_NUMBER}/")
    denied = client.get(f"/admin/members/edit/{looked_up.pk}/", {"q": MOBILE})

    assert not_found.status_code == 404
    assert forbidden.status_code in (403, 404) and denied.status_code in (302, 403)
    assert f"/no-such-page/{ID_NUMBER[:3]}" in caplog.text  # the 404 was logged, masked
    assert_no_full_number(caplog.text)


def test_runserver_access_lines_are_masked():
    handler = logging.getLogger("django.server").handlers[0]
    stream = io.StringIO()
    old = handler.setStream(stream)
    try:
        logging.getLogger("django.server").info(
            '"%s" %s %s', f"GET /search/?q={MOBILE}&x=137+0000+0003 HTTP/1.1", "302", "0"
        )
    finally:
        handler.setStream(old)
    line = stream.getvalue()
    assert "GET /search/?q=139****5678" in line
    assert MOBILE not in line and "137+0000+0003" not in line


def test_error_report_masks_url_query_and_locals():
    request = RequestFactory().get(f"/members/{ID_NUMBER}/", {"q": MOBILE})
    try:
        secret = ID_NUMBER  # noqa: F841 (a local variable the report shows)
        raise ValueError(f"no member {MOBILE}")
    except ValueError as exc:
        reporter = MaskedExceptionReporter(request, type(exc), exc, exc.__traceback__)
        text = reporter.get_traceback_text()
        html = reporter.get_traceback_html()
    assert "/members/110***********002X/" in text
    assert_no_full_number(text)
    assert_no_full_number(html)
