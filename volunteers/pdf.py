"""Printable volunteer documents: the service certificate (志愿服务证明) with its
verification QR, and a branch's monthly service report (志愿服务月报); and the
paragraph styles and the date they share with the community registration slip
(volunteers/registration/pdf.py).

All are built from the shared toolkit in ``portal.pdf`` (embedded CJK font,
A4 page, "page N of M" footer)."""

from django.utils import formats, timezone
from django.utils.translation import gettext as _
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_RIGHT
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import KeepTogether, Paragraph, Spacer, Table, TableStyle

from portal.pdf import (
    FONT,
    RED,
    WIDTH,
    paragraph_text,
    register_fonts,
    render,
    rule,
    styles,
    table,
    verification_qr,
)
from portal.templatetags.portal_tags import minutes_to_hours, one_decimal
from volunteers.selectors import service_record

# Rows printed in a certificate's table of services; the rest are counted.
CERTIFICATE_ROWS = 200
SHADED = colors.HexColor("#f7eded")  # the label column of a document's tables


def document_styles() -> dict[str, ParagraphStyle]:
    """The toolkit's paragraph styles and those of the volunteer documents."""
    base = styles()
    return {
        **base,
        "doc_title": ParagraphStyle(
            "doc_title",
            parent=base["title"],
            fontSize=24,
            leading=32,
            textColor=RED,
            spaceAfter=2 * mm,
        ),  # fmt: skip
        "serial": ParagraphStyle("serial", parent=base["small"], alignment=TA_RIGHT),
        "lead": ParagraphStyle(
            "lead", parent=base["body"], fontSize=13, leading=26, firstLineIndent=26
        ),
        "label": ParagraphStyle("label", parent=base["body"], alignment=TA_CENTER),
        "cell": ParagraphStyle("cell", parent=base["body"], fontSize=9.5, leading=13),
        "cell_head": ParagraphStyle(
            "cell_head", parent=base["body"], fontSize=9.5, leading=13, alignment=TA_CENTER
        ),
        "right": ParagraphStyle("right", parent=base["body"], fontSize=12, alignment=TA_RIGHT),
    }


def long_date(value) -> str:
    """A date in the active locale's long form (``2025年3月1日``)."""
    if value is None:
        return ""
    if hasattr(value, "tzinfo"):
        value = timezone.localdate(value)
    return formats.date_format(value, "DATE_FORMAT")


def _hours(minutes: int) -> str:
    return minutes_to_hours(minutes)


def _issuer() -> str:
    from branches.models import DistrictPage

    district = DistrictPage.objects.only("title").first()
    return district.title if district else ""


# --- The service certificate (志愿服务证明) ---------------------------------------------------------


def certificate_services(certificate, limit: int = CERTIFICATE_ROWS):
    """The services of the certificate's person in its year (their service
    record), oldest first: ``(rows, total)`` where ``rows`` holds at most
    ``limit`` ``(date, title, unit, minutes)`` and ``total`` counts them all."""
    record = service_record(user=certificate.user_id, year=certificate.year)
    rows = [
        (row["when"], row["title"], row["unit"], row["net_minutes"]) for row in record.rows[:limit]
    ]
    return rows, record.services


def certificate_pdf(certificate, verify_url: str, *, record=None) -> bytes:
    """The service certificate (志愿服务证明): the year's totals, the issuer, a
    QR code of ``verify_url`` and, as an annex, the credited services — the rows
    of ``record`` (the service record the certificate was issued from; read
    again when not given)."""
    register_fonts()
    s = document_styles()
    year = str(certificate.year)
    statement = _(
        "This is to certify that comrade %(name)s took part in volunteer service in the "
        "district %(shifts)s times in %(year)s, for a total of %(hours)s hours of service."
    ) % {
        "name": certificate.name,
        "year": year,
        "shifts": certificate.shifts,
        "hours": _hours(certificate.minutes),
    }
    title = _("Volunteer service certificate")
    flowables = [
        Spacer(1, 6 * mm),
        Paragraph(paragraph_text(title), s["doc_title"]),
        rule(),
        Spacer(1, 2 * mm),
        Paragraph(
            paragraph_text(_("Certificate No. %(code)s") % {"code": certificate.code}), s["serial"]
        ),
        Spacer(1, 10 * mm),
        Paragraph(paragraph_text(statement), s["lead"]),
        Paragraph(paragraph_text(_("Hereby certified.")), s["lead"]),
        Spacer(1, 12 * mm),
        KeepTogether([_issuer_block(certificate, verify_url, s)]),
        Spacer(1, 10 * mm),
    ]
    if record is None:
        record = service_record(user=certificate.user_id, year=certificate.year)
    flowables += _services_annex(record, year, s)
    return render(flowables, title=title, footer=f"{title} · {certificate.code}")


