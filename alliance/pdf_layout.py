"""The layout the alliance's printed documents share (the minutes in
``alliance.minutes.pdf``, the agenda in ``alliance.meetings.pdf``): their
paragraph styles, section numbers (一、二、…), headings that keep with the text
below them, the shaded table of facts, and times and dates as printed. Built on
the shared toolkit in ``portal.pdf``."""

import datetime as dt

from django.utils import formats, timezone, translation
from django.utils.dateparse import parse_date, parse_datetime
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_RIGHT
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import CondPageBreak, Paragraph, Table, TableStyle

from portal.pdf import FONT, RED, WIDTH, paragraph_text, styles, table

SHADE = colors.HexColor("#f7eded")
CN_DIGITS = "零一二三四五六七八九"


def document_styles() -> dict[str, ParagraphStyle]:
    """The toolkit's styles and those of the alliance's documents."""
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
        "right": ParagraphStyle("alliance_right", parent=base["body"], alignment=TA_RIGHT),
    }


def ordinal(n: int) -> str:
    """Section numbers: 一、二、… in Chinese, 1. 2. … otherwise."""
    if not (translation.get_language() or "").startswith("zh") or not 0 < n < 100:
        return f"{n}. "
    tens, ones = divmod(n, 10)
    text = ("" if tens == 1 else CN_DIGITS[tens]) + "十" if tens else ""
    return text + (CN_DIGITS[ones] if ones else "") + "、"


def local_time(value) -> dt.datetime | None:
    if isinstance(value, str):
        value = parse_datetime(value)
    return timezone.localtime(value) if value is not None else None


def time_span(starts_at, ends_at) -> str:
    """A meeting's date and times (an ISO string or a moment), the end's date
    only when it is another day."""
    start, end = local_time(starts_at), local_time(ends_at)
    if start is None:
        return ""
    text = f"{formats.date_format(start, 'DATE_FORMAT')} {start:%H:%M}"
    if end is not None:
        same_day = end.date() == start.date()
        text += f"–{end:%H:%M}" if same_day else f"–{formats.date_format(end, 'DATE_FORMAT')}"
    return text


def due_text(value) -> str:
    """A due date (an ISO string or a date) as ``2026-06-30``."""
    day = parse_date(value) if isinstance(value, str) else value
    return day.strftime("%Y-%m-%d") if day else ""


def heading(text, s, style="heading", room=30 * mm) -> list:
    """A heading that never sits alone at the foot of a page: it starts a new
    page when less than ``room`` is left (long text below it still splits)."""
    return [CondPageBreak(room), Paragraph(paragraph_text(text), s[style])]


def facts_table(rows, s) -> Table:
    """Label and value rows, the labels on a shaded column."""
    data = [
        [Paragraph(paragraph_text(label), s["label"]), Paragraph(paragraph_text(value), s["label"])]
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
