"""The run store: one SQLite file that several dashboard sessions and CLI runs write at once.

* **Where.** ``--store PATH``, else ``$DEMONS_VIZ_STORE``, else
  ``$XDG_DATA_HOME/demons-viz/runs.sqlite`` (``~/.local/share/demons-viz/runs.sqlite``).
  Images live in the database (PNG blobs), so the store is one file plus SQLite's
  ``-wal`` / ``-shm`` companions. Nothing leaves the machine unless an MLflow tracking URI
  is given (:mod:`viz_core.store.mlflow_mirror`).
* **Safety.** Write-ahead logging and a busy timeout let writers queue instead of failing;
  a run is written in one ``BEGIN IMMEDIATE`` transaction with ``synchronous=FULL``, so a
  killed process loses at most the run it had not finished.
* **Damage.** A file that is not SQLite, or an SQLite database that is not a run store, is
  moved aside (``runs.sqlite.damaged-<time>`` / ``.foreign-<time>``, never overwritten) and
  a new store is started; :attr:`RunStore.notice` says so in one line.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from viz_core.errors import VizError
from viz_core.store import schema
from viz_core.store.damage import busy, damaged, header_damage, recovering
from viz_core.store.location import check_new_store, default_path, move_aside
from viz_core.store.records import RunRecord, provenance, storable
from viz_core.store.rows import (
    clean_tags,
    dumps,
    order_by,
    record_of,
)

BUSY_TIMEOUT_S = 60.0
#: The names of a store's file: another file that is no store (a mistyped ``--store``) is
#: refused and left alone, never moved aside.
STORE_SUFFIXES = (".sqlite", ".sqlite3", ".db")
#: A run id, or a prefix of one (:meth:`RunStore.resolve`), once stripped and lower-cased.
RUN_ID = re.compile(r"[0-9a-f]{1,32}")
_LIGHT = ("id, started, ended, status, model, model_label, weights_hash, task, scheme, "
          "metrics, floors, note, group_id, version, git_commit, command, message, mlflow, "
          "deleted, batch_size")
#: The listing query's columns before the tags (:func:`~viz_core.store.rows.record_of`).
_N = _LIGHT.count(",") + 1
_TAGS = "(SELECT group_concat(tag, char(31)) FROM tags WHERE run_id = runs.id) AS tags"




class RunStore:
    """The run history (see the module docstring). Safe to share between threads: each
    thread gets its own SQLite connection.

    ``tracking_uri`` (or ``$MLFLOW_TRACKING_URI``): also log every added run to MLflow.
    """

    def __init__(self, path: str | os.PathLike | None = None,
                 tracking_uri: str | None = None, timeout: float = BUSY_TIMEOUT_S) -> None:
        self.path = Path(path).expanduser() if path else default_path()
        self.timeout = timeout
        self.tracking_uri = tracking_uri or os.environ.get("MLFLOW_TRACKING_URI") or None
        self.notice = ""
        self.mlflow_error = ""
        self._local = threading.local()
        self._open()

    # -- opening, damage -------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        con = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None,
                              check_same_thread=False)
        con.execute(f"PRAGMA busy_timeout={int(self.timeout * 1000)}")
        con.execute("PRAGMA foreign_keys=ON")
        con.execute("PRAGMA synchronous=FULL")
        return con

    def _open(self) -> None:
        if self.path.is_dir():
            raise VizError(f"run store {str(self.path)!r} is a folder; give a file path",
                           field="store")
        check_new_store(self.path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise VizError(f"cannot create the run store's folder {str(self.path.parent)!r}: "
                           f"{exc.strerror or exc}", field="store") from None
        transient = 0
        for _ in range(24):
            why = header_damage(self.path)
            if why is None:
                con = None
                try:
                    con = self._connect()
                    if schema.version_of(con) is None:  # read only: a foreign file stays as is
                        raise LookupError
                    self._wal(con)
                    schema.migrate(con)
                    self._local.con, con = con, None
                    return
                except LookupError:
                    why = ("foreign", "an SQLite database that is not a demons-viz run store")
                except schema.DamagedStore as exc:
                    why = ("damaged", str(exc))
                except RuntimeError as exc:
                    raise VizError(f"run store {str(self.path)!r}: {exc}", field="store") from None
                except sqlite3.DatabaseError as exc:
                    if "locked" in str(exc) or "busy" in str(exc):
                        raise VizError(f"run store {str(self.path)!r} stayed locked for "
                                       f"{self.timeout:g} s", field="store") from None
                    if not damaged(self.path, self.timeout):  # passing, while others write: retry
                        transient += 1
                        if transient > 20:
                            raise VizError(f"run store {str(self.path)!r}: {exc}",
                                           field="store") from None
                        time.sleep(0.1)
                        continue
                    why = ("damaged", f"not a readable SQLite database ({exc})")
                finally:
                    if con is not None:
                        con.close()
            if self.path.suffix.lower() not in STORE_SUFFIXES:
                # not named like a store: a mistyped --store (photo.png, run.json), left
                # as it is; a file named like one is a store that went bad, moved aside
                raise VizError(f"run store {str(self.path)!r} is {why[1]}: "
                               "give the path of a run store (a .sqlite file, new or "
                               "existing); the file was left as it is", field="store")
            dest = move_aside(self.path, why[0])
            self.notice = (f"run store {str(self.path)!r} was {why[1]}; moved it aside to "
                           f"{str(dest)!r} and started a new store")
        raise VizError(f"run store {str(self.path)!r} could not be opened", field="store")

    def _wal(self, con: sqlite3.Connection) -> None:
        for _ in range(int(self.timeout * 10) + 1):
            try:
                if con.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                    con.execute("PRAGMA journal_mode=WAL")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) and "busy" not in str(exc):
                    raise
                time.sleep(0.1)

    @property
    def con(self) -> sqlite3.Connection:
        """This thread's connection to the store (opened on first use)."""
        con = getattr(self._local, "con", None)
        if con is None:
            con = self._local.con = self._connect()
        return con

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        con = self.con
        try:
            con.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise VizError(f"run store {str(self.path)!r}: {exc}", field="store") from None
        try:
            yield con
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise

    def _recover(self, exc: BaseException) -> bool:
        """After an operation's database error: if SQLite finds the file damaged, move it
        aside, start a new store (:attr:`notice` says so) and return True."""
        self.close()
        if busy(exc) or not damaged(self.path, self.timeout):
            return False
        dest = move_aside(self.path, "damaged")
        self.notice = (f"run store {str(self.path)!r} was found damaged ({exc}); moved it "
                       f"aside to {str(dest)!r} and started a new store")
        self._open()
        return True

    def close(self) -> None:
        """Close this thread's connection (the next use opens a new one)."""
        con = getattr(self._local, "con", None)
        if con is not None:
            con.close()
            self._local.con = None

    # -- writing ---------------------------------------------------------------------
    @recovering
    def add(self, record: RunRecord) -> str:
        """Store a finished run (one transaction) and mirror it to MLflow when a tracking
        URI is set; returns its id."""
        from viz_core.store.images import thumbnail

        if not record.version:
            record.version, record.git_commit = provenance()
        if record.thumb is None and record.image is not None:
            record.thumb = thumbnail(record.image)
        with self._write() as con:
            con.execute(
                "INSERT INTO runs (id, started, ended, status, model, model_label, "
                "weights_hash, task, scheme, config, metrics, floors, curves, verdicts, note, "
                "group_id, version, git_commit, command, message, thumb, mlflow, batch_size) "
                "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (record.id, record.started, record.ended, record.status,
                 storable(record.model), storable(record.model_label), record.weights_hash,
                 record.task, record.scheme, dumps(record.config), dumps(record.metrics),
                 dumps(record.floors), dumps(record.curves), dumps(record.verdicts),
                 storable(record.note), storable(record.group_id), record.version,
                 record.git_commit, storable(record.command), storable(record.message),
                 record.thumb, record.mlflow,
                 None if record.batch_size is None else int(record.batch_size)))
            last = (record.curves.get("step") or [0])[-1]
            rows = [(record.id, 0, int(last), record.image)] if record.image is not None else []
            rows += [(record.id, i + 1, int(s), png) for i, (s, png) in
                     enumerate(record.frames)]
            con.executemany("INSERT INTO images VALUES (?,?,?,?)", rows)
            con.executemany("INSERT OR IGNORE INTO tags VALUES (?,?)",
                            [(record.id, t) for t in clean_tags(record.tags)])
            con.executemany("INSERT OR IGNORE INTO metric_keys VALUES (?)",
                            [(k,) for k in record.metrics])
        if self.tracking_uri:
            self._mirror(record)
        return record.id

    def _mirror(self, record: RunRecord) -> None:
        from viz_core.store.mlflow_mirror import log_run

        try:
            link = log_run(record, self.tracking_uri)
        except Exception as exc:  # noqa: BLE001 - a mirror failure must not lose the run
            self.mlflow_error = f"MLflow: {str(exc).strip().splitlines()[0] if str(exc) else exc}"
            return
        record.mlflow = link
        with self._write() as con:
            con.execute("UPDATE runs SET mlflow=? WHERE id=?", (link, record.id))

    @recovering
    def set_note(self, run_id: str, note: str) -> None:
        """Replace the note of a run (``run_id``: its id or a unique prefix)."""
        rid = self.resolve(run_id)
        with self._write() as con:
            con.execute("UPDATE runs SET note=? WHERE id=?", (note, rid))

    @recovering
    def set_tags(self, run_id: str, tags: Iterable[str]) -> None:
        """Replace the tags of a run (blank ones dropped, repeats merged)."""
        rid = self.resolve(run_id)
        with self._write() as con:
            con.execute("DELETE FROM tags WHERE run_id=?", (rid,))
            con.executemany("INSERT OR IGNORE INTO tags VALUES (?,?)",
                            [(rid, t) for t in clean_tags(tags)])

    @recovering
    def delete(self, run_ids: Iterable[str]) -> list[str]:
        """Hide runs from listings (undo with :meth:`restore`)."""
        ids = [self.resolve(r) for r in run_ids]
        with self._write() as con:
            con.executemany("UPDATE runs SET deleted=? WHERE id=?",
                            [(time.time(), r) for r in ids])
        return ids

    @recovering
    def restore(self, run_ids: Iterable[str]) -> None:
        """Undo :meth:`delete`: the runs show in listings again."""
        ids = [self.resolve(r, deleted=True) for r in run_ids]
        with self._write() as con:
            con.executemany("UPDATE runs SET deleted=NULL WHERE id=?", [(r,) for r in ids])

    @recovering
    def purge(self, run_ids: Iterable[str]) -> list[str]:
        """Remove runs for good (their images and tags too)."""
        ids = [self.resolve(r, deleted=True) for r in run_ids]
        with self._write() as con:
            con.executemany("DELETE FROM runs WHERE id=?", [(r,) for r in ids])
        return ids

    # -- reading ---------------------------------------------------------------------
    @recovering
    def resolve(self, prefix: str, deleted: bool = False) -> str:
        """The full id of the run that ``prefix`` names (a unique prefix is enough)."""
        p = str(prefix).strip().lower()
        if not RUN_ID.fullmatch(p):
            given = str(prefix) if len(str(prefix)) <= 60 else str(prefix)[:59] + "…"
            raise VizError(f"run id must be hexadecimal (at most 32 digits), got {given!r}",
                           field="run")
        hidden = "" if deleted else " AND deleted IS NULL"
        rows = self.con.execute(f"SELECT id FROM runs WHERE id LIKE ?{hidden} LIMIT 2",
                                (p + "%",)).fetchall()
        if not rows:
            raise VizError(f"no run {prefix!r} in {str(self.path)!r}", field="run")
        if len(rows) > 1:
            raise VizError(f"run id {prefix!r} is ambiguous; give more digits", field="run")
        return rows[0][0]

    @recovering
    def has(self, run_id: str) -> bool:
        """Is a run with exactly this id stored (deleted ones included)?"""
        return self.con.execute("SELECT 1 FROM runs WHERE id=?", (run_id,)).fetchone() \
            is not None

    @recovering
    def get(self, run_id: str, frames: bool = True) -> RunRecord:
        """A run with everything: configuration, curves, images."""
        rid = self.resolve(run_id, deleted=True)
        row = self.con.execute(f"SELECT {_LIGHT}, {_TAGS}, config, curves, verdicts, thumb "
                               "FROM runs WHERE id=?", (rid,)).fetchone()
        rec = record_of(row)
        rec.config, rec.curves, rec.verdicts = (json.loads(row[_N + 1]),
                                                json.loads(row[_N + 2]),
                                                json.loads(row[_N + 3]))
        rec.thumb = row[_N + 4]
        q = "SELECT idx, step, png FROM images WHERE run_id=? ORDER BY idx"
        for idx, step, png in self.con.execute(q, (rid,)):
            if idx == 0:
                rec.image = png
            elif frames:
                rec.frames.append((step, png))
        return rec

    @recovering
    def list(self, *, model: str | None = None, tag: str | None = None,
             task: str | None = None, scheme: str | None = None, status: str | None = None,
             group: str | None = None, since: float | None = None,
             until: float | None = None, sort: str = "started", descending: bool = True,
             limit: int | None = None, offset: int = 0, thumbs: bool = False,
             configs: bool = False, verdicts: bool = False, deleted: bool = False
             ) -> list[RunRecord]:
        """Runs without their images and curves, filtered and sorted (``sort``: a column of
        :data:`SORT_COLUMNS` or any metric key); ``thumbs``, ``configs``, ``verdicts``: with
        their thumbnails, their configurations, the judges' verdicts."""
        where, args = self._where(model, tag, task, scheme, status, group, since, until,
                                  deleted)
        order, oargs = order_by(sort, descending)
        extra = (["thumb"] * thumbs + ["config"] * configs  # blobs only when asked for
                 + ["verdicts"] * verdicts)
        cols = ", ".join([_LIGHT, _TAGS, *extra])
        lim = f" LIMIT {int(limit)} OFFSET {int(offset)}" if limit is not None else ""
        rows = self.con.execute(f"SELECT {cols} FROM runs{where} ORDER BY {order}{lim}",
                                args + oargs).fetchall()
        out = [record_of(r) for r in rows]
        for rec, r in zip(out, rows):
            got = dict(zip(extra, r[_N + 1:]))
            if thumbs:
                rec.thumb = got["thumb"]
            if configs:
                rec.config = json.loads(got["config"])
            if verdicts:
                rec.verdicts = json.loads(got["verdicts"])
        return out

    @recovering
    def count(self, **filters) -> int:
        """How many runs the filters of :meth:`list` select (``deleted=True``: of the
        deleted runs)."""
        where, args = self._where(*(filters.get(k) for k in (
            "model", "tag", "task", "scheme", "status", "group", "since", "until")),
            filters.get("deleted", False))
        return self.con.execute(f"SELECT count(*) FROM runs{where}", args).fetchone()[0]

    def _where(self, model, tag, task, scheme, status, group, since, until, deleted):
        conds, args = ["deleted IS NOT NULL" if deleted else "deleted IS NULL"], []
        for col, val in (("model", model), ("task", task), ("scheme", scheme),
                         ("status", status), ("group_id", group)):
            if val:
                conds.append(f"{col} = ?")
                args.append(val)
        if tag:
            conds.append("EXISTS (SELECT 1 FROM tags WHERE run_id = runs.id AND tag = ?)")
            args.append(tag)
        if since is not None:
            conds.append("started >= ?")
            args.append(float(since))
        if until is not None:
            conds.append("started < ?")
            args.append(float(until))
        return " WHERE " + " AND ".join(conds), args

    @recovering
    def distinct(self, column: str) -> list[str]:
        """The values of a filter column (model, task, scheme, status, group_id) or of
        ``tag`` among the stored runs."""
        if column == "tag":
            q = ("SELECT DISTINCT tag FROM tags JOIN runs ON runs.id = tags.run_id "
                 "WHERE deleted IS NULL ORDER BY tag")
        elif column in ("model", "task", "scheme", "status", "group_id"):
            q = f"SELECT DISTINCT {column} FROM runs WHERE deleted IS NULL ORDER BY 1"
        else:
            raise VizError(f"cannot list values of {column!r}", field="column")
        return [r[0] for r in self.con.execute(q) if r[0]]

    @recovering
    def metric_keys(self) -> list[str]:
        """Every metric key a stored run has had (what the History page sorts by)."""
        return [r[0] for r in self.con.execute("SELECT key FROM metric_keys ORDER BY 1")]