def _issuer_block(certificate, verify_url: str, s) -> Table:
    """The verification QR code on the left, the issuer and the date on the right."""
    qr = verification_qr(verify_url, size=30 * mm)
    issuer = Table(
        [
            [
                qr,
                [
                    Spacer(1, 8 * mm),
                    Paragraph(paragraph_text(_issuer()), s["right"]),
                    Spacer(1, 2 * mm),
                    Paragraph(paragraph_text(long_date(certificate.issued_at)), s["right"]),
                ],
            ]
        ],
        colWidths=[40 * mm, WIDTH - 40 * mm],
    )
    issuer.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, -1), FONT),
                ("VALIGN", (0, 0), (-1, -1), "BOTTOM"),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("RIGHTPADDING", (0, 0), (-1, -1), 0),
            ]
        )
    )
    return issuer


def _services_annex(record, year: str, s) -> list:
    """The annex: the first ``CERTIFICATE_ROWS`` credited services of the record,
    with their total when they are all there, else how many are left out."""
    rows, total = record.rows[:CERTIFICATE_ROWS], record.services
    header = [_("Seq."), _("Service date"), _("Service item"), _("Organised by"), _("Hours served")]
    data = [[Paragraph(paragraph_text(h), s["cell_head"]) for h in header]]
    for number, row in enumerate(rows, start=1):
        data.append(
            [
                str(number),
                timezone.localtime(row["when"]).strftime("%Y-%m-%d"),
                Paragraph(paragraph_text(row["title"]), s["cell"]),
                Paragraph(paragraph_text(row["unit"]), s["cell"]),
                _hours(row["net_minutes"]),
            ]
        )
    flowables = [
        Paragraph(
            paragraph_text(_("Annex: volunteer services credited in %(year)s") % {"year": year}),
            s["heading"],
        )
    ]
    if rows and total == len(rows):
        data.append(
            [
                "",
                Paragraph(paragraph_text(_("Total")), s["cell_head"]),
                Paragraph(paragraph_text(_("%(n)s services") % {"n": total}), s["cell"]),
                "",
                _hours(record.minutes),
            ]
        )
    if rows:
        services = table(data, col_widths=[12 * mm, 26 * mm, 66 * mm, 48 * mm, 22 * mm])
        services.setStyle(
            TableStyle(
                [
                    ("FONTNAME", (0, 0), (-1, -1), FONT),
                    ("ALIGN", (0, 1), (1, -1), "CENTER"),
                    ("ALIGN", (-1, 1), (-1, -1), "RIGHT"),
                    ("FONTSIZE", (0, 1), (-1, -1), 9),
                ]
            )
        )
        flowables.append(services)
    if total > len(rows):
        flowables += [
            Spacer(1, 2 * mm),
            Paragraph(
                paragraph_text(
                    _("The first %(shown)s are listed, of %(total)s services in all.")
                    % {"shown": len(rows), "total": total}
                ),
                s["small"],
            ),
        ]
    return flowables


# --- The monthly branch report (服务统计 · 月报) ---------------------------------------------------


def branch_month_report_pdf(*, report) -> bytes:
    """A branch's monthly volunteer service report (志愿服务月报) from a
    ``volunteers.selectors.MonthReport``: headline figures, a bar chart of
    hours per day, the top ten people by hours and the shifts below minimum."""
    font = register_fonts()
    style = styles()
    period = report.period
    title = _("%(branch)s %(year)d-%(month)02d volunteer service report") % {
        "branch": report.branch_title,
        "year": period.year,
        "month": period.month,
    }
    story = [Paragraph(paragraph_text(title), style["title"])]
    if report.limited_to_groups:
        story.append(Paragraph(_("Duties of your building group only."), style["center"]))
    story += [
        Paragraph(_("Headline figures"), style["heading"]),
        _headline_table(report.headline),
        Paragraph(_("Service hours by day"), style["heading"]),
        _hours_chart(report.days, font),
    ]
    story += _top_people(report, style)
    story += _below_minimum(report, style)
    story.append(Spacer(1, 4 * mm))
    return render(story, title=title)


