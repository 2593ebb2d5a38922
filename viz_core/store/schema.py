"""The run store's SQLite schema and its migrations.

A store file carries ``meta(key, value)`` with ``app = demons-viz-runs`` (what tells our file
from a foreign SQLite database) and ``schema_version``. :data:`MIGRATIONS` holds one SQL
script per version; opening a store applies the missing ones in order, inside one
``BEGIN IMMEDIATE`` transaction, so two processes that open a new store at once do not
apply a migration twice.
"""

from __future__ import annotations

import sqlite3

APP = "demons-viz-runs"

#: Version n -> the SQL that takes a store from version n-1 to n.
MIGRATIONS: dict[int, str] = {
    1: """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE runs (
        id TEXT PRIMARY KEY,
        started REAL NOT NULL,
        ended REAL NOT NULL,
        status TEXT NOT NULL,
        model TEXT NOT NULL,
        model_label TEXT NOT NULL DEFAULT '',
        weights_hash TEXT NOT NULL DEFAULT '',
        task TEXT NOT NULL,
        scheme TEXT NOT NULL,
        config TEXT NOT NULL,
        metrics TEXT NOT NULL DEFAULT '{}',
        floors TEXT NOT NULL DEFAULT '{}',
        curves TEXT NOT NULL DEFAULT '{}',
        verdicts TEXT NOT NULL DEFAULT '[]',
        note TEXT NOT NULL DEFAULT '',
        group_id TEXT NOT NULL DEFAULT '',
        version TEXT NOT NULL DEFAULT '',
        git_commit TEXT NOT NULL DEFAULT '',
        command TEXT NOT NULL DEFAULT '',
        message TEXT NOT NULL DEFAULT ''
    );
    CREATE TABLE images (
        run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        idx INTEGER NOT NULL,
        step INTEGER NOT NULL,
        png BLOB NOT NULL,
        PRIMARY KEY (run_id, idx)
    );
    CREATE TABLE tags (
        run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        tag TEXT NOT NULL,
        PRIMARY KEY (run_id, tag)
    );
    CREATE INDEX runs_started ON runs(started);
    CREATE INDEX runs_model ON runs(model);
    CREATE INDEX tags_tag ON tags(tag);
    """,
    # 2: thumbnails for the History table, soft delete (undo), the MLflow mirror's run link
    2: """
    ALTER TABLE runs ADD COLUMN thumb BLOB;
    ALTER TABLE runs ADD COLUMN deleted REAL;
    ALTER TABLE runs ADD COLUMN mlflow TEXT NOT NULL DEFAULT '';
    CREATE INDEX runs_group ON runs(group_id);
    """,
    # 3: the History page's filters and sort keys without a scan of every run: partial
    # indexes over the live (not deleted) runs, and the metric keys in a table of their own
    3: """
    CREATE INDEX runs_live ON runs(started) WHERE deleted IS NULL;
    CREATE INDEX runs_live_model ON runs(model) WHERE deleted IS NULL;
    CREATE INDEX runs_live_task ON runs(task) WHERE deleted IS NULL;
    CREATE INDEX runs_live_scheme ON runs(scheme) WHERE deleted IS NULL;
    CREATE INDEX runs_live_status ON runs(status) WHERE deleted IS NULL;
    CREATE INDEX runs_live_group ON runs(group_id) WHERE deleted IS NULL;
    CREATE TABLE metric_keys (key TEXT PRIMARY KEY) WITHOUT ROWID;
    INSERT OR IGNORE INTO metric_keys SELECT DISTINCT j.key FROM runs, json_each(runs.metrics) AS j;
    """,
    # 4: how many runs shared a run's engine batch (a sweep's cells, a preset's batch), so
    # that History says it; NULL for the runs stored before
    4: """
    ALTER TABLE runs ADD COLUMN batch_size INTEGER;
    """,
}
LATEST = max(MIGRATIONS)


class DamagedStore(Exception):
    """A demons-viz run store whose own bookkeeping is unreadable (not a foreign file)."""


def version_of(con: sqlite3.Connection) -> int | None:
    """The schema version of an open store; 0 for an empty database; None when the
    database holds tables but is not a run store (a foreign file). Raises
    :class:`DamagedStore` for a run store whose schema version is not a number."""
    tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    if not tables:
        return 0
    if "meta" not in tables:
        return None
    rows = dict(con.execute("SELECT key, value FROM meta").fetchall())
    if rows.get("app") != APP:
        return None
    try:
        return int(rows.get("schema_version", "0"))
    except (TypeError, ValueError):
        raise DamagedStore(f"a demons-viz run store whose schema version "
                           f"({rows.get('schema_version')!r}) is not a number") from None


def migrate(con: sqlite3.Connection, target: int = LATEST) -> int:
    """Bring the store to version ``target`` (in one immediate transaction); returns the
    version it had. Raises ``LookupError`` for a foreign database and ``RuntimeError`` for
    a store written by a newer demons-viz."""
    con.execute("BEGIN IMMEDIATE")
    try:
        old = version_of(con)
        if old is None:
            raise LookupError("not a demons-viz run store")
        if old > LATEST:
            raise RuntimeError(f"schema version {old} is newer than this demons-viz "
                               f"understands ({LATEST}); upgrade demons-viz")
        for v in range(old + 1, target + 1):
            for stmt in _statements(MIGRATIONS[v]):
                con.execute(stmt)
            if v == 1:
                con.execute("INSERT INTO meta VALUES ('app', ?)", (APP,))
            con.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", (str(v),))
        con.execute("COMMIT")
        return old
    except BaseException:
        con.execute("ROLLBACK")
        raise


def _statements(script: str) -> list[str]:
    return [s.strip() for s in script.split(";") if s.strip()]
