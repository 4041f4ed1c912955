"""Printable alliance documents: the minutes of a joint meeting (联席会议纪要)
in the official layout with a verification QR code, and the agenda with a
sign-in sheet for the meeting room. Built with the shared toolkit in
``portal.pdf`` (embedded CJK font, A4, "page N of M")."""

import datetime as dt
from xml.sax.saxutils import escape

from django.utils import formats, timezone, translation
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_RIGHT
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import CondPageBreak, KeepTogether, Paragraph, Spacer, Table, TableStyle

from alliance.meetings import person_name
from alliance.models import AgendaItem, Invitation, JointMeeting, Minutes, MinutesVersion
from portal.pdf import FONT, RED, WIDTH, QRCode, register_fonts, render, rule, styles, table

SHADE = colors.HexColor("#f7eded")
CN_DIGITS = "零一二三四五六七八九"


def _styles() -> dict[str, ParagraphStyle]:
    base = styles()
    return {
        **base,
        "doc_title": ParagraphStyle(
            "alliance_title",
            parent=base["title"],
            fontSize=22,
            leading=30,
            textColor=RED,
            spaceAfter=1 * mm,
        ),  # fmt: skip
        "subtitle": ParagraphStyle(
            "alliance_subtitle", parent=base["center"], fontSize=12, leading=18
        ),
        "version": ParagraphStyle(
            "alliance_version", parent=base["small"], alignment=TA_RIGHT, textColor=colors.grey
        ),
        "item": ParagraphStyle(
            "alliance_item",
            parent=base["heading"],
            fontSize=12.5,
            leading=19,
            spaceBefore=3 * mm,
        ),
        "note": ParagraphStyle("alliance_note", parent=base["small"]),
        "label": ParagraphStyle("alliance_label", parent=base["body"], fontSize=10, leading=15),
        "cell": ParagraphStyle("alliance_cell", parent=base["body"], fontSize=9, leading=12.5),
        "cell_head": ParagraphStyle(
            "alliance_cell_head",
            parent=base["body"],
            fontSize=9,
            leading=12.5,
            alignment=TA_CENTER,
        ),
        "indent": ParagraphStyle(
            "alliance_indent", parent=base["body"], firstLineIndent=21, spaceAfter=1 * mm
        ),
        "label_next": ParagraphStyle(
            "alliance_label_next", parent=base["body"], firstLineIndent=21, keepWithNext=1
        ),
        "qr_note": ParagraphStyle(
            "alliance_qr_note", parent=base["small"], alignment=TA_CENTER, textColor=colors.grey
        ),
        "right": ParagraphStyle("alliance_right", parent=base["body"], alignment=TA_RIGHT),
    }


def _text(value) -> str:
    return escape(str(value or "")).replace("\n", "<br/>")


def ordinal(n: int) -> str:
    """Section numbers: 一、二、… in Chinese, 1. 2. … otherwise."""
    if not (translation.get_language() or "").startswith("zh") or not 0 < n < 100:
        return f"{n}. "
    tens, ones = divmod(n, 10)
    text = ("" if tens == 1 else CN_DIGITS[tens]) + "十" if tens else ""
    return text + (CN_DIGITS[ones] if ones else "") + "、"


def _local(value) -> dt.datetime | None:
    if isinstance(value, str):
        value = parse_datetime(value)
    return timezone.localtime(value) if value is not None else None


def _when(starts_at, ends_at) -> str:
    start, end = _local(starts_at), _local(ends_at)
    if start is None:
        return ""
    text = f"{formats.date_format(start, 'DATE_FORMAT')} {start:%H:%M}"
    if end is not None:
        same_day = end.date() == start.date()
        text += f"–{end:%H:%M}" if same_day else f"–{formats.date_format(end, 'DATE_FORMAT')}"
    return text


def _due(value) -> str:
    day = parse_date(value) if isinstance(value, str) else value
    return day.strftime("%Y-%m-%d") if day else ""


def _heading(text, s, style="heading", room=30 * mm) -> list:
    """A heading that never sits alone at the foot of a page: it starts a new
    page when less than ``room`` is left (long text below it still splits)."""
    return [CondPageBreak(room), Paragraph(_text(text), s[style])]


