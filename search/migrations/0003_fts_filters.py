"""SQLite: the full-text table gets a third column, ``filter_tokens``, so filters
and facet counts are answered by the index alone (no row look-ups), and prefix
indexes for 1-3 character prefixes, so that ``"友谊"*`` (every query word is a
prefix) reads one list instead of every word that starts with it. Existing
entries get their filter words here; PostgreSQL only gains the (unused) column."""

from django.db import migrations, models

SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS search_fts_au",
    "DROP TRIGGER IF EXISTS search_fts_ad",
    "DROP TRIGGER IF EXISTS search_fts_ai",
    "DROP TABLE IF EXISTS search_fts",
]


def _fts_sql(columns, options=""):
    cols = ", ".join(columns)
    new = ", ".join(f"new.{c}" for c in columns)
    old = ", ".join(f"old.{c}" for c in columns)
    return [
        f"""CREATE VIRTUAL TABLE search_fts USING fts5(
            {cols},
            content='search_searchentry', content_rowid='id',
            tokenize='unicode61 remove_diacritics 2'{options}
        )""",
        f"""CREATE TRIGGER search_fts_ai AFTER INSERT ON search_searchentry BEGIN
            INSERT INTO search_fts(rowid, {cols}) VALUES (new.id, {new});
        END""",
        f"""CREATE TRIGGER search_fts_ad AFTER DELETE ON search_searchentry BEGIN
            INSERT INTO search_fts(search_fts, rowid, {cols}) VALUES ('delete', old.id, {old});
        END""",
        f"""CREATE TRIGGER search_fts_au AFTER UPDATE ON search_searchentry BEGIN
            INSERT INTO search_fts(search_fts, rowid, {cols}) VALUES ('delete', old.id, {old});
            INSERT INTO search_fts(rowid, {cols}) VALUES (new.id, {new});
        END""",
        "INSERT INTO search_fts(search_fts) VALUES ('rebuild')",
        "INSERT INTO search_fts(search_fts) VALUES ('optimize')",
    ]


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "sqlite":
        return
    from search.backends.database import filter_tokens

    SearchEntry = apps.get_model("search", "SearchEntry")
    for sql in SQLITE_DROP:
        schema_editor.execute(sql)
    last = 0
    while True:
        chunk = list(SearchEntry.objects.filter(id__gt=last).order_by("id")[:5000])
        if not chunk:
            break
        for entry in chunk:
            entry.filter_tokens = filter_tokens(entry)
        SearchEntry.objects.bulk_update(chunk, ["filter_tokens"])
        last = chunk[-1].id
    for sql in _fts_sql(["title_tokens", "body_tokens", "filter_tokens"], ", prefix='1 2 3'"):
        schema_editor.execute(sql)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "sqlite":
        return
    for sql in SQLITE_DROP + _fts_sql(["title_tokens", "body_tokens"]):
        schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [("search", "0002_fulltext")]

    operations = [
        migrations.AddField(
            model_name="searchentry",
            name="filter_tokens",
            field=models.TextField(blank=True),
        ),
        migrations.RunPython(forwards, backwards),
    ]
