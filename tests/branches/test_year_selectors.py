"""Year selectors offer the years that have data (and this year), not a fixed
span of empty years: 三会一课 compliance from the first meeting, the service
statistics from the first shift, and no year after the last one."""

import datetime as dt
import re

from django.utils import timezone

from tests.branches.test_calendars import meeting
from tests.factories import make_duty
from volunteers.models import Shift

THIS_YEAR = timezone.localdate().year


def years_offered(page, select_id):
    select = re.search(rf'<select id="{select_id}" name="year">(.*?)</select>', page, re.S)
    return [int(y) for y in re.findall(r'<option value="(\d+)"', select.group(1))]


def test_compliance_years_start_at_the_first_meeting(client, tree, users):
    client.force_login(users.district)
    url = f"/admin/compliance/?unit={tree.district.pk}"
    assert years_offered(client.get(url).content.decode(), "compliance-year") == [THIS_YEAR]
    meeting(tree.branch_a, "两年前的主题党日", days=-730)
    page = client.get(url).content.decode()
    # This year and the years with meetings; not the empty year between them.
    assert years_offered(page, "compliance-year") == [THIS_YEAR, THIS_YEAR - 2]


def test_statistics_years_are_those_with_shifts(client, tree, users):
    client.force_login(users.district)
    url = "/admin/volunteering/report/"
    assert years_offered(client.get(url).content.decode(), "report-year") == [THIS_YEAR]
    start = timezone.now() - dt.timedelta(days=400)
    Shift.objects.create(
        duty=make_duty(tree), starts_at=start, ends_at=start + dt.timedelta(hours=2)
    )
    first = timezone.localtime(start).year
    page = client.get(url).content.decode()
    assert years_offered(page, "report-year") == list(range(THIS_YEAR, first - 1, -1))
