"""The read-receipt report of a notice in the admin (who has read it, who has
not, per branch), limited to the members the viewer may see. Notices are the
portal's; the members who confirm them are the branches'."""

from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, Exists, F, OuterRef, Q
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _
from wagtail.admin.widgets import Button

from branches.models import Member
from portal.publishing import NoticeBoardPage, NoticePage, NoticeRead
from portal.roles import user_scope, visible_to


def receipt_report(notice, user, *, branch_id=None):
    """Who has confirmed reading a notice, among the members ``user`` may see under
    the notice's unit (a board notice: the whole district). Per branch: members,
    members with an account, read, confirmed; with ``branch_id``, that branch's
    members one by one. Three queries whatever the number of members."""
    unit = notice.get_parent()
    if isinstance(unit.specific, NoticeBoardPage):
        unit = unit.get_parent()
    members = visible_to(user, Member.objects.all())
    if unit.depth > 2:
        members = members.filter(Q(branch__path__startswith=unit.path) | Q(building_group=unit))
    reads = NoticeRead.objects.filter(notice=notice, user=OuterRef("user"))
    members = members.annotate(
        has_read=Exists(reads),
        confirmed=Exists(reads.filter(confirmed_at__isnull=False)),
    )
    per_branch = list(
        members.values("branch", title=F("branch__title"))
        .annotate(
            total=Count("id"),
            accounts=Count("user"),
            read=Count("id", filter=Q(has_read=True)),
            confirmed=Count("id", filter=Q(confirmed=True)),
        )
        .order_by("title", "branch")
    )
    for row in per_branch:
        row["unconfirmed"] = row["total"] - row["confirmed"]
    people = None
    if branch_id is not None:
        people = (
            members.filter(branch_id=branch_id)
            .select_related("user")
            .only("id", "name", "user__id", "branch_id")
            .order_by("-confirmed", "name", "id")
        )
    return {"unit": unit, "per_branch": per_branch, "people": people}


def may_see_receipts(user) -> bool:
    scope = user_scope(user)
    return scope.is_district or bool(scope.paths or scope.group_ids)


def receipts_view(request, page_id):
    notice = get_object_or_404(NoticePage, pk=page_id, requires_receipt=True)
    if not may_see_receipts(request.user):
        raise PermissionDenied
    branch = request.GET.get("branch")
    branch_id = int(branch) if branch and branch.isdigit() else None
    report = receipt_report(notice, request.user, branch_id=branch_id)
    people = None
    if report["people"] is not None:
        people = Paginator(report["people"], 50).get_page(request.GET.get("page"))
    return TemplateResponse(
        request,
        "branches/admin/receipts.html",
        {
            "notice": notice,
            "report": report,
            "people": people,
            "branch_id": branch_id,
            "totals": {
                key: sum(row[key] for row in report["per_branch"])
                for key in ("total", "accounts", "read", "confirmed")
            },
        },
    )


def receipts_button(page, user):
    if (
        isinstance(page.specific_deferred, NoticePage)
        and page.specific_deferred.requires_receipt
        and may_see_receipts(user)
    ):
        yield Button(
            _("Read receipts"),
            reverse("notice_receipts", args=[page.pk]),
            icon_name="list-ul",
            priority=30,
        )


admin_urls = [path("receipts/<int:page_id>/", receipts_view, name="notice_receipts")]
