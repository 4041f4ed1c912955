from django.db import models


class SearchEntry(models.Model):
    """One document of the embedded search backend. ``title_tokens`` and
    ``body_tokens`` hold the segmented text the full-text index is built on (SQLite
    FTS5 table ``search_fts`` kept in step by triggers; on PostgreSQL a generated,
    weighted ``tsvector`` column with a GIN index, and one of the filter words,
    ``ftsv``) — see migrations/0002_fulltext.py, 0003_fts_filters.py and
    0005_pg_filter_index.py."""

    doc_type = models.CharField(max_length=40)
    object_id = models.CharField(max_length=40)
    title = models.CharField(max_length=255)
    summary = models.TextField(blank=True)
    body = models.TextField(blank=True)
    keywords = models.TextField(blank=True)
    url = models.CharField(max_length=500, blank=True)
    date = models.DateTimeField(null=True, blank=True, db_index=True)
    status = models.CharField(max_length=30, blank=True)
    grid_path = models.CharField(max_length=255, blank=True, db_index=True)
    public = models.BooleanField(default=False)
    unit_path = models.CharField(max_length=255, blank=True, db_index=True)
    group_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    owner_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    # Keyed hashes of a record's ID number and phone, for exact lookup.
    hash_1 = models.CharField(max_length=64, blank=True, db_index=True)
    hash_2 = models.CharField(max_length=64, blank=True, db_index=True)
    # Segmented text (character bigrams of Chinese runs first, then jieba's words):
    # title and keywords weigh most in ranking, then the summary, then the body.
    title_tokens = models.TextField(blank=True)
    summary_tokens = models.TextField(blank=True)
    body_tokens = models.TextField(blank=True)
    # The filter fields above as words (type, visibility, grid subtree, status), so
    # that the full-text index answers filters and facet counts on its own (SQLite's
    # FTS5 table; PostgreSQL's generated ``ftsv``) — see
    # search.backends.database.filter_tokens and migrations/0003 and 0005.
    filter_tokens = models.TextField(blank=True)
    # A rebuild writes a new generation and then drops the old one in one step.
    generation = models.PositiveIntegerField(default=0, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["generation", "doc_type", "object_id"], name="unique_search_entry"
            )
        ]
        indexes = [models.Index(fields=["doc_type", "generation"])]

    def __str__(self):
        return f"{self.doc_type}:{self.object_id} {self.title}"


class SearchState(models.Model):
    """Which generation of the embedded index is live (a single row)."""

    live_generation = models.PositiveIntegerField(default=0)
    building_generation = models.PositiveIntegerField(null=True, blank=True)

    def __str__(self):
        return f"live {self.live_generation}"
