"""``python manage.py search_index rebuild|update|status`` for the configured backend."""

import io
import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import translation

from search.backends import get_backend
from search.registry import search_types
from search.tasks import index_changed

CHUNK = 2000


class Progress:
    def __init__(self, label, total, stream):
        self.label, self.total, self.stream = label, max(total, 1), stream
        self.done, self.started = 0, time.monotonic()

    def advance(self, n):
        self.done += n
        width = 30
        filled = int(width * self.done / self.total)
        elapsed = time.monotonic() - self.started
        self.stream.write(
            f"\r{self.label:<10} [{'#' * filled}{'.' * (width - filled)}] "
            f"{self.done:>9,}/{self.total:,} {elapsed:6.1f}s"
        )
        self.stream.flush()

    def finish(self):
        self.stream.write("\n")


class Command(BaseCommand):
    help = "Rebuild, update or show the search index (embedded database or Elasticsearch)."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["rebuild", "update", "status"])
        parser.add_argument("--type", action="append", dest="types", help="limit to a record type")
        parser.add_argument("--quiet", action="store_true", help="no progress bar")

    def handle(self, *args, **options):
        # Documents hold translated labels: build them in the site's language.
        with translation.override(settings.LANGUAGE_CODE):
            return self._handle(*args, **options)

    def _handle(self, action, types=None, quiet=False, **options):
        backend = get_backend()
        known = {t.name for t in search_types()}
        if types and set(types) - known:
            raise CommandError(f"Unknown record type(s): {', '.join(sorted(set(types) - known))}")
        if action == "rebuild" and types:
            # A rebuild replaces the whole index: the other types would vanish.
            raise CommandError("rebuild works on every type; use 'update --type …' for some.")
        chosen = [t for t in search_types() if not types or t.name in types]
        if action == "status":
            return self.status(backend, chosen)
        started = time.monotonic()
        if action == "rebuild":
            backend.rebuild_begin()
            load = getattr(backend, "bulk_load", backend.index)
        else:
            load = backend.index
        stream = io.StringIO() if quiet else sys.stderr
        total = 0
        for search_type in chosen:
            qs = search_type.queryset()
            progress = Progress(search_type.name, qs.count(), stream)
            batch = []
            # Chunked iteration keeps memory bounded at any scale.
            for obj in qs.iterator(chunk_size=CHUNK):
                batch.append(search_type.build(obj))
                if len(batch) >= CHUNK:
                    load(batch)
                    progress.advance(len(batch))
                    total += len(batch)
                    batch = []
            if batch:
                load(batch)
                progress.advance(len(batch))
                total += len(batch)
            progress.finish()
        if action == "rebuild":
            backend.rebuild_commit()
        index_changed()
        self.stdout.write(
            f"{action}: {total:,} documents in {time.monotonic() - started:.1f} s "
            f"({type(backend).__name__})"
        )

    def status(self, backend, chosen):
        counts = backend.count()
        self.stdout.write(f"backend: {type(backend).__name__}")
        for search_type in chosen:
            in_db = search_type.queryset().count()
            indexed = counts.get(search_type.name, 0)
            flag = "" if indexed == in_db else "  (out of date: run search_index rebuild)"
            self.stdout.write(
                f"{search_type.name:<12} indexed {indexed:>9,}  records {in_db:>9,}{flag}"
            )
