"""Keep the index in step with saves, deletes, many-to-many changes, publishing,
unpublishing, moves and data migrations. Bulk writes, which send no signals,
call ``search.tasks.index_later`` themselves."""

from django.db.models.signals import (
    m2m_changed,
    post_delete,
    post_migrate,
    post_save,
    pre_delete,
    pre_migrate,
)
from wagtail.models import Page
from wagtail.signals import page_published, page_unpublished, post_page_move

from search.registry import search_types, types_for_model
from search.tasks import enqueue_sync, index_later, migrate_finished, migrate_started


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


def _relation_changed(sender, instance, action, model, pk_set, **kwargs):
    """Adding or removing a many-to-many link (care tags, a project's resources)
    saves neither side: re-index both."""
    if action in ("post_add", "post_remove", "post_clear"):
        index_later(type(instance), [instance.pk])
        if pk_set:
            index_later(model, pk_set)


def _page_deleting(sender, instance, **kwargs):
    # Deleting a unit empties the group of its buildings and members (SET_NULL),
    # an update that sends no signal: find them while they still point at it.
    if isinstance(instance, Page):
        _units_changed([instance.pk])


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
    pre_delete.connect(_page_deleting, dispatch_uid="search-page-deleting")
    m2m_changed.connect(_relation_changed, dispatch_uid="search-m2m-changed")
    pre_migrate.connect(migrate_started, dispatch_uid="search-pre-migrate")
    post_migrate.connect(migrate_finished, dispatch_uid="search-post-migrate")
    page_published.connect(_page_published, dispatch_uid="search-page-published")
    page_unpublished.connect(_changed, dispatch_uid="search-page-unpublished")
    post_page_move.connect(_page_moved, dispatch_uid="search-page-moved")
