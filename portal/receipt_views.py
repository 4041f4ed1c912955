"""The read-receipt report of a notice in the admin (who has read it, who has
not, per branch), limited to the members the viewer may see."""

from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _
from wagtail.admin.widgets import Button

from portal.publishing import NoticePage
from portal.roles import user_scope
from portal.selectors import receipt_report


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
        "portal/admin/receipts.html",
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
