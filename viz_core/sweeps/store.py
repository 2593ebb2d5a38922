"""The result directory of a sweep, written so that an interrupted sweep resumes.

Layout::

    DIR/sweep.json                 the sweep specification (base configuration and axes)
    DIR/manifest.json              checksums of every part and PNG (:mod:`.manifest`)
    DIR/cells/<cell id>.png        the final pre-image of each cell (metadata in tEXt chunks)
    DIR/parts/<batch id>.parquet   the rows of one finished batch (.csv without pyarrow)
    DIR/table.parquet              all rows in cell order, written when the sweep completes
    DIR/inputs/<file>              an inverted image that is not a shipped sample (a copy)
    DIR/rejected/<file>            parts a resume set aside (corrupt, foreign, duplicate)

The directory can be moved: an inverted image is stored as the shipped sample's name
(``fmnist/0_ankle_boot.png``, relative to ``assets/samples``) or, for any other file, as a
copy under ``inputs/`` named relative to the directory. Older sweeps that stored absolute
paths still load (:meth:`SweepStore.resolve_image`).

A batch's PNGs are written first, then its part file, then its manifest entry, each
through a temporary file and an atomic rename: a batch is done when its part file exists
and checks out (:func:`viz_core.sweeps.manifest.verify`), so a killed sweep loses at most
the batches in flight and never leaves a half-written table behind, and a damaged or
foreign file is recomputed, never merged.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
import json
import os
import shutil
from pathlib import Path

from viz_core.errors import VizError
from viz_core.samples import samples_dir
from viz_core.sweeps import manifest as mf
from viz_core.sweeps.spec import Sweep


def png_name(cell_id: str) -> str:
    """Where a cell's PNG lies, relative to the sweep directory."""
    return f"cells/{cell_id}.png"


INPUTS = "inputs"
REJECTED = "rejected"


def _inside(path: Path, folder: Path) -> str | None:
    """``path`` relative to ``folder`` (POSIX), or None when it lies elsewhere."""
    try:
        return path.resolve().relative_to(folder.resolve()).as_posix()
    except ValueError:
        return None


def have_pyarrow() -> bool:
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        return False
    return True


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _csv_bytes(rows: list[dict]) -> bytes:
    cols = list(dict.fromkeys(k for r in rows for k in r))
    buf = io.StringIO()
    w = csv.DictWriter(buf, cols, lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: v if isinstance(v, str) else json.dumps(v) for k, v in r.items()})
    return buf.getvalue().encode("utf-8")


def _csv_value(text: str):
    if text in ("", "null"):
        return None
    if text in ("true", "false") or text[:1] in "-0123456789" or text in ("NaN", "Infinity"):
        try:
            return json.loads(text)
        except ValueError:
            return text
    return text


