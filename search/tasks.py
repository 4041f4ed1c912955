"""Index upkeep runs as background tasks, enqueued when the writing transaction
commits — never in the request's critical path."""

from django.conf import settings
from django.db import transaction
from django.utils import translation
from django_tasks import task

from search.registry import get_type


@task()
def sync_records(doc_type: str, object_ids: list[str]) -> int:
    """Index the records that belong in the index and remove the others
    (deleted, unpublished). Safe to run twice."""
    from search.backends import get_backend

    # Documents hold translated labels: always in the site's language, whatever
    # the language of the request that saved the record.
    with translation.override(settings.LANGUAGE_CODE):
        return _sync(doc_type, object_ids, get_backend())


def _sync(doc_type, object_ids, backend):
    search_type = get_type(doc_type)
    present = {str(obj.pk): obj for obj in search_type.queryset().filter(pk__in=object_ids)}
    if present:
        backend.index([search_type.build(obj) for obj in present.values()])
    gone = [pk for pk in object_ids if pk not in present]
    if gone:
        backend.delete(doc_type, gone)
    return len(present)


def enqueue_sync(doc_type: str, object_ids: list) -> None:
    ids = [str(pk) for pk in object_ids]
    transaction.on_commit(lambda: sync_records.enqueue(doc_type, ids))
