"""The integrity record of a sweep directory, and the check of a directory against it.

``manifest.json`` holds the hash of the sweep specification and, per finished batch, its
part file, its cells, its row count and the SHA-256 of the part and of each cell's PNG.
It is rewritten (atomically) after each batch, after the batch's PNGs and part file.

:func:`verify` reads a directory the way a resume or ``--show`` needs it: a part counts
only when it is a batch of this sweep, reads as a table, holds exactly the batch's cells
with the configurations the sweep gives them, matches its recorded checksum, and every PNG
of its cells is present and unchanged. Anything else (a truncated, random or empty part,
a part of another sweep, a second part of one batch, a missing or changed PNG) is listed
as a problem and its batch is recomputed on resume; nothing is merged silently.

A directory written before manifests existed has none: its parts are checked by content
alone (cells, configurations, PNGs present), and a resume records them in a new manifest.

``history.json`` beside it says where the sweep's cells are recorded as runs (the run
store's file, or none with ``--no-store``) and with which tags, so that a resume records
its cells in the same store with the same tags (:func:`load_history`).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from viz_core.config import RunConfig

MANIFEST = "manifest.json"
HISTORY = "history.json"
FORMAT = "demons-viz sweep manifest 1"
PART_SUFFIXES = (".parquet", ".csv")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def load_manifest(path: Path) -> tuple[dict | None, str | None]:
    """The manifest at ``path`` (None when absent) and a problem when it does not read."""
    if not path.is_file():
        return None, None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or data.get("format") != FORMAT \
                or not isinstance(data.get("parts"), dict):
            raise ValueError("not a sweep manifest")
    except (OSError, ValueError) as exc:  # JSONDecodeError and UnicodeDecodeError included
        return {}, f"{MANIFEST} does not read ({type(exc).__name__}); parts checked by content"
    return data, None


def new_manifest(sweep_hash: str) -> dict:
    return {"format": FORMAT, "sweep": sweep_hash, "parts": {}}


def part_entry(file: str, rows: list[dict], part: bytes, pngs: dict[str, bytes]) -> dict:
    """A batch's record: its part file, cells, row count and checksums."""
    return {"file": file, "cells": [str(r["cell_id"]) for r in rows], "rows": len(rows),
            "sha256": sha256(part), "pngs": {cid: sha256(b) for cid, b in pngs.items()}}


def load_history(root: str | Path, sweep_hash: str) -> dict | None:
    """Where the sweep in ``root`` recorded its cells: ``{"store": path or None, "tags":
    [...]}`` (``store`` None: it ran with ``--no-store``); None when nothing is recorded,
    the file does not read, or it belongs to another sweep (``sweep_hash`` differs)."""
    try:
        data = json.loads((Path(root) / HISTORY).read_text(encoding="utf-8"))
    except (OSError, ValueError):  # absent, unreadable, not JSON: as if never recorded
        return None
    if not isinstance(data, dict) or data.get("sweep") != sweep_hash:
        return None
    store, tags = data.get("store"), data.get("tags")
    if not (store is None or isinstance(store, str)) or not isinstance(tags, list):
        return None
    return {"store": store, "tags": [str(t) for t in tags]}


def save_history(root: str | Path, sweep_hash: str, store: str | None,
                 tags: list[str]) -> None:
    """Record (atomically) that the sweep in ``root`` stores its cells in ``store`` (None:
    nowhere) with ``tags``."""
    path = Path(root) / HISTORY
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps({"sweep": sweep_hash, "store": store, "tags": list(tags)},
                              indent=1), encoding="utf-8")
    os.replace(tmp, path)


@dataclass
class Verification:
    """What :func:`verify` found: the batches that check out (with their rows and manifest
    entries), the batches of this sweep to recompute, the files to set aside, and one line
    per problem."""

    rows: dict[str, list[dict]] = field(default_factory=dict)
    entries: dict[str, dict] = field(default_factory=dict)
    redo: set[str] = field(default_factory=set)
    stray: list[Path] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    legacy: bool = False

    @property
    def done(self) -> set[str]:
        return set(self.rows)

    def all_rows(self) -> list[dict]:
        out = [r for rows in self.rows.values() for r in rows]
        return sorted(out, key=lambda r: int(r["index"]))


