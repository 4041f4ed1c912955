"""The search page with no results, and past volunteer shifts: a member or
resident finds the shifts still to come; staff find the past ones too."""

import datetime as dt
import io

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.management import call_command

from search.query import search
from tests.factories import make_duty, make_shift

pytestmark = pytest.mark.django_db


def rebuild():
    call_command("search_index", "rebuild", quiet=True, stdout=io.StringIO())


def test_no_record_type_heading_when_nothing_is_found(client, tree):
    rebuild()
    html = client.get("/search/", {"q": "根本不存在的词语"}).content.decode()
    assert "没有找到" in html or "Nothing found" in html
    assert "search-facets" not in html
    assert "记录类型" not in html


def test_record_types_shown_when_something_is_found(client, tree):
    rebuild()
    html = client.get("/search/", {"q": "幸福里"}).content.decode()
    assert "search-facets" in html and "记录类型" in html


@pytest.fixture
def shifts(tree):
    duty = make_duty(tree, title="楼道清理", published=True)
    past = [make_shift(duty, start_in=dt.timedelta(days=-d)) for d in (3, 10, 17)]
    upcoming = make_shift(duty, start_in=dt.timedelta(days=2))
    rebuild()
    return {"past": past, "upcoming": upcoming}


def shift_ids(user, **kwargs):
    hits = search(user=user, text="楼道清理", per_page=50, **kwargs).results
    return {h.object_id for h in hits.hits if h.doc_type == "shift"}, hits.facets.get("shift", 0)


def test_members_and_residents_find_upcoming_shifts_only(shifts, users):
    for user in (AnonymousUser(), users.member):
        found, facet = shift_ids(user)
        assert found == {str(shifts["upcoming"].pk)}
        assert facet == 1  # the facet count agrees with the hits


def test_staff_find_past_shifts_too(shifts, users):
    everything = {str(s.pk) for s in shifts["past"]} | {str(shifts["upcoming"].pk)}
    for user in (users.secretary, users.district):
        found, facet = shift_ids(user)
        assert found == everything
        assert facet == 4
