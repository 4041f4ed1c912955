"""The PDF toolkit every printable document uses: the embedded CJK font, the
paragraph styles, text as paragraph markup, an A4 page with a title line and
"page N of M", and a verification QR code drawn as vectors.

The font is WenQuanYi Micro Hei (TrueType outlines, Apache-2.0, shipped in
``portal/fonts``) and is embedded, so the Chinese shows on any machine and
``pdftotext`` extracts it. reportlab's built-in STSong-Light is not embedded
and Noto/Source Han (PostScript outlines) do not load.
"""

from functools import cache
from io import BytesIO
from pathlib import Path
from xml.sax.saxutils import escape

import segno
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from reportlab.graphics.shapes import STATE_DEFAULTS
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate, Table, TableStyle

FONT = "WQYMicroHei"
MARGIN = 18 * mm
WIDTH = A4[0] - 2 * MARGIN  # the text width inside the margins
RED = colors.HexColor("#b3261e")  # titles and rules of official documents
FONT_FILE = Path(__file__).resolve().parent / "fonts" / "wqy-microhei.ttc"


@cache
def register_fonts() -> str:
    pdfmetrics.registerFont(TTFont(FONT, str(FONT_FILE), subfontIndex=0))
    # Charts (reportlab.graphics) start in it too, so no document refers to an
    # unembedded Helvetica.
    STATE_DEFAULTS["fontName"] = FONT
    return FONT


@cache
def styles() -> dict[str, ParagraphStyle]:
    font = register_fonts()
    body = ParagraphStyle("body", fontName=font, fontSize=10.5, leading=16, wordWrap="CJK")
    return {
        "body": body,
        "small": ParagraphStyle("small", parent=body, fontSize=8.5, leading=12),
        "title": ParagraphStyle(
            "title", parent=body, fontSize=20, leading=28, alignment=TA_CENTER, spaceAfter=6 * mm
        ),
        "heading": ParagraphStyle(
            "heading", parent=body, fontSize=13, leading=20, spaceBefore=4 * mm, spaceAfter=2 * mm
        ),
        "center": ParagraphStyle("center", parent=body, alignment=TA_CENTER),
        "qr_note": ParagraphStyle(
            "qr_note",
            parent=body,
            fontSize=8.5,
            leading=12,
            alignment=TA_CENTER,
            textColor=colors.grey,
        ),
    }


def paragraph_text(value) -> str:
    """A value as ``Paragraph`` markup: escaped, its line breaks kept (``None`` is "")."""
    return escape(str(value or "")).replace("\n", "<br/>")


class QRCode(Flowable):
    """A QR code of ``data``, ``size`` points square, drawn module by module
    (sharp at any zoom and in print)."""

    def __init__(self, data: str, size: float = 28 * mm):
        super().__init__()
        self.matrix = segno.make(data, error="m", micro=False).matrix
        self.size = size
        self.width = self.height = size

    def draw(self):
        count = len(self.matrix)
        cell = self.size / (count + 8)  # a four-module quiet zone on every side
        self.canv.setFillColor(colors.black)
        for row, line in enumerate(self.matrix):
            for col, dark in enumerate(line):
                if dark:
                    x = (col + 4) * cell
                    y = self.size - (row + 5) * cell
                    self.canv.rect(x, y, cell, cell, stroke=0, fill=1)


def verification_qr(url: str, *, size: float) -> Table:
    """The QR code of a document's verification page, "Scan to verify" under it."""
    qr = Table(
        [
            [QRCode(url, size=size)],
            [Paragraph(paragraph_text(_("Scan to verify")), styles()["qr_note"])],
        ],
        colWidths=[size + 6 * mm],
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
    return qr


def table(rows, col_widths=None, header=True) -> Table:
    """A ruled table in the document font; ``rows`` may hold strings or flowables."""
    font = register_fonts()
    result = Table(rows, colWidths=col_widths, repeatRows=1 if header else 0)
    style = [
        ("FONTNAME", (0, 0), (-1, -1), font),
        ("FONTSIZE", (0, 0), (-1, -1), 9.5),
        ("GRID", (0, 0), (-1, -1), 0.5, colors.grey),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
    ]
    if header:
        style.append(("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#f3e3e3")))
    result.setStyle(TableStyle(style))
    return result


def rule(width: float = WIDTH, thickness: float = 1.5) -> Table:
    """A red horizontal rule, as under the title of an official document."""
    line = Table([[""]], colWidths=[width], rowHeights=[1])
    line.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, -1), FONT),
                ("LINEABOVE", (0, 0), (-1, 0), thickness, RED),
            ]
        )
    )
    return line


def _numbered_canvas(footer: str, page_of: str):
    """A canvas that writes ``page_of`` ("第 N 页 / 共 M 页") once it knows M."""

    class NumberedCanvas(canvas.Canvas):
        def __init__(self, *args, **kwargs):
            # Pages start in the embedded font, not in reportlab's Helvetica.
            kwargs["initialFontName"] = FONT
            super().__init__(*args, **kwargs)
            self._pages = []

        def showPage(self):  # noqa: N802 (reportlab's name)
            self._pages.append(dict(self.__dict__))
            self._startPage()

        def save(self):
            total = len(self._pages)
            for number, state in enumerate(self._pages, start=1):
                self.__dict__.update(state)
                self.setFont(FONT, 8)
                self.setFillColor(colors.grey)
                self.drawString(MARGIN, 10 * mm, footer)
                self.drawRightString(
                    A4[0] - MARGIN, 10 * mm, page_of % {"n": number, "total": total}
                )
                super().showPage()
            super().save()

    return NumberedCanvas


def render(flowables, *, title: str, footer: str = "") -> bytes:
    """Build an A4 document of ``flowables`` and return its bytes."""
    register_fonts()
    buffer = BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        title=title,
        author="同心 Tongxin",
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=MARGIN,
    )
    # The footer speaks the language the document is made in.
    made = _("%(title)s · made %(time)s") % {
        "title": footer or title,
        "time": timezone.localtime().strftime("%Y-%m-%d %H:%M"),
    }
    document.build(
        list(flowables),
        canvasmaker=_numbered_canvas(made, pgettext("PDF footer", "Page %(n)s of %(total)s")),
    )
    return buffer.getvalue()