def _config_key(text) -> dict | None:
    try:
        return RunConfig.from_json(text).to_dict()
    except Exception:  # a row whose config column does not parse fails the check below
        return None


def _content_problem(rows: list[dict], cells: dict[str, dict]) -> str | None:
    """Why ``rows`` are not exactly the rows of a batch with ``cells`` (id -> config dict)."""
    ids = [str(r.get("cell_id")) for r in rows]
    if len(ids) != len(set(ids)):
        return "repeats a cell"
    if set(ids) != set(cells):
        extra = sorted(set(ids) - set(cells))
        return (f"holds cell {extra[0]!r}, not of this batch" if extra else
                f"lacks {len(set(cells) - set(ids))} of the batch's cells")
    for r in rows:
        if _config_key(r.get("config")) != cells[str(r["cell_id"])]:
            return f"cell {r['cell_id']} was computed with another configuration"
    return None


def _png_path(root: Path, row: dict) -> Path:
    return root / str(row.get("png") or f"cells/{row['cell_id']}.png")


def _png_problem(root: Path, rows: list[dict], recorded: dict[str, str] | None) -> str | None:
    for r in rows:
        cid = str(r["cell_id"])
        path = _png_path(root, r)
        if not path.is_file():
            return f"the PNG of cell {cid} is missing"
        data = path.read_bytes()
        if recorded is not None:
            if recorded.get(cid) != sha256(data):
                return f"the PNG of cell {cid} has changed"
        elif not data.startswith(PNG_SIGNATURE):
            return f"the PNG of cell {cid} is not a PNG"
    return None


def verify(root: Path, parts: list[Path], batches: dict[str, dict[str, dict]],
           manifest: dict | None, sweep_hash: str,
           read: Callable[[Path], list[dict]]) -> Verification:
    """Check the part files ``parts`` of the directory ``root`` against the sweep's
    ``batches`` (batch id -> cell id -> configuration dict) and ``manifest``."""
    v = Verification(legacy=manifest is None)
    recorded = {}
    if manifest:
        if manifest.get("sweep") == sweep_hash:
            recorded = manifest["parts"]
        else:
            v.problems.append(f"{MANIFEST} belongs to another sweep; parts checked by content")
    by_batch: dict[str, list[Path]] = {}
    for p in parts:
        if p.stem not in batches:
            v.stray.append(p)
            v.problems.append(f"parts/{p.name} is not a batch of this sweep")
        else:
            by_batch.setdefault(p.stem, []).append(p)
    for bid, files in sorted(by_batch.items()):
        entry = recorded.get(bid) if isinstance(recorded.get(bid), dict) else None
        if len(files) > 1:
            keep = [p for p in files if entry and entry.get("file") == p.name]
            for p in files:
                if p not in keep:
                    v.stray.append(p)
                    v.problems.append(f"parts/{p.name} duplicates batch {bid}")
            if not keep:
                v.redo.add(bid)
                continue
            files = keep
        path = files[0]
        why = None
        try:
            data = path.read_bytes()
        except OSError as exc:
            data, why = b"", f"does not read ({exc.strerror})"
        if why is None and entry is not None and (entry.get("file") != path.name
                                                  or entry.get("sha256") != sha256(data)):
            why = "differs from the one recorded in the manifest"
        rows: list[dict] = []
        if why is None:
            try:
                rows = read(path)
            except Exception as exc:  # truncated, random or empty: ArrowInvalid, csv.Error
                why = f"is not a readable table ({type(exc).__name__})"
        if why is None:
            why = _content_problem(rows, batches[bid])
        if why is None:
            why = _png_problem(root, rows, entry.get("pngs") if entry else None)
            if why is not None:
                v.redo.add(bid)
                v.problems.append(f"batch {bid}: {why}")
                continue
        if why is not None:
            v.stray.append(path)
            v.redo.add(bid)
            v.problems.append(f"parts/{path.name} {why}")
            continue
        v.rows[bid] = rows
        v.entries[bid] = entry or {
            "file": path.name, "cells": [str(r["cell_id"]) for r in rows],
            "rows": len(rows), "sha256": sha256(data),
            "pngs": {str(r["cell_id"]): sha256(_png_path(root, r).read_bytes())
                     for r in rows}}
    return v
