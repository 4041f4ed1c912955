"""Signing up from a phone: the list of open shifts, one shift with a single
"sign up" button, and cancelling."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from volunteers import services
from volunteers.models import Shift, SignUp

PER_PAGE = 20


def _open_shifts():
    return (
        Shift.objects.filter(cancelled=False, duty__published=True, starts_at__gt=timezone.now())
        .select_related("duty", "duty__branch")
        .annotate(taken=Count("signups", filter=Q(signups__status=SignUp.Status.CONFIRMED)))
        .order_by("starts_at", "id")
    )


def shift_list(request):
    """Upcoming shifts open for sign-up, soonest first (anyone may look; signing
    up needs an account)."""
    page = Paginator(_open_shifts(), PER_PAGE).get_page(request.GET.get("page"))
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
        problem = services.eligibility_error(shift.duty, request.user)
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
        },
    )


@require_POST
@login_required
def shift_sign_up(request, pk):
    shift = get_object_or_404(Shift, pk=pk)
    try:
        signup = services.sign_up(shift=shift, user=request.user)
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
        signup = services.cancel(signup=signup, by=request.user)
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
