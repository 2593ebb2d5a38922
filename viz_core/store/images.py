"""Pictures of a stored run: the History table's thumbnails and data URIs for reports."""

from __future__ import annotations

import base64
import io

from PIL import Image

THUMB_SIDE = 64


def thumbnail(png: bytes, side: int = THUMB_SIDE) -> bytes:
    """A PNG at most ``side`` pixels wide and high (nearest neighbour: pre-images are small
    and their pixels are the point)."""
    img = Image.open(io.BytesIO(png))
    img.load()
    scale = side / max(img.size)
    size = (max(1, round(img.width * scale)), max(1, round(img.height * scale)))
    buf = io.BytesIO()
    img.resize(size, Image.NEAREST if scale >= 1 else Image.LANCZOS).save(buf, format="PNG")
    return buf.getvalue()


def data_uri(data: bytes, mime: str = "image/png") -> str:
    """``data:image/png;base64,...`` (what a self-contained HTML report embeds)."""
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"
