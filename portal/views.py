from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from portal.roles import user_scope


@login_required
def me(request):
    """The signed-in user's own page: their roles and their member record (masked)."""
    member = getattr(request.user, "member", None) if hasattr(request.user, "member") else None
    assignments = request.user.role_assignments.select_related("page").order_by("role")
    return render(
        request,
        "portal/me.html",
        {"member": member, "assignments": assignments, "scope": user_scope(request.user)},
    )