def _facts_table(rows, s) -> Table:
    data = [
        [Paragraph(_text(label), s["label"]), Paragraph(_text(value), s["label"])]
        for label, value in rows
    ]
    facts = table(data, col_widths=[30 * mm, WIDTH - 30 * mm], header=False)
    facts.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, -1), FONT),
                ("BACKGROUND", (0, 0), (0, -1), SHADE),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("TOPPADDING", (0, 0), (-1, -1), 4),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
            ]
        )
    )
    return facts


def _invitee(invitation: Invitation) -> str:
    name = person_name(invitation.user)
    return f"{name}（{invitation.partner.name}）" if invitation.partner_id else name


def attendance(meeting: JointMeeting) -> dict[str, list[str]]:
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


def minutes_pdf(
    minutes: Minutes, verify_url: str, *, version: MinutesVersion | None = None
) -> bytes:
    """The minutes in the official layout, as of ``version`` (default: the
    latest): title, meeting facts, attendance, agenda, per item the discussion
    and resolutions, the action items and a QR code of ``verify_url``."""
    register_fonts()
    s = _styles()
    meeting = minutes.meeting
    if version is None:
        version = minutes.versions.order_by("-number").first()
    if version is None:
        from alliance.minutes import minutes_content

        content, number, state = minutes_content(minutes), minutes.version, minutes.state
    else:
        content, number, state = version.content, version.number, version.state
    facts = content.get("meeting", {})
    title = minutes_title(meeting)
    state_label = Minutes.State(state).label
    people = attendance(meeting)
    none = _("None")

    story = [
        Paragraph(_text(title), s["doc_title"]),
        Paragraph(_text(facts.get("title") or meeting.title), s["subtitle"]),
        Spacer(1, 2 * mm),
        rule(),
        Spacer(1, 1 * mm),
        Paragraph(
            _text(_("Version %(number)s · %(state)s") % {"number": number, "state": state_label}),
            s["version"],
        ),
        Spacer(1, 3 * mm),
        _facts_table(
            [
                (
                    _("Time"),
                    _when(
                        facts.get("starts_at") or meeting.starts_at,
                        facts.get("ends_at") or meeting.ends_at,
                    ),
                ),
                (_("Place"), facts.get("place") or meeting.place),
                (_("Convener"), person_name(meeting.convener)),
                (_("Present"), "、".join(people["present"]) or none),
                (_("Deputies"), "、".join(people["deputies"]) or none),
                (_("Absent"), "、".join(people["absent"]) or none),
            ],
            s,
        ),
    ]

    items = content.get("items", [])
    if content.get("summary"):
        story += [
            *_heading(_("Summary"), s),
            Paragraph(_text(content["summary"]), s["indent"]),
        ]
    story += _heading(_("Agenda"), s)
    if items:
        story += [
            Paragraph(_text(f"{n}. {item['title']}"), s["body"])
            for n, item in enumerate(items, start=1)
        ]
    else:
        story.append(Paragraph(_text(_("No agenda items.")), s["body"]))

    story += _heading(_("Discussion and resolutions"), s)
    discussion_label = _("Discussion:")
    resolutions_label = _("Resolutions:")
    for n, item in enumerate(items, start=1):
        # No heading alone at the foot of a page; long discussions split across pages.
        story += _heading(ordinal(n) + item["title"], s, "item", room=35 * mm)
        if item.get("proposer"):
            story.append(
                Paragraph(_text(_("Proposed by %(unit)s") % {"unit": item["proposer"]}), s["note"])
            )
        discussion = item.get("discussion") or _("Not recorded.")
        story.append(Paragraph(f"<b>{_text(discussion_label)}</b>{_text(discussion)}", s["indent"]))
        resolutions = item.get("resolutions") or []
        if resolutions:
            story.append(Paragraph(f"<b>{_text(resolutions_label)}</b>", s["label_next"]))
            story += [
                Paragraph(_text(f"（{k}）{line}"), s["indent"])
                for k, line in enumerate(resolutions, start=1)
            ]

    actions = [(item, a) for item in items for a in item.get("actions", [])]
    story += _heading(_("Action items"), s)
    if actions:
        head = [
            _("Seq."),
            _("Action item"),
            _("Owner unit"),
            _("Person responsible"),
            _("Due"),
            _("Expected result"),
        ]
        rows = [[Paragraph(_text(h), s["cell_head"]) for h in head]]
        for k, (_item, action) in enumerate(actions, start=1):
            rows.append(
                [
                    str(k),
                    Paragraph(_text(action["title"]), s["cell"]),
                    Paragraph(_text(action.get("owner_unit")), s["cell"]),
                    Paragraph(_text(action.get("owner_name")), s["cell"]),
                    _due(action.get("due_on")),
                    Paragraph(_text(action.get("expected_result")), s["cell"]),
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
        story.append(grid)
    else:
        story.append(Paragraph(_text(_("No action items.")), s["body"]))

    issued = minutes.published_at or minutes.approved_at
    sign_off = [Spacer(1, 6 * mm), Paragraph(_text(meeting.alliance.name), s["right"])]
    if issued:
        sign_off.append(
            Paragraph(
                _text(formats.date_format(timezone.localtime(issued), "DATE_FORMAT")), s["right"]
            )
        )
    qr = Table(
        [[QRCode(verify_url, size=26 * mm)], [Paragraph(_text(_("Scan to verify")), s["qr_note"])]],
        colWidths=[32 * mm],
    )
    qr.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, -1), FONT),
                ("ALIGN", (0, 0), (-1, -1), "CENTER"),
                ("TOPPADDING", (0, 0), (-1, -1), 0),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 0),
            ]
        )
    )
    footer_block = Table([[qr, sign_off]], colWidths=[36 * mm, WIDTH - 36 * mm])
    footer_block.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, -1), FONT),
                ("VALIGN", (0, 0), (-1, -1), "BOTTOM"),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("RIGHTPADDING", (0, 0), (-1, -1), 0),
            ]
        )
    )
    story += [Spacer(1, 8 * mm), KeepTogether([footer_block])]
    footer = _("%(title)s · version %(number)s") % {"title": title, "number": number}
    return render(story, title=title, footer=footer)


