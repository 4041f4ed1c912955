"""Index upkeep runs as background tasks, enqueued when the writing transaction
commits — never in the request's critical path.

Saves, deletes and page events reach the index through signals (signals.py).
Writes that send no signals — ``bulk_create``, ``bulk_update``,
``QuerySet.update``, raw SQL, data migrations — call :func:`index_later` with
the model and the primary keys they touched."""

from django.apps import apps
from django.conf import settings
from django.db import transaction
from django.utils import translation
from django_tasks import task

from portal.page_cache import tags_bump
from search.query import SEARCH_TAG
from search.registry import get_type, types_for_model

# Records per background task: a bulk write of any size becomes bounded tasks.
BATCH = 500


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
    index_changed()
    return len(present)


def index_changed() -> None:
    """Anonymous search pages kept in the page cache show the index as it was:
    the next search renders afresh (once the current transaction commits)."""
    tags_bump([SEARCH_TAG])


def enqueue_sync(doc_type: str, object_ids) -> None:
    """Re-index (or remove) these records of one type once the transaction
    commits, in tasks of at most ``BATCH`` records."""
    ids = list(dict.fromkeys(str(pk) for pk in object_ids if pk is not None))
    for start in range(0, len(ids), BATCH):
        chunk = ids[start : start + BATCH]
        transaction.on_commit(lambda chunk=chunk: sync_records.enqueue(doc_type, chunk))


def index_later(model, object_ids) -> None:
    """Keep the index current after a write that sent no signals: re-index the
    records of ``model`` (a model class, a historical model of a migration, or
    an ``"app_label.Model"`` label) with these primary keys once the transaction
    commits; those that no longer belong in the index (deleted, unpublished)
    are removed. A model without a search type is ignored.

    In a data migration the work waits until ``migrate`` has applied every
    migration, so that the documents are built against the final schema."""
    label = model if isinstance(model, str) else model._meta.label
    search_types = types_for_model(apps.get_model(label))
    ids = list(object_ids)
    if not search_types or not ids:
        return
    if _migrating:
        for search_type in search_types:
            _after_migrate.setdefault(search_type.name, []).extend(ids)
        return
    for search_type in search_types:
        enqueue_sync(search_type.name, ids)


# --- Data migrations -----------------------------------------------------------------------

_migrating = False
_after_migrate: dict[str, list] = {}


def migrate_started(**kwargs):
    global _migrating
    _migrating = True


def migrate_finished(**kwargs):
    """post_migrate is sent once per app after the whole plan ran: the first
    call indexes what the data migrations touched."""
    global _migrating
    _migrating = False
    pending = dict(_after_migrate)
    _after_migrate.clear()
    for doc_type, ids in pending.items():
        enqueue_sync(doc_type, ids)
