"""Fashion-MNIST IDX reader and the canonical 28x28 -> 64x64 preprocessing."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from viz_core.errors import VizError

__all__ = [
    "DEFAULT_FMNIST_ROOT",
    "FMNIST_CLASSES",
    "load_fashion_mnist",
    "read_idx",
    "to_model_input",
]

DEFAULT_FMNIST_ROOT = Path("/usr/share/datasets/fashion-mnist")
FMNIST_CLASSES = [
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
]
_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
_HINT = (
    "Install the Debian package with `sudo apt-get install dataset-fashion-mnist` "
    f"(files land in {DEFAULT_FMNIST_ROOT}) or pass a folder holding the four IDX files "
    "(train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, "
    "t10k-labels-idx1-ubyte; gzipped or not)."
)


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read one IDX file (optionally gzipped) into a numpy array."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as fh:
            data = fh.read()
    except (OSError, EOFError) as exc:
        raise VizError(f"cannot read IDX file {path}: {exc}") from exc
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _DTYPES:
        raise VizError(f"{path} is not an IDX file (bad magic number)")
    ndim = data[3]
    header = 4 + 4 * ndim
    shape = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    dtype = np.dtype(_DTYPES[data[2]])
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(data) - header != expected:
        raise VizError(f"{path}: size does not match its IDX header {shape}")
    return np.frombuffer(data, dtype=dtype, offset=header).reshape(shape).copy()


def _find(root: Path, stem: str) -> Path | None:
    dotted = stem.replace("-idx", ".idx")  # some mirrors name them train-images.idx3-ubyte
    for name in (stem, stem + ".gz", dotted, dotted + ".gz"):
        if (root / name).is_file():
            return root / name
    return None


def load_fashion_mnist(
    split: str, root: str | os.PathLike | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Load a Fashion-MNIST split ("train" or "test") as (uint8 images N,28,28, int64 labels N)."""
    if split not in _FILES:
        raise VizError(f"unknown split {split!r}; use 'train' or 'test'", field="split")
    root = Path(root) if root is not None else DEFAULT_FMNIST_ROOT
    if not root.is_dir():
        raise VizError(f"Fashion-MNIST folder {root} does not exist. {_HINT}", field="data_dir")
    paths = [_find(root, stem) for stem in _FILES[split]]
    missing = [stem for stem, p in zip(_FILES[split], paths) if p is None]
    if missing:
        raise VizError(f"Fashion-MNIST files {missing} not found in {root}. {_HINT}",
                       field="data_dir")
    images, labels = (read_idx(p) for p in paths)
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise VizError(f"Fashion-MNIST files in {root} have unexpected shapes "
                       f"{images.shape} / {labels.shape}")
    return torch.from_numpy(images.astype(np.uint8)), torch.from_numpy(labels.astype(np.int64))


def to_model_input(images: torch.Tensor, size: int = 64) -> torch.Tensor:
    """uint8 (N,28,28) or (N,1,28,28) images -> float (N,1,size,size) in [0,1], bilinear."""
    x = images.float() / 255.0 if images.dtype == torch.uint8 else images.float()
    if x.ndim == 3:
        x = x.unsqueeze(1)
    if x.shape[-1] != size or x.shape[-2] != size:
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
    return x.clamp_(0.0, 1.0)