def _read_csv(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as fh:
        return [{k: _csv_value(v) for k, v in r.items()} for r in csv.DictReader(fh)]


def _parquet_bytes(rows: list[dict]) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    buf = pa.BufferOutputStream()
    pq.write_table(pa.Table.from_pylist(rows), buf)
    return buf.getvalue().to_pybytes()


def _read_parquet(path: Path) -> list[dict]:
    import pyarrow.parquet as pq

    return pq.read_table(path).to_pylist()


def _read_part(path: Path) -> list[dict]:
    return _read_parquet(path) if path.suffix == ".parquet" else _read_csv(path)


class SweepStore:
    """A sweep's directory: the specification, one PNG per cell and the result table."""

    def __init__(self, root: str | Path, fmt: str = "auto") -> None:
        self.root = Path(root)
        if fmt not in ("auto", "parquet", "csv"):
            raise VizError(f"table format must be auto, parquet or csv, got {fmt!r}",
                           field="format")
        if fmt == "parquet" and not have_pyarrow():
            raise VizError('Parquet needs pyarrow: pip install -e ".[distributed]"',
                           field="format")
        self.fmt = fmt
        self._manifest: dict | None = None
        self._checked: tuple[Sweep, mf.Verification] | None = None

    @property
    def cells_dir(self) -> Path:
        return self.root / "cells"

    @property
    def parts_dir(self) -> Path:
        return self.root / "parts"

    @property
    def spec_path(self) -> Path:
        return self.root / "sweep.json"

    @property
    def manifest_path(self) -> Path:
        return self.root / mf.MANIFEST

    def exists(self) -> bool:
        return self.spec_path.is_file()

    # ------------------------------------------------------------------ images
    def resolve_image(self, value: str | None) -> str | None:
        """The file of a stored image value: a path relative to this directory, a shipped
        sample's name, or (older sweeps) an absolute path; an absolute path that no longer
        exists is looked up under this machine's ``assets/samples`` by the part after
        ``samples/``. Unresolvable values are returned unchanged (the engine reports them)."""
        if not value:
            return value
        p = Path(value)
        if p.is_absolute():
            if p.is_file():
                return str(p)
            if "samples" in p.parts:
                i = len(p.parts) - 1 - p.parts[::-1].index("samples")
                cand = samples_dir().joinpath(*p.parts[i + 1:])
                if cand.is_file():
                    return str(cand)
            return value
        for cand in (self.root / p, samples_dir() / p):
            if cand.is_file():
                return str(cand)
        return value

    def portable_image(self, value: str | None) -> str | None:
        """How ``value`` (a path as given, or an already portable value) is stored: the
        sample's name for a shipped sample, else a path relative to this directory (a file
        outside it is copied to ``inputs/``)."""
        if not value:
            return value
        p = Path(value)
        if not p.is_file():  # already portable (or missing: left for the engine to report)
            return value
        name = _inside(p, samples_dir())
        if name is not None:
            return name
        rel = _inside(p, self.root)
        if rel is not None:
            return rel
        data = p.read_bytes()
        dest = self.root / INPUTS / p.name
        if dest.is_file() and dest.read_bytes() != data:
            dest = dest.with_name(f"{hashlib.sha1(data).hexdigest()[:8]}-{p.name}")
        if not dest.is_file():
            dest.parent.mkdir(parents=True, exist_ok=True)
            tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
            shutil.copyfile(p, tmp)
            os.replace(tmp, dest)
        return f"{INPUTS}/{dest.name}"

    def portable(self, sweep: Sweep) -> Sweep:
        """``sweep`` with its inverted image stored portably (:meth:`portable_image`)."""
        self._check_root()
        image = self.portable_image(sweep.base.image)
        if image == sweep.base.image:
            return sweep
        return dataclasses.replace(sweep, base=dataclasses.replace(sweep.base, image=image))

    def _check_root(self) -> None:
        if self.root.exists() and not self.root.is_dir():
            raise VizError(f"{str(self.root)!r} is a file, not a directory", field="out")

    def _comparable(self, spec: dict) -> dict:
        """A specification with its image replaced by the image file's content hash, so
        that an older sweep (absolute path) and the same sweep stored portably match."""
        image = spec.get("base", {}).get("image")
        path = self.resolve_image(image)
        if path and Path(path).is_file():
            spec = {**spec, "base": {**spec["base"], "image": "sha1:" + hashlib.sha1(
                Path(path).read_bytes()).hexdigest()}}
        return spec

    def _read_spec(self) -> str:
        try:
            return self.spec_path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise VizError(f"{str(self.spec_path)!r} does not read ({type(exc).__name__}); "
                           "choose another output directory (or delete it)",
                           field="out") from None

    def load_sweep(self) -> Sweep:
        if not self.exists():
            raise VizError(f"{str(self.root)!r} is not a sweep directory (no sweep.json)",
                           field="out")
        try:
            return Sweep.from_json(self._read_spec())
        except VizError as exc:
            raise VizError(f"{str(self.spec_path)!r}: {exc}; choose another output "
                           "directory (or delete it)", field="out") from None

    def sweep_hash(self, sweep: Sweep) -> str:
        """The hash of ``sweep``'s specification, its image as the file's content hash."""
        spec = self._comparable(json.loads(sweep.to_json()))
        return mf.sha256(json.dumps(spec, sort_keys=True).encode("utf-8"))

    def _has_results(self) -> bool:
        return self.parts_dir.is_dir() and any(
            p.suffix in mf.PART_SUFFIXES for p in self.parts_dir.iterdir())

    def open(self, sweep: Sweep) -> list[str]:
        """Create the directory for ``sweep``, or check that it already holds this sweep.

        A directory whose specification differs (or does not read) but that holds no
        results yet takes the new specification: a sweep that stopped before its first
        batch leaves nothing to protect. Returns notices for the user."""
        self._check_root()
        notices = []
        if self.exists():
            try:
                old = json.loads(self._read_spec())
            except ValueError:
                old = None
            new = json.loads(sweep.to_json())
            if old != new and (old is None or self._comparable(old) != self._comparable(new)):
                if self._has_results():
                    what = "holds a different sweep" if old is not None else \
                        "has a sweep.json that does not read"
                    raise VizError(f"{str(self.root)!r} {what}; choose another output "
                                   "directory (or delete it)", field="out")
                notices.append(f"{str(self.root)!r} held another sweep without results; "
                               "it now holds this one")
                self.spec_path.unlink()
                self.manifest_path.unlink(missing_ok=True)
        self.cells_dir.mkdir(parents=True, exist_ok=True)
        self.parts_dir.mkdir(parents=True, exist_ok=True)
        if not self.exists():
            _atomic_write(self.spec_path, sweep.to_json().encode("utf-8"))
        if self.fmt == "auto":
            existing = {p.suffix for p in self.parts_dir.iterdir()
                        if not p.name.startswith(".") and p.suffix in mf.PART_SUFFIXES}
            self.fmt = (existing.pop().lstrip(".") if len(existing) == 1
                        else "parquet" if have_pyarrow() else "csv")
        return notices

    # ------------------------------------------------------------------ integrity
    def _parts(self) -> list[Path]:
        if not self.parts_dir.is_dir():
            return []
        return sorted(p for p in self.parts_dir.iterdir()
                      if p.suffix in mf.PART_SUFFIXES and not p.name.startswith(".")
                      and p.is_file())

    def check(self, sweep: Sweep | None = None) -> mf.Verification:
        """This directory checked against ``sweep`` (default: its own specification) and
        its manifest (:func:`viz_core.sweeps.manifest.verify`)."""
        from viz_core.sweeps.grouping import group_cells

        if self._checked is not None and (sweep is None or self._checked[0] is sweep):
            return self._checked[1]
        sweep = sweep or self.load_sweep()
        batches = {b.id: {c.id: c.config.to_dict() for c in b.cells}
                   for b in group_cells(sweep.cells(), sweep.batch_size)}
        manifest, problem = mf.load_manifest(self.manifest_path)
        v = mf.verify(self.root, self._parts(), batches, manifest, self.sweep_hash(sweep),
                      _read_part)
        if problem:
            v.problems.insert(0, problem)
        self._checked = (sweep, v)
        return v

    def repair(self, sweep: Sweep) -> mf.Verification:
        """Before a resume: set aside the parts that fail :meth:`check` (to ``rejected/``)
        and record the ones that pass in the manifest (an older directory gets one)."""
        v = self.check(sweep)
        if v.stray:
            dest = self.root / REJECTED
            dest.mkdir(exist_ok=True)
            for p in v.stray:
                os.replace(p, dest / p.name)
        self._manifest = mf.new_manifest(self.sweep_hash(sweep))
        self._manifest["parts"] = dict(sorted(v.entries.items()))
        self._write_manifest()
        self._checked = None
        return v

    def _write_manifest(self) -> None:
        _atomic_write(self.manifest_path,
                      json.dumps(self._manifest, indent=1).encode("utf-8"))

    def done_batches(self) -> set[str]:
        """Ids of the batches whose rows are written and check out."""
        if not self.exists():
            return set()
        return self.check().done

    def png_path(self, cell_id: str) -> Path:
        return self.root / png_name(cell_id)

    def write_batch(self, batch_id: str, rows: list[dict], pngs: dict[str, bytes]) -> None:
        """PNGs first, then the part file (the batch's commit), then its manifest entry,
        each atomically."""
        for cid, data in pngs.items():
            _atomic_write(self.png_path(cid), data)
        if self.fmt == "parquet":
            name, data = f"{batch_id}.parquet", _parquet_bytes(rows)
        else:
            name, data = f"{batch_id}.csv", _csv_bytes(rows)
        _atomic_write(self.parts_dir / name, data)
        if self._manifest is None:
            manifest, _ = mf.load_manifest(self.manifest_path)
            self._manifest = manifest or mf.new_manifest(self.sweep_hash(self.load_sweep()))
        self._manifest["parts"][batch_id] = mf.part_entry(name, rows, data, pngs)
        self._write_manifest()
        self._checked = None

    def rows(self) -> list[dict]:
        """Every written row that checks out (:meth:`check`), in cell order."""
        if not self.exists():
            return []
        return self.check().all_rows()

    def finish(self) -> Path:
        """Write the whole table in cell order (``table.parquet`` or ``table.csv``)."""
        rows = self.rows()
        if self.fmt == "parquet":
            path, data = self.root / "table.parquet", _parquet_bytes(rows)
        else:
            path, data = self.root / "table.csv", _csv_bytes(rows)
        _atomic_write(path, data)
        return path
