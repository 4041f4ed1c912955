"""A helper the alliance's partner and list pages share: a signed-in user's
POST whose refusal (a ``ValidationError``) goes back to the page as a message
(``post_action``)."""

from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect
from django.views.decorators.http import require_POST


def post_action(back: str):
    """A POST by a signed-in user: a refusal (ValidationError) becomes a message
    and the user goes back to ``back`` (a URL name, taking the view's ``pk``
    unless it is the unit's page); PermissionDenied is a 403."""

    def decorate(view):
        @require_POST
        @login_required
        @wraps(view)
        def wrapper(request, pk, **kwargs):
            try:
                return view(request, pk, **kwargs)
            except ValidationError as error:
                messages.error(request, " ".join(error.messages))
                return redirect(back) if back == "alliance_my_unit" else redirect(back, pk=pk)

        return wrapper

    return decorate
