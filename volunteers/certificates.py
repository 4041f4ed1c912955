"""Service certificates (志愿服务证明): issuing one for a person's year, the
member's download, and the public page its QR code opens."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from portal.links import absolute_url
from portal.masking import mask_name
from portal.names import person_name
from volunteers.models import Certificate
from volunteers.pdf import certificate_pdf
from volunteers.selectors import ServiceRecord, service_record


@transaction.atomic
def certificate_issue(*, user, year: int, record: ServiceRecord | None = None) -> Certificate:
    """Issue the certificate of ``user``'s credited service in ``year``: its
    totals are the sums of the rows of their service record (``record``, read
    here when not given), the rows the certificate lists. The latest
    certificate of that year is returned again while the hours and services
    are unchanged; changed totals get a new one (the old one stays verifiable
    but is marked superseded). Refused when the year has no credited service."""
    # One issue per person at a time, so two taps do not make two certificates.
    get_user_model().objects.select_for_update().filter(pk=user.pk).first()
    record = record or service_record(user=user, year=year)
    minutes, services = record.minutes, record.services
    if services <= 0:
        raise ValidationError(
            _(
                "You have no credited volunteer service in %(year)s, so no certificate can be issued."
            )
            % {"year": year}
        )
    latest = Certificate.objects.filter(user=user, year=year).order_by("-issued_at", "-id").first()
    if latest is not None and latest.minutes == minutes and latest.shifts == services:
        return latest
    return Certificate.objects.create(
        user=user, name=person_name(user)[:50], year=year, minutes=minutes, shifts=services
    )


def certificate_verify_url(certificate) -> str:
    """The absolute address of the certificate's public verification page (the QR content)."""
    # The printed address is the same whatever language the PDF was made in.
    with translation.override(settings.LANGUAGE_CODE):
        path = reverse("certificate_verify", args=[certificate.code])
    return absolute_url(path)


@never_cache
@login_required
def certificate_download(request, year):
    """The signed-in person's certificate for ``year`` as a PDF download."""
    # One read of the ledger: the certificate's totals and its rows come from it.
    record = service_record(user=request.user, year=year)
    try:
        certificate = certificate_issue(user=request.user, year=year, record=record)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("my_service")
    content = certificate_pdf(certificate, certificate_verify_url(certificate), record=record)
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="certificate-{year}.pdf"'
    return response


def certificate_verify(request, code):
    """Public check of a certificate's QR code: masked name and the totals only."""
    certificate = Certificate.objects.filter(code=code).first()
    if certificate is None:
        return render(request, "volunteers/certificate_verify.html", {"found": False}, status=404)
    issued = certificate.issued_at
    newer = Certificate.objects.filter(
        Q(issued_at__gt=issued) | Q(issued_at=issued, pk__gt=certificate.pk),
        user_id=certificate.user_id,
        year=certificate.year,
    ).exists()
    return render(
        request,
        "volunteers/certificate_verify.html",
        {
            "found": True,
            "certificate": certificate,
            "masked_name": mask_name(certificate.name),
            "superseded": newer,
        },
    )
