"""The printed agenda of a joint meeting: its facts, the accepted items with
their background, and a sign-in sheet of the invitees for the meeting room.
Laid out as the alliance's other documents (``alliance.pdf_layout``)."""

from django.utils.translation import gettext as _
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, Spacer, TableStyle

from alliance.models import AgendaItem, JointMeeting
from alliance.names import person_name
from alliance.pdf_layout import document_styles, facts_table, heading, ordinal, time_span
from portal.pdf import FONT, paragraph_text, register_fonts, render, rule, table


def _agenda_items(meeting: JointMeeting, s) -> list:
    """The accepted items as a table, then the background of those that have one."""
    items = list(
        meeting.agenda.filter(status=AgendaItem.Status.ACCEPTED)
        .select_related("proposer_partner", "proposer__partner_contact", "proposer__member")
        .order_by("position", "id")
    )
    if not items:
        return [Paragraph(paragraph_text(_("No agenda items.")), s["body"])]
    head = [_("Seq."), _("Agenda item"), _("Proposed by"), _("Time (min)")]
    rows = [[Paragraph(paragraph_text(h), s["cell_head"]) for h in head]]
    for n, item in enumerate(items, start=1):
        proposer = str(item.proposer_partner or "") or person_name(item.proposer)
        rows.append(
            [
                str(n),
                Paragraph(paragraph_text(item.title), s["cell"]),
                Paragraph(paragraph_text(proposer), s["cell"]),
                str(item.minutes_allotted),
            ]
        )
    story = [table(rows, col_widths=[12 * mm, 90 * mm, 48 * mm, 24 * mm])]
    if any(item.background for item in items):
        story += heading(_("Background of the agenda items"), s)
    for n, item in enumerate(items, start=1):
        if item.background:
            story += [
                *heading(ordinal(n) + item.title, s, "item", room=25 * mm),
                Paragraph(paragraph_text(item.background), s["indent"]),
            ]
    return story


def _sign_in_sheet(meeting: JointMeeting, s) -> list:
    """A row to sign per invitee, and three blank rows for whoever else comes."""
    invitations = list(
        meeting.invitations.select_related("user__partner_contact", "user__member", "partner")
    )
    head = [_("Seq."), _("Name"), _("Unit"), _("Signature")]
    rows = [[Paragraph(paragraph_text(h), s["cell_head"]) for h in head]]
    for n, invitation in enumerate(invitations, start=1):
        unit = invitation.partner.name if invitation.partner_id else ""
        rows.append(
            [
                str(n),
                Paragraph(paragraph_text(person_name(invitation.user)), s["cell"]),
                Paragraph(paragraph_text(unit), s["cell"]),
                "",
            ]
        )
    rows += [[str(n), "", "", ""] for n in range(len(invitations) + 1, len(invitations) + 4)]
    sheet = table(rows, col_widths=[12 * mm, 44 * mm, 70 * mm, 48 * mm])
    sheet.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, -1), FONT),
                ("TOPPADDING", (0, 1), (-1, -1), 8),
                ("BOTTOMPADDING", (0, 1), (-1, -1), 8),
            ]
        )
    )
    return [*heading(_("Sign-in sheet"), s), sheet]


def agenda_pdf(meeting: JointMeeting) -> bytes:
    """The agenda of ``meeting`` for printing: facts, the accepted items with
    their background, and a sign-in sheet of the invitees."""
    register_fonts()
    s = document_styles()
    title = _("Agenda: %(title)s") % {"title": meeting.title}
    story = [
        Paragraph(paragraph_text(meeting.alliance.name), s["subtitle"]),
        Paragraph(paragraph_text(title), s["doc_title"]),
        Spacer(1, 2 * mm),
        rule(),
        Spacer(1, 4 * mm),
        facts_table(
            [
                (_("Time"), time_span(meeting.starts_at, meeting.ends_at)),
                (_("Place"), meeting.place),
                (_("Convener"), person_name(meeting.convener)),
            ],
            s,
        ),
        *heading(_("Agenda"), s),
        *_agenda_items(meeting, s),
        *_sign_in_sheet(meeting, s),
    ]
    return render(story, title=title)
