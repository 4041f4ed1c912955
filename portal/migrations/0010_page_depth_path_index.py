"""Two indexes on Wagtail's page table, for the questions the portal asks of it
on every tree page and feed:

- the children of a page (``depth = d AND path LIKE 'prefix%'``): Wagtail's own
  path index serves the prefix only, so the children of a unit near the top
  were found by reading its whole subtree — 5 ms for a member's notice feed at
  seed scale (the district's children among 13,000 entries), 0.4 ms with this;
- the pages on a URL's path (``url_path IN (...)``, ``OrgPage.route``): a scan
  of the whole table without it (1.6 ms at seed scale).

On PostgreSQL ``varchar_pattern_ops`` lets LIKE use the path column."""

from django.db import migrations

INDEXES = {
    "tongxin_page_depth_path": {
        "postgresql": "(depth, path varchar_pattern_ops)",
        "sqlite": "(depth, path)",
    },
    "tongxin_page_url_path": {"postgresql": "(url_path)", "sqlite": "(url_path)"},
}


def create(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    for name, columns in INDEXES.items():
        if vendor in columns:
            schema_editor.execute(
                f"CREATE INDEX IF NOT EXISTS {name} ON wagtailcore_page {columns[vendor]}"
            )


def drop(apps, schema_editor):
    for name in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [
        ("portal", "0009_worker_beat"),
        ("wagtailcore", "0001_initial"),
    ]

    operations = [migrations.RunPython(create, drop, elidable=False)]
