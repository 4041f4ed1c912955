"""Substring recall and field weights: every run of Chinese characters is also
indexed as its character bigrams (so 党日 is found in 主题党日), and a document has
a summary between its title and body in weight. Existing entries get their tokens
recomputed from their stored text here, so ``migrate`` brings an existing index up
to date (a publication's summary stays in its body until ``search_index rebuild``).
SQLite: the full-text table gains the summary column; PostgreSQL: the weighted
``tsvector`` does (title A, summary B, body C)."""

from django.db import migrations, models

from search.migrations._fulltext import (
    fts_sql,
    pg_tsv_sql,
    sqlite_drop_sql,
)

CHUNK = 2000


def _retokenise(SearchEntry):
    from search.backends.database import set_text_tokens

    last = 0
    while True:
        chunk = list(SearchEntry.objects.filter(id__gt=last).order_by("id")[:CHUNK])
        if not chunk:
            break
        for entry in chunk:
            set_text_tokens(entry)
        SearchEntry.objects.bulk_update(chunk, ["title_tokens", "summary_tokens", "body_tokens"])
        last = chunk[-1].id


COLUMNS = ["title_tokens", "summary_tokens", "body_tokens", "filter_tokens"]
OLD_COLUMNS = ["title_tokens", "body_tokens", "filter_tokens"]


def forwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    SearchEntry = apps.get_model("search", "SearchEntry")
    if vendor == "sqlite":
        for sql in sqlite_drop_sql():
            schema_editor.execute(sql)
        _retokenise(SearchEntry)
        for sql in fts_sql(COLUMNS, ", prefix='1 2 3'"):
            schema_editor.execute(sql)
    elif vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS search_searchentry_tsv")
        schema_editor.execute("ALTER TABLE search_searchentry DROP COLUMN IF EXISTS tsv")
        _retokenise(SearchEntry)
        for sql in pg_tsv_sql(["title_tokens", "summary_tokens", "body_tokens"]):
            schema_editor.execute(sql)


def backwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        for sql in sqlite_drop_sql() + fts_sql(OLD_COLUMNS, ", prefix='1 2 3'"):
            schema_editor.execute(sql)
    elif vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS search_searchentry_tsv")
        schema_editor.execute("ALTER TABLE search_searchentry DROP COLUMN IF EXISTS tsv")
        for sql in pg_tsv_sql(["title_tokens", "body_tokens"]):
            schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [("search", "0003_fts_filters")]

    operations = [
        migrations.AddField(
            model_name="searchentry", name="summary", field=models.TextField(blank=True)
        ),
        migrations.AddField(
            model_name="searchentry", name="summary_tokens", field=models.TextField(blank=True)
        ),
        migrations.RunPython(forwards, backwards),
    ]
