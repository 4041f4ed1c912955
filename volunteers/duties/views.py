"""Signing up from a phone: the list of open shifts, one shift with a single
"sign up" button, cancelling, and checking in and out with the organiser's
code (the organiser's screen shows it)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from portal import codes
from volunteers.duties import services
from volunteers.duties.selectors import can_organise, eligibility_error, open_shifts
from volunteers.models import CheckIn, Shift, SignUp

PER_PAGE = 20


def shift_list(request):
    """Upcoming shifts open for sign-up, soonest first (anyone may look; signing
    up needs an account)."""
    page = Paginator(open_shifts(), PER_PAGE).get_page(request.GET.get("page"))
    mine = {}
    if request.user.is_authenticated:
        mine = dict(
            SignUp.objects.filter(
                user=request.user, shift__in=[s.pk for s in page], status__in=SignUp.ACTIVE
            ).values_list("shift_id", "status")
        )
    for shift in page:
        shift.my_status = mine.get(shift.pk)
    return render(request, "volunteers/shift_list.html", {"items": page})


def shift_detail(request, pk):
    shift = get_object_or_404(Shift.objects.select_related("duty__branch"), pk=pk)
    taken = shift.signups.filter(status=SignUp.Status.CONFIRMED).count()
    waiting = shift.signups.filter(status=SignUp.Status.WAITLISTED).count()
    mine = None
    if request.user.is_authenticated:
        mine = shift.signups.filter(user=request.user, status__in=SignUp.ACTIVE).first()
    problem = None
    if request.user.is_authenticated and mine is None:
        problem = eligibility_error(shift.duty, request.user)
    check_in = None
    if request.user.is_authenticated:
        check_in = CheckIn.objects.filter(shift=shift, user=request.user).first()
    now = timezone.now()
    return render(
        request,
        "volunteers/shift_detail.html",
        {
            "shift": shift,
            "taken": taken,
            "free": max(0, shift.capacity - taken),
            "waiting": waiting,
            "mine": mine,
            "problem": problem,
            "open": not shift.cancelled and timezone.now() < shift.sign_up_until,
            "late": timezone.now() >= shift.cancel_until,
            "check_in": check_in,
            "started": now >= shift.starts_at,
            "checking_open": shift.starts_at - services.EARLY_CHECK_IN
            <= now
            <= shift.ends_at + services.LATE_CHECK_OUT,
            "organiser": request.user.is_authenticated and can_organise(request.user, shift),
        },
    )


@require_POST
@login_required
def shift_sign_up(request, pk):
    shift = get_object_or_404(Shift, pk=pk)
    try:
        signup = services.shift_sign_up(shift=shift, user=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        if signup.status == SignUp.Status.CONFIRMED:
            messages.success(request, _("You are signed up. See you there!"))
        else:
            messages.info(
                request,
                _(
                    "The shift is full: you are on the waitlist and will be told if a place frees up."
                ),
            )
    return redirect("volunteer_shift", pk=shift.pk)


@require_POST
@login_required
def shift_cancel(request, pk):
    signup = get_object_or_404(SignUp, shift_id=pk, user=request.user, status__in=SignUp.ACTIVE)
    try:
        signup = services.signup_cancel(signup=signup, by=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        if signup.status == SignUp.Status.LATE_CANCELLED:
            messages.warning(
                request,
                _("Cancelled. It is close to the start, so it is recorded as a late cancellation."),
            )
        else:
            messages.success(request, _("Cancelled."))
    return redirect("volunteer_shift", pk=pk)


def _check(request, shift, **credentials):
    """Run a check-in or check-out and say what happened."""
    try:
        record, action, repeated = services.shift_check(
            shift=shift,
            user=request.user,
            latitude=request.POST.get("latitude") or None,
            longitude=request.POST.get("longitude") or None,
            **credentials,
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return False
    when = timezone.localtime(
        record.checked_in_at if action == "in" else record.checked_out_at
    ).strftime("%H:%M")
    if action == "in":
        text = _("Already checked in at %(time)s.") if repeated else _("Checked in at %(time)s.")
    else:
        text = _("Already checked out at %(time)s.") if repeated else _("Checked out at %(time)s.")
    messages.success(request, text % {"time": when})
    return True


@require_POST
@login_required
def shift_check_code(request, pk):
    """The 6-digit fallback, typed on the shift's page."""
    shift = get_object_or_404(Shift, pk=pk)
    _check(request, shift, digits=request.POST.get("code", ""))
    return redirect("volunteer_shift", pk=shift.pk)


@login_required
def shift_scan(request, pk):
    """Where the organiser's QR code leads: one button confirms (and sends the
    phone's location when the duty needs it)."""
    shift = get_object_or_404(Shift.objects.select_related("duty"), pk=pk)
    token = request.POST.get("t") or request.GET.get("t", "")
    if request.method == "POST":
        if _check(request, shift, token=token):
            return redirect("volunteer_shift", pk=shift.pk)
    action = None
    try:
        action = codes.verify_token(shift.pk, token)
    except ValidationError as error:
        if request.method == "GET":
            messages.error(request, " ".join(error.messages))
    return render(
        request, "volunteers/shift_scan.html", {"shift": shift, "token": token, "action": action}
    )


@login_required
def shift_code(request, pk):
    """The organiser's phone screen: a QR code and a 6-digit code that change
    every 30 seconds (the page reloads itself when they do)."""
    shift = get_object_or_404(Shift.objects.select_related("duty__branch"), pk=pk)
    if not can_organise(request.user, shift):
        raise PermissionDenied
    action = "out" if request.GET.get("mode") == "out" else "in"
    records = CheckIn.objects.filter(shift=shift)
    return render(
        request,
        "volunteers/shift_code.html",
        {
            "shift": shift,
            "action": action,
            **codes.screen(shift.pk, action, reverse("volunteer_scan", args=[shift.pk])),
            "checked_in": records.count(),
            "checked_out": records.filter(checked_out_at__isnull=False).count(),
            "confirmed": shift.signups.filter(status=SignUp.Status.CONFIRMED).count(),
        },
    )