def agenda_pdf(meeting: JointMeeting) -> bytes:
    """The agenda of ``meeting`` for printing: facts, the accepted items with
    their background, and a sign-in sheet of the invitees."""
    register_fonts()
    s = _styles()
    title = _("Agenda: %(title)s") % {"title": meeting.title}
    story = [
        Paragraph(_text(meeting.alliance.name), s["subtitle"]),
        Paragraph(_text(title), s["doc_title"]),
        Spacer(1, 2 * mm),
        rule(),
        Spacer(1, 4 * mm),
        _facts_table(
            [
                (_("Time"), _when(meeting.starts_at, meeting.ends_at)),
                (_("Place"), meeting.place),
                (_("Convener"), person_name(meeting.convener)),
            ],
            s,
        ),
        *_heading(_("Agenda"), s),
    ]
    items = list(
        meeting.agenda.filter(status=AgendaItem.Status.ACCEPTED)
        .select_related("proposer_partner", "proposer__partner_contact", "proposer__member")
        .order_by("position", "id")
    )
    if items:
        head = [_("Seq."), _("Agenda item"), _("Proposed by"), _("Time (min)")]
        rows = [[Paragraph(_text(h), s["cell_head"]) for h in head]]
        for n, item in enumerate(items, start=1):
            proposer = str(item.proposer_partner or "") or person_name(item.proposer)
            rows.append(
                [
                    str(n),
                    Paragraph(_text(item.title), s["cell"]),
                    Paragraph(_text(proposer), s["cell"]),
                    str(item.minutes_allotted),
                ]
            )
        story.append(table(rows, col_widths=[12 * mm, 90 * mm, 48 * mm, 24 * mm]))
        if any(item.background for item in items):
            story += _heading(_("Background of the agenda items"), s)
        for n, item in enumerate(items, start=1):
            if item.background:
                story += [
                    *_heading(ordinal(n) + item.title, s, "item", room=25 * mm),
                    Paragraph(_text(item.background), s["indent"]),
                ]
    else:
        story.append(Paragraph(_text(_("No agenda items.")), s["body"]))

    invitations = list(
        meeting.invitations.select_related("user__partner_contact", "user__member", "partner")
    )
    story += _heading(_("Sign-in sheet"), s)
    head = [_("Seq."), _("Name"), _("Unit"), _("Signature")]
    rows = [[Paragraph(_text(h), s["cell_head"]) for h in head]]
    for n, invitation in enumerate(invitations, start=1):
        rows.append(
            [
                str(n),
                Paragraph(_text(person_name(invitation.user)), s["cell"]),
                Paragraph(
                    _text(invitation.partner.name if invitation.partner_id else ""), s["cell"]
                ),
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
    story.append(sheet)
    return render(story, title=title)
