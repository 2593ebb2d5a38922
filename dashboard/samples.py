"""Shipped sample images by short name, so that links and run JSONs do not carry the
server's folders (``fmnist/0_ankle_boot.png`` for a file in ``assets/samples``)."""

from __future__ import annotations

from pathlib import Path

UPLOAD = "upload"  # value of ``image`` meaning "the file uploaded in this session"


def _samples_dir() -> Path:
    from viz_core.models import assets_dir

    return assets_dir() / "samples"


def sample_name(path: str) -> str:
    """The short name of a shipped sample (``fmnist/0_ankle_boot.png``) for a path inside
    ``assets/samples``, so that links do not carry the server's folders; anything else is
    returned unchanged."""
    if not path or path == UPLOAD or path.startswith(f"{UPLOAD}:"):
        return path
    p = Path(path)
    if p.is_absolute():
        try:
            return p.resolve().relative_to(_samples_dir().resolve()).as_posix()
        except ValueError:
            return path
    return path


def sample_path(name: str) -> str:
    """The file of a sample name (inverse of :func:`sample_name`); a bare file name is
    looked up among the samples too. Other values are returned unchanged."""
    if not name or name == UPLOAD or name.startswith(f"{UPLOAD}:") or Path(name).is_absolute():
        return name
    root = _samples_dir()
    for cand in [root / name] + [d / name for d in sorted(root.glob("*")) if d.is_dir()]:
        if cand.is_file():
            return str(cand)
    return name
