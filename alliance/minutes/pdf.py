"""The printed minutes of a joint meeting (联席会议纪要) in the official layout:
title, meeting facts and attendance, agenda, per item the discussion and
resolutions, the action-item table, and the sign-off with a QR code that
verifies the version. Laid out as the alliance's other documents
(``alliance.pdf_layout``); each section is drawn by its own helper."""

from django.utils import formats, timezone
from django.utils.translation import gettext as _
from reportlab.lib.units import mm
from reportlab.platypus import KeepTogether, Paragraph, Spacer, Table, TableStyle

from alliance.minutes.versions import minutes_content
from alliance.models import Invitation, JointMeeting, Minutes, MinutesVersion
from alliance.names import person_name
from alliance.pdf_layout import (
    document_styles,
    due_text,
    facts_table,
    heading,
    ordinal,
    time_span,
)
from portal.pdf import (
    FONT,
    WIDTH,
    paragraph_text,
    register_fonts,
    render,
    rule,
    table,
    verification_qr,
)


def _invitee(invitation: Invitation) -> str:
    name = person_name(invitation.user)
    return f"{name}（{invitation.partner.name}）" if invitation.partner_id else name


def attendance_lists(meeting: JointMeeting) -> dict[str, list[str]]:
    """The invitees as printed: who attended, who sent a deputy, who was absent.
    Once anyone has signed in, the sign-in sheet decides who was there;
    before that (no sign-in taken) the answers to the invitation do."""
    present, deputies, absent = [], [], []
    invitations = list(
        meeting.invitations.select_related(
            "user__partner_contact", "user__member", "partner"
        ).order_by("id")
    )
    sheet = any(invitation.signed_in_at for invitation in invitations)
    for invitation in invitations:
        label = _invitee(invitation)
        came = (
            invitation.signed_in_at if sheet else invitation.response == Invitation.Response.ATTEND
        )
        if invitation.response == Invitation.Response.DEPUTY and (
            invitation.signed_in_at or not sheet
        ):
            deputy = invitation.deputy_name or _("a deputy")
            deputies.append(
                _("%(name)s (represented by %(deputy)s)") % {"name": label, "deputy": deputy}
            )
        elif came:
            present.append(label)
        else:
            absent.append(label)
    return {"present": present, "deputies": deputies, "absent": absent}


def minutes_title(meeting: JointMeeting) -> str:
    return _("%(alliance)s joint meeting minutes") % {"alliance": meeting.alliance.name}


# --- Sections -------------------------------------------------------------------------------


def _masthead(title: str, meeting: JointMeeting, facts: dict, number, state, s) -> list:
    """The red title, the meeting's title under it, and the version line."""
    version = _("Version %(number)s · %(state)s") % {
        "number": number,
        "state": Minutes.State(state).label,
    }
    return [
        Paragraph(paragraph_text(title), s["doc_title"]),
        Paragraph(paragraph_text(facts.get("title") or meeting.title), s["subtitle"]),
        Spacer(1, 2 * mm),
        rule(),
        Spacer(1, 1 * mm),
        Paragraph(paragraph_text(version), s["version"]),
        Spacer(1, 3 * mm),
    ]


def _meeting_facts(meeting: JointMeeting, facts: dict, s) -> Table:
    """Time, place, convener, and who was present, represented and absent."""
    people = attendance_lists(meeting)
    none = _("None")
    when = time_span(
        facts.get("starts_at") or meeting.starts_at, facts.get("ends_at") or meeting.ends_at
    )
    return facts_table(
        [
            (_("Time"), when),
            (_("Place"), facts.get("place") or meeting.place),
            (_("Convener"), person_name(meeting.convener)),
            (_("Present"), "、".join(people["present"]) or none),
            (_("Deputies"), "、".join(people["deputies"]) or none),
            (_("Absent"), "、".join(people["absent"]) or none),
        ],
        s,
    )


def _summary_and_agenda(content: dict, items: list, s) -> list:
    story = []
    if content.get("summary"):
        story += [
            *heading(_("Summary"), s),
            Paragraph(paragraph_text(content["summary"]), s["indent"]),
        ]
    story += heading(_("Agenda"), s)
    if not items:
        return [*story, Paragraph(paragraph_text(_("No agenda items.")), s["body"])]
    return story + [
        Paragraph(paragraph_text(f"{n}. {item['title']}"), s["body"])
        for n, item in enumerate(items, start=1)
    ]


