"""Reading user images safely and writing pre-images (PNG, GIF).

Uploads may be anything: non-images, truncated files, decompression bombs, huge photos,
grayscale / RGBA / 16-bit / palette images, EXIF-rotated photos. :func:`load_image` turns
each into a (1, C, size, size) tensor in [0, 1] or raises :class:`VizError`.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

from viz_core.errors import VizError

MAX_PIXELS = 40_000_000      # larger images are refused (decompression bomb guard)
MAX_BYTES = 50 * 1024 * 1024
LARGE_SIDE = 4096            # larger sides are downscaled first, with a notice


def existing_image_file(path: str | Path) -> Path:
    """``path`` as an existing file, or a shipped sample's name (``fmnist/0_ankle_boot.png``,
    as sweeps and the dashboard store it: :func:`viz_core.samples.sample_path`), else a
    :class:`VizError` that says what is there instead (nothing, or a folder)."""
    from viz_core.samples import sample_path

    p = Path(path)
    if not p.exists():
        p = Path(sample_path(str(path)))
    if p.is_dir():
        raise VizError(f"image file {str(path)!r} is a folder, not an image file",
                       field="image")
    if not p.is_file():
        raise VizError(f"image file {str(path)!r} does not exist", field="image")
    return p


def open_image(source: str | Path | bytes | Image.Image) -> tuple[Image.Image, list[str]]:
    """Open and fully decode an image; return it (RGB or L) and a list of notices."""
    notices: list[str] = []
    if isinstance(source, Image.Image):
        img = source
    else:
        if isinstance(source, (str, Path)):
            p = existing_image_file(source)
            if p.stat().st_size > MAX_BYTES:
                raise VizError(f"image file is larger than {MAX_BYTES >> 20} MB", field="image")
            data = p.read_bytes()
        else:
            data = bytes(source)
            if len(data) > MAX_BYTES:
                raise VizError(f"image is larger than {MAX_BYTES >> 20} MB", field="image")
        if not data:
            raise VizError("the image file is empty", field="image")
        # Pillow's MAX_IMAGE_PIXELS is process-wide (and so are warning filters): never
        # changed here, as sessions decode in threads. ``Image.open`` reads only the
        # header, so the size is checked before anything is decoded.
        try:
            img = Image.open(io.BytesIO(data))
            if img.width * img.height > MAX_PIXELS:
                raise VizError(f"image of {img.width}x{img.height} pixels is too large "
                               f"(limit {MAX_PIXELS:,} pixels)", field="image")
            img.load()
        except Image.DecompressionBombError:
            raise VizError(f"image is too large (over {MAX_PIXELS:,} pixels): refused as a "
                           "possible decompression bomb", field="image") from None
        except UnidentifiedImageError:
            raise VizError("the file is not an image Pillow can read (PNG, JPEG, GIF, BMP, "
                           "TIFF, WebP)", field="image") from None
        except (OSError, SyntaxError, ValueError) as exc:
            if isinstance(exc, VizError):
                raise
            raise VizError(f"the image could not be decoded (truncated or corrupt): {exc}",
                           field="image") from None
    img = ImageOps.exif_transpose(img)
    if max(img.size) > LARGE_SIDE:
        notices.append(f"large image ({img.width}x{img.height}) was downscaled")
        img.thumbnail((LARGE_SIDE, LARGE_SIDE))
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):
        arr = np.asarray(img, dtype=np.float64)
        hi = arr.max() if arr.max() > 255 else 255.0
        img = Image.fromarray((arr / max(hi, 1) * 255).clip(0, 255).astype(np.uint8), "L")
        notices.append("16-bit image converted to 8 bits")
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        bg = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(bg, rgba).convert("RGB")
        notices.append("transparency flattened onto white")
    elif img.mode not in ("RGB", "L"):
        img = img.convert("RGB")
    return img, notices


def load_image(source: str | Path | bytes, size: int,
               channels: int = 3) -> tuple[torch.Tensor, list[str]]:
    """Image -> (1, channels, size, size) float tensor in [0, 1] (centre crop, resize)."""
    img, notices = open_image(source)
    if channels == 1 and img.mode != "L":
        notices.append("colour converted to grey (the network takes one channel)")
    elif channels == 3 and img.mode == "L":
        notices.append("grey image repeated in three channels (the network takes colour)")
    img = img.convert("L" if channels == 1 else "RGB")
    w, h = img.size
    s = min(w, h)
    if w != h:
        img = img.crop(((w - s) // 2, (h - s) // 2, (w - s) // 2 + s, (h - s) // 2 + s))
        notices.append(f"centre-cropped from {w}x{h} to a square")
    img = img.resize((size, size), Image.BICUBIC if s < size else Image.LANCZOS)
    arr = np.asarray(img, dtype=np.float32) / 255.0
    t = torch.from_numpy(arr.copy())
    t = t[None, None] if channels == 1 else t.permute(2, 0, 1)[None]
    return t, notices


LEVELS = 255
"""The largest 8-bit grey level: pre-images in [0, 1] are saved as ``round(u * LEVELS)``."""


def quantize_uint8(images: np.ndarray | torch.Tensor) -> np.ndarray:
    """The one 8-bit quantiser: values in [0, 1] (any shape; NaN as 0, clipped) -> uint8
    levels ``round(u * 255)``, the same shape."""
    a = images.detach().cpu().numpy() if isinstance(images, torch.Tensor) else \
        np.asarray(images)
    return np.round(np.nan_to_num(a, nan=0.0).clip(0, 1) * LEVELS).astype(np.uint8)


def from_uint8(levels: np.ndarray) -> np.ndarray:
    """8-bit levels back to float32 values in [0, 1] (inverse of :func:`quantize_uint8`)."""
    return np.asarray(levels).astype(np.float32) / LEVELS


def to_uint8(img: np.ndarray | torch.Tensor) -> np.ndarray:
    """(C, H, W) in [0, 1] -> (H, W, C) or (H, W) uint8 (what another network classifies)."""
    a = quantize_uint8(img)
    return a[0] if a.shape[0] == 1 else a.transpose(1, 2, 0)


def to_pil(img: np.ndarray | torch.Tensor, display_size: int | None = None) -> Image.Image:
    pil = Image.fromarray(to_uint8(img))
    if display_size and pil.width < display_size:
        pil = pil.resize((display_size, display_size), Image.NEAREST)
    return pil


def png_bytes(img: np.ndarray | torch.Tensor, meta: dict[str, str] | None = None,
              display_size: int | None = None) -> bytes:
    """PNG of a (C, H, W) pre-image; ``meta`` goes into tEXt chunks (e.g. the model label,
    so that a picture from a randomly initialised network says so); ``display_size``: as
    :func:`to_pil` (enlarged with nearest-neighbour)."""
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    for k, v in (meta or {}).items():
        info.add_text(str(k), str(v))
    buf = io.BytesIO()
    to_pil(img, display_size=display_size).save(buf, format="PNG", pnginfo=info)
    return buf.getvalue()


def gif_bytes(frames: list[np.ndarray], duration_ms: int = 80,
              display_size: int | None = None, comment: str | None = None) -> bytes:
    """An animated GIF of a trajectory of (C, H, W) frames (sizes may change per octave):
    every frame at the largest height (or ``display_size``), keeping its aspect (a strip of
    N square samples side by side is N heights wide)."""
    if not frames:
        raise VizError("no frames to write", field="gif")
    shapes = [np.asarray(f).shape[-2:] for f in frames]
    size = display_size or max(h for h, _ in shapes)
    width = max(round(size * w / h) for h, w in shapes)
    pils = [to_pil(f).convert("RGB").resize((width, size), Image.NEAREST) for f in frames]
    buf = io.BytesIO()
    extra = {"comment": comment.encode("utf-8")} if comment else {}
    pils[0].save(buf, format="GIF", save_all=True, append_images=pils[1:],
                 duration=duration_ms, loop=0, **extra)
    return buf.getvalue()
