from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import render

from portal.roles import user_scope
from portal.selectors import PER_PAGE, member_feed


@login_required
def me(request):
    """The signed-in user's own page: their roles and their member record (masked)."""
    member = getattr(request.user, "member", None) if hasattr(request.user, "member") else None
    assignments = request.user.role_assignments.select_related("page").order_by("role")
    _, unread = member_feed(request.user, member)
    return render(
        request,
        "portal/me.html",
        {
            "member": member,
            "assignments": assignments,
            "scope": user_scope(request.user),
            "unread_notices": unread,
        },
    )


@login_required
def my_notices(request):
    """A member's feed: notices of their group, branch, grids and the district,
    pinned first, newest first, unread marked."""
    member = getattr(request.user, "member", None) if hasattr(request.user, "member") else None
    notices, unread = member_feed(request.user, member)
    page = Paginator(notices, PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "portal/my_notices.html",
        {"member": member, "items": page, "unread": unread},
    )