def _discussion(items: list, s) -> list:
    """Per agenda item: who proposed it, its discussion and numbered resolutions."""
    story = heading(_("Discussion and resolutions"), s)
    discussion_label = paragraph_text(_("Discussion:"))
    resolutions_label = paragraph_text(_("Resolutions:"))
    for n, item in enumerate(items, start=1):
        # No heading alone at the foot of a page; long discussions split across pages.
        story += heading(ordinal(n) + item["title"], s, "item", room=35 * mm)
        if item.get("proposer"):
            proposed = _("Proposed by %(unit)s") % {"unit": item["proposer"]}
            story.append(Paragraph(paragraph_text(proposed), s["note"]))
        discussion = paragraph_text(item.get("discussion") or _("Not recorded."))
        story.append(Paragraph(f"<b>{discussion_label}</b>{discussion}", s["indent"]))
        resolutions = item.get("resolutions") or []
        if resolutions:
            story.append(Paragraph(f"<b>{resolutions_label}</b>", s["label_next"]))
            story += [
                Paragraph(paragraph_text(f"（{k}）{line}"), s["indent"])
                for k, line in enumerate(resolutions, start=1)
            ]
    return story


def _action_table(items: list, s) -> list:
    """Every action item of the minutes, numbered, in one ruled table."""
    actions = [action for item in items for action in item.get("actions", [])]
    story = heading(_("Action items"), s)
    if not actions:
        return [*story, Paragraph(paragraph_text(_("No action items.")), s["body"])]
    head = [
        _("Seq."),
        _("Action item"),
        _("Owner unit"),
        _("Person responsible"),
        _("Due"),
        _("Expected result"),
    ]
    rows = [[Paragraph(paragraph_text(h), s["cell_head"]) for h in head]]
    for k, action in enumerate(actions, start=1):
        rows.append(
            [
                str(k),
                Paragraph(paragraph_text(action["title"]), s["cell"]),
                Paragraph(paragraph_text(action.get("owner_unit")), s["cell"]),
                Paragraph(paragraph_text(action.get("owner_name")), s["cell"]),
                due_text(action.get("due_on")),
                Paragraph(paragraph_text(action.get("expected_result")), s["cell"]),
            ]
        )
    grid = table(rows, col_widths=[12 * mm, 46 * mm, 34 * mm, 20 * mm, 22 * mm, 40 * mm])
    grid.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, -1), FONT),
                ("FONTSIZE", (0, 1), (-1, -1), 9),
                ("ALIGN", (0, 1), (0, -1), "CENTER"),
                ("ALIGN", (4, 1), (4, -1), "CENTER"),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    return [*story, grid]


def _sign_off(minutes: Minutes, meeting: JointMeeting, verify_url: str, s) -> list:
    """The verification QR code beside the alliance's name and the date issued,
    kept together at the foot of the minutes."""
    issued = minutes.published_at or minutes.approved_at
    sign_off = [Spacer(1, 6 * mm), Paragraph(paragraph_text(meeting.alliance.name), s["right"])]
    if issued:
        date = formats.date_format(timezone.localtime(issued), "DATE_FORMAT")
        sign_off.append(Paragraph(paragraph_text(date), s["right"]))
    block = Table(
        [[verification_qr(verify_url, size=26 * mm), sign_off]],
        colWidths=[36 * mm, WIDTH - 36 * mm],
    )
    block.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, -1), FONT),
                ("VALIGN", (0, 0), (-1, -1), "BOTTOM"),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("RIGHTPADDING", (0, 0), (-1, -1), 0),
            ]
        )
    )
    return [Spacer(1, 8 * mm), KeepTogether([block])]


# --- The document ---------------------------------------------------------------------------


def minutes_pdf(
    minutes: Minutes, verify_url: str, *, version: MinutesVersion | None = None
) -> bytes:
    """The minutes in the official layout, as of ``version`` (default: the
    latest): title, meeting facts, attendance, agenda, per item the discussion
    and resolutions, the action items and a QR code of ``verify_url``."""
    register_fonts()
    s = document_styles()
    meeting = minutes.meeting
    if version is None:
        version = minutes.versions.order_by("-number").first()
    if version is None:
        content, number, state = minutes_content(minutes), minutes.version, minutes.state
    else:
        content, number, state = version.content, version.number, version.state
    facts = content.get("meeting", {})
    items = content.get("items", [])
    title = minutes_title(meeting)
    story = [
        *_masthead(title, meeting, facts, number, state, s),
        _meeting_facts(meeting, facts, s),
        *_summary_and_agenda(content, items, s),
        *_discussion(items, s),
        *_action_table(items, s),
        *_sign_off(minutes, meeting, verify_url, s),
    ]
    footer = _("%(title)s · version %(number)s") % {"title": title, "number": number}
    return render(story, title=title, footer=footer)
