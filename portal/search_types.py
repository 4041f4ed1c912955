"""Searchable publications: notices, news and activities (public, live pages)."""

from django.utils.html import strip_tags
from django.utils.translation import gettext_lazy as _

from portal.publishing import ActivityPage, NewsPage, NoticePage
from search.registry import SearchType, register


def stream_text(body) -> str:
    """The words of a StreamField body: text, table cells, attachment titles."""
    parts = []
    for block in body:
        if block.block_type == "text":
            parts.append(strip_tags(block.value.source))
        elif block.block_type == "table":
            rows = (block.value or {}).get("data") or []
            parts.extend(str(cell) for row in rows for cell in row if cell)
        elif block.block_type in ("attachment", "image") and block.value is not None:
            parts.append(block.value.title)
    return " ".join(parts)


def _document(page) -> dict:
    unit = page.get_parent()
    extra = [page.place, page.capacity_note] if isinstance(page, ActivityPage) else []
    return {
        "title": page.title,
        "summary": page.summary or "",
        # The unit's name goes in the body: a branch's news is not what 网格 looks for.
        "body": " ".join(filter(None, [stream_text(page.body), *extra, unit.title])),
        "keywords": str(page.get_kind_display()),
        "url": page.url or "",
        "date": page.first_published_at,
        "status": "pinned" if page.pinned else "",
        "grid_path": page.path,
        "public": True,
    }


for name, label, model in (
    ("notice", _("Notices"), NoticePage),
    ("news", _("News"), NewsPage),
    ("activity", _("Activities"), ActivityPage),
):
    register(
        SearchType(
            name=name,
            label=label,
            model=model,
            queryset=lambda model=model: model.objects.live().public(),
            document=_document,
        )
    )
