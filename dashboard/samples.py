"""Shipped sample images by short name, so that links and run JSONs do not carry the
server's folders (``fmnist/0_ankle_boot.png`` for a file in ``assets/samples``)."""

from __future__ import annotations

from viz_core import samples

UPLOAD = "upload"  # value of ``image`` meaning "the file uploaded in this session"


def _uploaded(value: str) -> bool:
    return value == UPLOAD or value.startswith(f"{UPLOAD}:")


def sample_name(path: str) -> str:
    """The short name of a shipped sample (:func:`viz_core.samples.sample_name`); the
    upload markers are kept as they are."""
    return path if not path or _uploaded(path) else samples.sample_name(path)


def sample_path(name: str) -> str:
    """The file of a sample name (:func:`viz_core.samples.sample_path`); the upload markers
    are kept as they are."""
    return name if not name or _uploaded(name) else samples.sample_path(name)
