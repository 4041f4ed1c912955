"""The community registration slip (在职党员到社区报到证) of an approved
registration, in the style of the other volunteer documents (volunteers/pdf.py)
and built from the shared toolkit in ``portal.pdf``."""

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from reportlab.lib import colors
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, Spacer, Table, TableStyle

from portal.masking import mask_address
from portal.names import person_name
from portal.pdf import FONT, WIDTH, paragraph_text, render, rule, table
from volunteers.pdf import SHADED, document_styles, long_date


def registration_slip_serial(registration) -> str:
    """``BD-<year approved>-<id, six digits>``."""
    when = registration.decided_at or registration.created_at or timezone.now()
    return f"BD-{timezone.localtime(when).year}-{registration.pk:06d}"


def registration_slip_pdf(registration) -> bytes:
    """The community registration slip (在职党员到社区报到证) of an approved
    registration: one A4 page for the member to print, sign and have stamped."""
    s = document_styles()
    member = registration.member
    community = registration.branch
    serial = registration_slip_serial(registration)
    statement = _(
        "Comrade %(name)s has registered with %(community)s as a Party member employed "
        "elsewhere. The registration has been reviewed and approved by the community Party "
        "organisation, and this slip is issued as proof."
    ) % {"name": member.name, "community": community.title}
    title = _("Community registration slip for Party members employed elsewhere")
    flowables = [
        Spacer(1, 6 * mm),
        Paragraph(paragraph_text(title), s["doc_title"]),
        rule(),
        Spacer(1, 2 * mm),
        Paragraph(paragraph_text(_("No. %(serial)s") % {"serial": serial}), s["serial"]),
        Spacer(1, 6 * mm),
        Paragraph(paragraph_text(statement), s["lead"]),
        Spacer(1, 6 * mm),
        _slip_details(registration, s),
        Spacer(1, 10 * mm),
        _slip_signatures(s),
        Spacer(1, 5 * mm),
        Paragraph(
            paragraph_text(
                _(
                    "One copy is kept by the community Party organisation and one by the "
                    "member. The address is masked to protect privacy."
                )
            ),
            s["small"],
        ),
    ]
    return render(flowables, title=title, footer=f"{title} · {serial}")


def _slip_details(registration, s) -> Table:
    """The member, the two branches, the employer and the decision, one to a row."""
    member = registration.member
    community = registration.branch
    grid = community.get_parent()
    facts = [
        (pgettext("person", "Name"), member.name),
        (_("Home branch"), member.branch.title),
        (_("Employer unit"), registration.employer or member.employer),
        (_("Community branch registered with"), community.title),
        (_("Grid of the community"), grid.title if grid else ""),
        (_("Home address"), mask_address(registration.address)),
        (_("What I can offer"), registration.skills),
        (_("Approved on"), long_date(registration.decided_at)),
        (_("Approved by"), person_name(registration.decided_by)),
    ]
    rows = [
        [Paragraph(paragraph_text(label), s["label"]), Paragraph(paragraph_text(value), s["body"])]
        for label, value in facts
    ]
    details = table(rows, col_widths=[48 * mm, WIDTH - 48 * mm], header=False)
    details.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, -1), FONT),
                ("BACKGROUND", (0, 0), (0, -1), SHADED),
                ("TOPPADDING", (0, 0), (-1, -1), 9),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 9),
                ("LEFTPADDING", (0, 0), (-1, -1), 8),
                ("BOX", (0, 0), (-1, -1), 1, colors.black),
            ]
        )
    )
    return details


def _slip_signatures(s) -> Table:
    """Room for the member's signature and the community organisation's stamp."""
    signature = Table(
        [
            [
                Paragraph(paragraph_text(_("Signature of the member:")), s["body"]),
                Paragraph(
                    paragraph_text(_("Stamp of the community Party organisation:")), s["body"]
                ),
            ],
            [
                Paragraph(paragraph_text(_("Date signed:")), s["body"]),
                Paragraph(paragraph_text(_("Date signed:")), s["body"]),
            ],
        ],
        colWidths=[WIDTH / 2, WIDTH / 2],
        rowHeights=[52 * mm, 12 * mm],
    )
    signature.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, -1), FONT),
                ("BOX", (0, 0), (-1, -1), 1, colors.black),
                ("LINEBEFORE", (1, 0), (1, -1), 0.5, colors.grey),
                ("VALIGN", (0, 0), (-1, 0), "TOP"),
                ("VALIGN", (0, 1), (-1, 1), "BOTTOM"),
                ("LEFTPADDING", (0, 0), (-1, -1), 8),
                ("TOPPADDING", (0, 0), (-1, -1), 8),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 8),
            ]
        )
    )
    return signature
