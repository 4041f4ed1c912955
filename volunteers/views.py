"""The member's own service record (我的志愿服务): coming shifts, check-ins
waiting for credit, the services credited in a year from the ledgers (shifts
and dispatched tasks alike), their rank in the branch and the certificate."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.roles import member_of
from volunteers.duties.selectors import uncredited_check_ins, upcoming_signups
from volunteers.selectors import service_rank, service_record, service_years

PER_PAGE = 20
RECORD_PER_PAGE = 50  # services a year on one page of the record


@login_required
def my_service(request):
    """The member's own record: upcoming shifts, the services credited in a year
    (this year unless another is asked for) with totals that are the sums of
    those rows, where that puts them in their branch, and the year's certificate."""
    user = request.user
    now = timezone.now()
    this_year = timezone.localtime(now).year
    years = service_years(user=user, also=this_year)
    year, asked = this_year, request.GET.get("year", "").strip()
    if asked.isdecimal() and int(asked) in years:
        year = int(asked)
    elif asked:
        messages.warning(
            request,
            _("There is no service record for “%(value)s”; showing %(year)s.")
            % {"value": asked[:20], "year": this_year},
        )
    upcoming = upcoming_signups(user=user, now=now, limit=PER_PAGE)
    pending = uncredited_check_ins(user=user, now=now, limit=PER_PAGE)
    record = service_record(user=user, year=year)
    rows = Paginator(record.rows, RECORD_PER_PAGE).get_page(request.GET.get("page"))
    member = member_of(user)
    rank = peers = None
    if member is not None and record.services:
        rank, peers = service_rank(member=member, year=year, points=record.points)
    return render(
        request,
        "volunteers/my_service.html",
        {
            "year": year,
            "this_year": this_year,
            "years": years,
            "upcoming": upcoming,
            "pending": pending,
            "items": rows,
            "record": record,
            "member": member,
            "rank": rank,
            "peers": peers,
        },
    )
