"""Keep the index in step with saves, deletes, publishing, unpublishing and moves."""

from django.db.models.signals import post_delete, post_save
from wagtail.models import Page
from wagtail.signals import page_published, page_unpublished, post_page_move

from search.registry import search_types, types_for_model
from search.tasks import enqueue_sync


def _changed(sender, instance, **kwargs):
    if kwargs.get("raw"):
        return
    for search_type in types_for_model(type(instance)):
        enqueue_sync(search_type.name, [instance.pk])


def _units_changed(page_ids):
    """Re-index the records that carry these units' titles and paths."""
    for search_type in search_types():
        if search_type.in_units is not None:
            ids = list(search_type.in_units(page_ids).values_list("pk", flat=True))
            if ids:
                enqueue_sync(search_type.name, ids)


def _page_published(sender, instance, **kwargs):
    _changed(sender, instance, **kwargs)
    _units_changed([instance.pk])


def _page_moved(sender, instance, **kwargs):
    # A moved unit changes the paths of its whole subtree.
    ids = list(Page.objects.descendant_of(instance, inclusive=True).values_list("pk", flat=True))
    for search_type in types_for_model(type(instance.specific)):
        enqueue_sync(search_type.name, ids)
    _units_changed(ids)


def connect():
    post_save.connect(_changed, dispatch_uid="search-post-save")
    post_delete.connect(_changed, dispatch_uid="search-post-delete")
    page_published.connect(_page_published, dispatch_uid="search-page-published")
    page_unpublished.connect(_changed, dispatch_uid="search-page-unpublished")
    post_page_move.connect(_page_moved, dispatch_uid="search-page-moved")