def _headline_table(headline) -> Table:
    """The headline figures, two to a row."""
    figures = [
        (_("Shifts"), str(headline.shifts)),
        (_("Places filled"), f"{headline.filled} / {headline.places}"),
        (_("Fill rate"), f"{headline.fill_rate:.0%}"),
        (_("People who served"), str(headline.people)),
        (_("Hours"), _hours(headline.minutes)),
        (_("Points"), one_decimal(headline.points)),
        (_("No-shows"), str(headline.no_shows)),
        (_("Late cancellations"), str(headline.late_cancellations)),
    ]
    rows = [
        [*figures[i], *(figures[i + 1] if i + 1 < len(figures) else ("", ""))]
        for i in range(0, len(figures), 2)
    ]
    figures_table = table(rows, col_widths=[45 * mm, 42 * mm, 45 * mm, 42 * mm], header=False)
    figures_table.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, -1), FONT),
                ("BACKGROUND", (0, 0), (0, -1), SHADED),
                ("BACKGROUND", (2, 0), (2, -1), SHADED),
                ("FONTSIZE", (1, 0), (1, -1), 12),
                ("FONTSIZE", (3, 0), (3, -1), 12),
            ]
        )
    )
    return figures_table


def _hours_chart(days, font: str):
    """A bar chart of the hours served on each day of the month."""
    # Imported here: the charts are only loaded for the monthly report.
    from reportlab.graphics.charts.barcharts import VerticalBarChart
    from reportlab.graphics.shapes import Drawing, String

    width, height = WIDTH, 62 * mm
    drawing = Drawing(width, height)
    chart = VerticalBarChart()
    chart.x, chart.y = 12 * mm, 10 * mm
    chart.width, chart.height = width - 16 * mm, height - 20 * mm
    values = [day.hours for day in days] or [0]
    chart.data = [values]
    chart.categoryAxis.categoryNames = [
        str(day) if day == 1 or day % 5 == 0 else "" for day in range(1, len(values) + 1)
    ]
    chart.categoryAxis.labels.fontName = font
    chart.categoryAxis.labels.fontSize = 7
    chart.valueAxis.labels.fontName = font
    chart.valueAxis.labels.fontSize = 7
    chart.valueAxis.valueMin = 0
    chart.valueAxis.valueMax = max(1, max(values) * 1.15)
    chart.valueAxis.visibleGrid = True
    chart.valueAxis.gridStrokeColor = colors.HexColor("#e5e5e5")
    chart.bars[0].fillColor = colors.HexColor("#b5292c")
    chart.bars[0].strokeColor = None
    chart.barSpacing = 1
    drawing.add(chart)
    drawing.add(String(12 * mm, height - 6 * mm, _("Hours"), fontName=font, fontSize=8))
    drawing.add(
        String(width - 4 * mm, 2 * mm, _("Day of the month"), fontName=font, fontSize=8,
               textAnchor="end")
    )  # fmt: skip
    return drawing


def _top_people(report, style) -> list:
    """The top ten by hours."""
    story = [Paragraph(_("Top %(n)d by hours") % {"n": 10}, style["heading"])]
    if not report.top_people:
        return story + [Paragraph(_("No hours credited in this month."), style["body"])]
    rows = [[_("No."), _("Name"), _("Attended"), _("Hours"), _("Points")]]
    rows += [
        [str(rank), Paragraph(paragraph_text(person.display_name), style["small"]), str(person.attended),
         _hours(person.minutes), one_decimal(person.points)]
        for rank, person in enumerate(report.top_people, start=1)
    ]  # fmt: skip
    return story + [table(rows, col_widths=[14 * mm, 64 * mm, 30 * mm, 32 * mm, 34 * mm])]


def _below_minimum(report, style) -> list:
    """The shifts below their minimum (as many as the report lists, and how many more)."""
    headline = report.headline
    story = [Paragraph(_("Shifts below minimum"), style["heading"])]
    if report.below_minimum:
        rows = [[_("Duty"), _("Starts at"), _("Minimum needed"), _("Confirmed"), _("Places")]]
        rows += [
            [Paragraph(paragraph_text(shift.duty.title), style["small"]),
             timezone.localtime(shift.starts_at).strftime("%m-%d %H:%M"),
             str(shift.minimum), str(shift.confirmed), str(shift.capacity)]
            for shift in report.below_minimum
        ]  # fmt: skip
        story.append(table(rows, col_widths=[70 * mm, 30 * mm, 26 * mm, 24 * mm, 24 * mm]))
        if headline.below_minimum > len(report.below_minimum):
            more = headline.below_minimum - len(report.below_minimum)
            story.append(
                Paragraph(_("… and %(n)d more in the admin.") % {"n": more}, style["small"])
            )
    elif headline.shifts:
        story.append(Paragraph(_("Every shift reached its minimum."), style["body"]))
    else:
        story.append(Paragraph(_("No shifts in this month."), style["body"]))
    return story
