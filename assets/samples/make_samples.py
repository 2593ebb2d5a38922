"""Regenerate the sample images in this folder (see SOURCES.md).

Fashion-MNIST: the first two test images of every class, upsampled to 64x64 with the same
bilinear resize the offline models use. Photos: scikit-image's sample data, downscaled to
256 px on the long side. Usage::

    pip download scikit-image --no-deps -d /tmp/skimg && cd /tmp/skimg && unzip -o -q *.whl
    python assets/samples/make_samples.py --skimage-data /tmp/skimg/skimage/data
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from PIL import Image

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from viz_core.datasets import FMNIST_CLASSES, load_fashion_mnist, to_model_input  # noqa: E402

PHOTOS = {
    "astronaut.png": "astronaut.jpg",
    "coffee.png": "coffee.jpg",
    "chelsea.png": "chelsea.jpg",
}


def slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def fmnist(out: Path, per_class: int = 2, data_dir: str | None = None) -> None:
    images, labels = load_fashion_mnist("test", data_dir)
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.png"):
        old.unlink()
    for c, cname in enumerate(FMNIST_CLASSES):
        for idx in (labels == c).nonzero().flatten()[:per_class].tolist():
            x = to_model_input(images[idx: idx + 1])[0, 0]
            arr = (x * 255).round().byte().numpy()
            Image.fromarray(arr).save(out / f"{idx}_{slug(cname)}.png", optimize=True)


def photos(src: Path, out: Path, size: int = 256) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for name, target in PHOTOS.items():
        with Image.open(src / name) as im:
            im = im.convert("RGB")
            im.thumbnail((size, size), Image.Resampling.LANCZOS)
            im.save(out / target, quality=90, optimize=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--skimage-data", help="folder holding scikit-image's sample PNGs")
    p.add_argument("--data-dir", help="Fashion-MNIST folder (default: the Debian one)")
    args = p.parse_args()
    fmnist(HERE / "fmnist", data_dir=args.data_dir)
    if args.skimage_data:
        photos(Path(args.skimage_data), HERE / "photos")


if __name__ == "__main__":
    main()
