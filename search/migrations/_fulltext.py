"""SQL of the embedded backend's full-text index, shared by the migrations that
reshape it (not a migration: the name starts with an underscore)."""


def sqlite_drop_sql():
    return [
        "DROP TRIGGER IF EXISTS search_fts_au",
        "DROP TRIGGER IF EXISTS search_fts_ad",
        "DROP TRIGGER IF EXISTS search_fts_ai",
        "DROP TABLE IF EXISTS search_fts",
    ]


def fts_sql(columns, options=""):
    """The FTS5 table over ``columns`` of search_searchentry, its triggers, filled."""
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


def pg_tsv_sql(columns):
    """The generated, weighted tsvector (A, B, C… in column order) and its GIN index."""
    parts = " || ".join(
        f"setweight(to_tsvector('simple', coalesce({c}, '')), '{w}')"
        for c, w in zip(columns, "ABC", strict=False)
    )
    return [
        f"ALTER TABLE search_searchentry ADD COLUMN tsv tsvector GENERATED ALWAYS AS ({parts}) STORED",
        "CREATE INDEX search_searchentry_tsv ON search_searchentry USING GIN (tsv)",
    ]


def pg_filter_tsv_sql():
    """The filter words as their own generated tsvector, ``ftsv``, and its GIN index:
    not part of ``tsv``, whose length normalises the rank (filter words must not)."""
    return [
        "ALTER TABLE search_searchentry ADD COLUMN ftsv tsvector GENERATED ALWAYS AS "
        "(to_tsvector('simple', coalesce(filter_tokens, ''))) STORED",
        "CREATE INDEX search_searchentry_ftsv ON search_searchentry USING GIN (ftsv)",
        # Lexeme statistics of the new column, so that the planner sees how selective
        # a filter is (how rare "pub" or a subtree's word is) from the first search.
        "ANALYZE search_searchentry",
    ]


def pg_filter_tsv_drop_sql():
    return [
        "DROP INDEX IF EXISTS search_searchentry_ftsv",
        "ALTER TABLE search_searchentry DROP COLUMN IF EXISTS ftsv",
    ]
