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
