"""Labelled image sets for the evaluation protocols (Sec. 3.2): class-balanced subsets of
Fashion-MNIST, and image folders (ImageFolder layout, or a flat folder with a labels file)."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from viz_core.datasets import load_fashion_mnist, to_model_input
from viz_core.errors import VizError
from viz_core.images import load_image

__all__ = ["IMAGE_EXTS", "ImageSet", "balanced_order", "fashion_mnist_images",
           "folder_images"]


@dataclass
class ImageSet:
    """N labelled images; ``load(indices, size, channels)`` gives (n, C, size, size) in [0, 1]."""

    name: str
    labels: np.ndarray                                   # (N,) int64 class indices
    load: Callable[[Sequence[int], int, int], torch.Tensor]
    ids: list[str] = field(default_factory=list)         # per image: index / file name

    def __len__(self) -> int:
        return len(self.labels)


def balanced_order(labels: np.ndarray, seed: int = 0) -> np.ndarray:
    """Indices in a seeded random order, round-robin over classes: every prefix is as
    class-balanced as the data allow (the paper samples one image per ImageNet class)."""
    labels = np.asarray(labels)
    perm = np.random.default_rng(seed).permutation(len(labels))
    rank = np.empty(len(labels), dtype=np.int64)
    counts: dict[int, int] = {}
    for i in perm:
        c = int(labels[i])
        rank[i] = counts.get(c, 0)
        counts[c] = rank[i] + 1
    pos = np.empty(len(labels), dtype=np.int64)
    pos[perm] = np.arange(len(labels))
    return np.lexsort((pos, rank))


def _subset(n: int, labels: np.ndarray, seed: int) -> np.ndarray:
    if n > len(labels):
        raise VizError(f"asked for {n} images but only {len(labels)} are available", field="n")
    return np.asarray(balanced_order(labels, seed)[:n], dtype=np.int64)


def fashion_mnist_images(n: int, seed: int = 0, root: str | Path | None = None,
                         split: str = "test") -> ImageSet:
    """N class-balanced Fashion-MNIST test images, preprocessed as in training
    (``datasets.to_model_input``: /255, bilinear resize)."""
    x, y = load_fashion_mnist(split, root)
    idx = _subset(n, y.numpy(), seed)
    xs, ys = x[torch.from_numpy(idx)], y.numpy()[idx]

    def load(indices: Sequence[int], size: int, channels: int) -> torch.Tensor:
        t = to_model_input(xs[torch.as_tensor(list(indices), dtype=torch.long)], size)
        return t.expand(-1, channels, -1, -1).contiguous() if channels != 1 else t

    return ImageSet(f"Fashion-MNIST {split}", ys, load, [f"{split}:{i}" for i in idx])


IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm")


def _norm_name(s: str) -> str:
    return re.sub(r"[\s_\-]+", " ", s.strip().lower())


def _label_index(text: str, classes: list[str], where: str) -> int:
    t = text.strip()
    if re.fullmatch(r"\d+", t):
        v = int(t)
        if v >= len(classes):
            raise VizError(f"{where}: class index {v} out of range 0..{len(classes) - 1}",
                           field="labels")
        return v
    names = {_norm_name(c): i for i, c in enumerate(classes)}
    if _norm_name(t) in names:
        return names[_norm_name(t)]
    raise VizError(f"{where}: {t!r} is neither a class index nor a class name of the model",
                   field="labels")


def folder_images(path: str | Path, classes: list[str], n: int | None = None, seed: int = 0,
                  labels_file: str | Path | None = None) -> ImageSet:
    """Images from a folder: ImageFolder layout (one subfolder per class, named by class
    index, class name, or WordNet id when there is one folder per class, sorted as
    torchvision's ImageNet indices) or a flat folder with a labels file (``NAME LABEL`` per
    line, separated by whitespace, comma or tab; LABEL an index or class name)."""
    root = Path(path)
    if not root.is_dir():
        what = "is a file, not a folder" if root.exists() else "does not exist"
        raise VizError(f"image folder {str(root)!r} {what}", field="images")
    files: list[Path] = []
    labels: list[int] = []
    if labels_file is not None:
        lf = Path(labels_file)
        if not lf.is_file():
            raise VizError(f"labels file {str(lf)!r} does not exist", field="labels")
        for ln, line in enumerate(lf.read_text(encoding="utf-8", errors="replace").splitlines(),
                                  1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            parts = [p for p in re.split(r"[,\t]|\s+", line) if p]
            if len(parts) < 2:
                raise VizError(f"{lf.name} line {ln}: expected 'NAME LABEL', got {line!r}",
                               field="labels")
            name, lab = parts[0], " ".join(parts[1:])
            if ln == 1 and lab.lower() in ("label", "class", "target"):
                continue  # header
            f = root / name
            if not f.is_file():
                raise VizError(f"{lf.name} line {ln}: image {name!r} not found in {root}",
                               field="labels")
            files.append(f)
            labels.append(_label_index(lab, classes, f"{lf.name} line {ln}"))
    else:
        dirs = sorted(d for d in root.iterdir() if d.is_dir() and not d.name.startswith("."))
        if not dirs:
            raise VizError(f"{root} has no class subfolders; use the ImageFolder layout or "
                           "pass a labels file (labels_file=)", field="images")
        names = [d.name for d in dirs]
        known = {_norm_name(c) for c in classes}
        if all(re.fullmatch(r"\d+", s) or _norm_name(s) in known for s in names):
            idx = [_label_index(s, classes, f"folder {s}") for s in names]
        elif len(names) == len(classes) and all(re.fullmatch(r"n\d{8}", s) for s in names):
            idx = list(range(len(names)))
        else:
            raise VizError(f"cannot map the subfolders of {root} to classes: name them by "
                           "class index or class name, use one WordNet-id folder per class "
                           f"({len(classes)}), or pass a labels file", field="images")
        for d, c in zip(dirs, idx):
            for f in sorted(d.iterdir()):
                if f.suffix.lower() in IMAGE_EXTS and f.is_file():
                    files.append(f)
                    labels.append(c)
    if not files:
        raise VizError(f"no images found in {root}", field="images")
    lab = np.asarray(labels, dtype=np.int64)
    sel = _subset(n or len(files), lab, seed)
    chosen = [files[i] for i in sel]

    def load(indices: Sequence[int], size: int, channels: int) -> torch.Tensor:
        return torch.cat([load_image(chosen[i], size, channels)[0] for i in indices])

    return ImageSet(f"folder {root.name}", lab[sel], load,
                    [str(f.relative_to(root)) for f in chosen])
