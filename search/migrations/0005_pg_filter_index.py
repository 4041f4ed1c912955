"""PostgreSQL: the filter words of an entry (``filter_tokens``: type, visibility,
grid subtree, status; see search.backends.database.filter_tokens) get a generated
tsvector of their own, ``ftsv``, with a GIN index. A search then answers its
visibility and filters from that index, combined with the text's (a BitmapAnd),
instead of reading every matching row and discarding those the user may not see.
``tsv`` is unchanged: ranking normalises by its length, which filter words must
not change. Entries indexed before 0003 on PostgreSQL have no filter words yet
(0003 wrote them on SQLite only): they get them here. SQLite: nothing to do (its
full-text table has indexed filter_tokens since 0003)."""

from django.db import migrations

from search.migrations._fulltext import pg_filter_tsv_drop_sql, pg_filter_tsv_sql

CHUNK = 2000


def _fill_filter_tokens(SearchEntry):
    from search.backends.database import filter_tokens

    last = 0
    while True:
        chunk = list(
            SearchEntry.objects.filter(id__gt=last, filter_tokens="").order_by("id")[:CHUNK]
        )
        if not chunk:
            break
        for entry in chunk:
            entry.filter_tokens = filter_tokens(entry)
        SearchEntry.objects.bulk_update(chunk, ["filter_tokens"])
        last = chunk[-1].id


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    _fill_filter_tokens(apps.get_model("search", "SearchEntry"))
    for sql in pg_filter_tsv_sql():
        schema_editor.execute(sql)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for sql in pg_filter_tsv_drop_sql():
        schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [("search", "0004_bigrams_and_summary")]

    operations = [migrations.RunPython(forwards, backwards)]
