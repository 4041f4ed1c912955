import sys

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views import defaults
from django.views.decorators.http import require_POST
from django.views.i18n import set_language as switch_language
from wagtail.admin.auth import require_admin_access
from wagtail.admin.viewsets.pages import page_viewset_registry
from wagtail.models import Page, TaskState

from portal.calendars import personal_calendar_ics
from portal.health import UNAVAILABLE_RETRY_AFTER
from portal.i18n import remember_language
from portal.listing import PER_PAGE
from portal.models import CalendarToken
from portal.roles import member_of, user_scope
from portal.selectors import member_feed


def server_error(request):
    """A server error's page. While the database cannot be reached (a restart, a
    failover) it is a 503 that says so and asks to come back (``Retry-After``),
    rendered without touching the database; Django logs the traceback either way."""
    if isinstance(sys.exc_info()[1], (OperationalError, InterfaceError)):
        response = HttpResponse(render_to_string("503.html"), status=503)
        response["Retry-After"] = str(UNAVAILABLE_RETRY_AFTER)
        return response
    return defaults.server_error(request)


def admin_sign_in(request):
    """Where Wagtail sends whoever may not use the admin (its sign-in URL). Someone
    signed in without a staff role (a member, a volunteer) gets a "no access" page
    linking to their own page, instead of a loop through the sign-in page; anyone
    else signs in through allauth."""
    if request.user.is_authenticated:
        return render(request, "portal/no_admin_access.html", status=403)
    return redirect("/accounts/login/?next=/admin/")


@require_POST
def set_language(request):
    """The language switch: Django's, and a signed-in person's choice is kept, so
    that what is written to them later (inbox messages, emails, reminders from
    the background worker) is in the language they read."""
    response = switch_language(request)
    if request.user.is_authenticated and response.status_code in (200, 302):
        remember_language(request.user, request.POST.get("language", ""))
    return response


@login_required
def me(request):
    """The signed-in user's own page: their roles and their member record (masked)."""
    member = member_of(request.user)
    scope = user_scope(request.user)
    _, unread = member_feed(request.user, member)
    return render(
        request,
        "portal/me.html",
        {
            "member": member,
            "assignments": scope.assignments,
            "scope": scope,
            "unread_notices": unread,
            "unread_messages": request.user.inbox.filter(read_at=None).count(),
            "invited_to_meetings": request.user.meeting_invitations.exists(),
        },
    )


@login_required
def my_notices(request):
    """A member's feed: notices of their group, branch, grids and the district,
    pinned first, newest first, unread marked."""
    member = member_of(request.user)
    notices, unread = member_feed(request.user, member)
    page = Paginator(notices, PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "portal/my_notices.html",
        {"member": member, "items": page, "unread": unread},
    )


@login_required
def my_inbox(request):
    """Reminders and other messages; opening the page marks them read."""
    page = Paginator(request.user.inbox.all(), PER_PAGE).get_page(request.GET.get("page"))
    unread_ids = [m.pk for m in page if m.read_at is None]
    if unread_ids:
        request.user.inbox.filter(pk__in=unread_ids).update(read_at=timezone.now())
    return render(request, "portal/my_inbox.html", {"items": page, "unread_ids": unread_ids})


@require_POST
@login_required
def renew_calendar_token(request):
    """Create the signed-in person's private calendar address (their meetings,
    shifts, tasks and joint meetings: a volunteer without a member record has
    the last three), or replace it with a new one (the old one stops at once)."""
    token, created = CalendarToken.objects.get_or_create(user=request.user)
    if created:
        messages.success(request, _("Your calendar address is ready. Add it to your calendar app."))
    else:
        token.renew()
        messages.success(
            request,
            _("You have a new calendar address. The old address no longer works."),
        )
    return redirect("me")


def member_calendar_feed(request, token):
    """A person's private iCalendar feed: the meetings they are invited to, their
    signed-up shifts, accepted tasks and joint meetings. The secret token in the URL is the only key (calendar apps cannot sign in);
    an unknown or replaced token is a 404."""
    found = (
        CalendarToken.objects.select_related("user__member")
        .filter(token=token, user__is_active=True)
        .first()
    )
    if found is None:
        raise Http404
    response = HttpResponse(
        personal_calendar_ics(found.user, request), content_type="text/calendar; charset=utf-8"
    )
    response["Content-Disposition"] = 'inline; filename="my-meetings.ics"'
    response["Cache-Control"] = "private, max-age=300"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


_wagtail_workflow_action = page_viewset_registry.as_view("workflow_action", page_id_kwarg="page_id")


@require_admin_access
def workflow_action(request, page_id, action_name, task_state_id):
    """Wagtail's workflow action view (approving a district notice from the
    dashboard, or sending it back), plus the success message Wagtail leaves out:
    the page after it says what was done."""
    before = TaskState.objects.filter(pk=task_state_id).values_list("status", flat=True).first()
    response = _wagtail_workflow_action(
        request, page_id=page_id, action_name=action_name, task_state_id=task_state_id
    )
    after = TaskState.objects.filter(pk=task_state_id).values_list("status", flat=True).first()
    if request.method == "POST" and before == TaskState.STATUS_IN_PROGRESS and after != before:
        page = Page.objects.filter(pk=page_id).first()
        title = page.get_admin_display_title() if page else ""
        if after == TaskState.STATUS_APPROVED:
            messages.success(request, _("“%(title)s” is approved.") % {"title": title})
        elif after == TaskState.STATUS_REJECTED:
            messages.success(
                request, _("“%(title)s” is sent back to its author for changes.") % {"title": title}
            )
    return response
