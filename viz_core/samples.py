"""The shipped sample images (``assets/samples``): Fashion-MNIST test crops for the offline
models (grey, ``fmnist/<test index>_<class>.png``) and photos for the ImageNet models
(``photos/``), the images that feature inversion (eq. 3) reconstructs when none is given.

The one place that knows where samples live: names in links and sweep tables
(``fmnist/0_ankle_boot.png``) and files on this machine are converted here.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["DEFAULT_FMNIST", "IMAGE_EXTS", "default_sample", "first_sample", "fmnist_samples",
           "sample_class", "sample_folder", "sample_name", "sample_path", "sample_paths",
           "samples_dir"]

IMAGE_EXTS = {".png", ".jpg", ".jpeg", ".bmp", ".webp", ".gif", ".tif", ".tiff"}
#: The offline models' default image to invert: Fashion-MNIST test image 0.
DEFAULT_FMNIST = "0_ankle_boot.png"


def samples_dir() -> Path:
    """``assets/samples``."""
    from viz_core.zoo import assets_dir

    return assets_dir() / "samples"


def sample_folder(channels: int = 1) -> Path:
    """The folder of samples for ``channels``: Fashion-MNIST (1) or photos (3)."""
    return samples_dir() / ("fmnist" if channels == 1 else "photos")


def sample_paths(channels: int = 1) -> list[str]:
    """The shipped sample files for ``channels`` (sorted paths; empty if none shipped)."""
    folder = sample_folder(channels)
    if not folder.is_dir():
        return []
    return sorted(str(p) for p in folder.iterdir() if p.suffix.lower() in IMAGE_EXTS)


def first_sample(channels: int = 1) -> str:
    """The first shipped sample (a path that may not exist if no samples are shipped; the
    engine then reports the missing file)."""
    found = sample_paths(channels)
    return found[0] if found else str(sample_folder(channels) / "sample.png")


def default_sample() -> str:
    """The offline models' default image to invert (:data:`DEFAULT_FMNIST`)."""
    return str(sample_folder(1) / DEFAULT_FMNIST)


def fmnist_samples(folder: str | Path | None = None) -> list[Path]:
    """The Fashion-MNIST samples (``<test index>_<class>.png``) in test-index order."""
    root = Path(folder) if folder else sample_folder(1)
    return sorted(root.glob("*.png"), key=lambda p: int(p.stem.split("_")[0]))


def sample_name(path: str) -> str:
    """The short name of a shipped sample (``fmnist/0_ankle_boot.png``) for a path inside
    ``assets/samples``, so that links and tables do not carry this machine's folders;
    anything else is returned unchanged."""
    p = Path(path)
    if path and p.is_absolute():
        try:
            return p.resolve().relative_to(samples_dir().resolve()).as_posix()
        except ValueError:
            return path
    return path


def sample_path(name: str) -> str:
    """The file of a sample name (inverse of :func:`sample_name`); a bare file name is
    looked up in the sample folders too. Other values (absolute paths, names of no shipped
    sample) are returned unchanged."""
    if not name or Path(name).is_absolute():
        return name
    root = samples_dir()
    for cand in [root / name] + [d / name for d in sorted(root.glob("*")) if d.is_dir()]:
        if cand.is_file():
            return str(cand)
    return name


def _key(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch.isalnum())


def sample_class(image: str, classes: list[str] | tuple[str, ...]) -> int | None:
    """The class of a shipped Fashion-MNIST sample (``fmnist/<test index>_<class>.png``,
    its dataset label) among ``classes``, the label that Table 1 (Sec. 3.2) checks an
    inversion's verdict against; None for any other image (a user's file, a photo) or a
    class the network does not have.

    >>> classes = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal",
    ...            "Shirt", "Sneaker", "Bag", "Ankle boot"]
    >>> sample_class("fmnist/0_ankle_boot.png", classes), sample_class("19_t_shirt_top.png",
    ...                                                                 classes)
    (9, 0)
    >>> sample_class("/home/me/ankle_boot.png", classes) is None
    True
    """
    name = sample_name(image) if image else ""
    if Path(name).is_absolute():
        return None
    path = Path(sample_path(name))
    stem = path.stem
    if not path.is_file() or path.parent.name != "fmnist" or "_" not in stem:
        return None
    index, label = stem.split("_", 1)
    if not index.isdigit():
        return None
    keys = [_key(str(c)) for c in classes]
    return keys.index(_key(label)) if keys.count(_key(label)) == 1 else None
