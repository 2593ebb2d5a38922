"""Static figures of stored runs for reports, drawn with PIL (no plotting library): curves
over the steps (runs overlaid) and the kernels a run used, as weights and frequency
response (the filters of eq. 18, Sec. 2.2-2.4)."""

from __future__ import annotations

import io
import math
from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont

#: One colour per run (colour-blind safe, Okabe-Ito).
COLORS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")


def _font(size: int = 13):
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow without FreeType sizes
        return ImageFont.load_default()


def _png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def _ticks(lo: float, hi: float) -> list[float]:
    if hi <= lo:
        return [lo]
    step = 10 ** math.floor(math.log10((hi - lo) / 4))
    for m in (1, 2, 5, 10):
        if (hi - lo) / (step * m) <= 5:
            step *= m
            break
    first = math.ceil(lo / step) * step
    return [first + i * step for i in range(int((hi - first) / step) + 1)]


def line_chart(series: Sequence[tuple[str, Sequence[float], Sequence[float | None]]],
               title: str, xlabel: str = "step", size: tuple[int, int] = (640, 300)) -> bytes:
    """A PNG line chart: one (label, xs, ys) per run, gaps where a value is missing; the
    legend wraps onto more lines below the chart where the runs' labels need them."""
    w, h = size
    left, right, top = 70, 20, 30
    f = _font()
    places = _legend(ImageDraw.Draw(Image.new("RGB", (1, 1))), [s[0] for s in series], f,
                     left, w - right)
    extra = 16 * (places[-1][1] if places else 0)  # legend lines beyond the first
    bottom, h = 60 + extra, h + extra
    img = Image.new("RGB", (w, h), "white")
    d = ImageDraw.Draw(img)
    d.text((left, 8), title, fill="black", font=_font(15))
    pts = [(float(x), float(y)) for _, xs, ys in series for x, y in zip(xs, ys)
           if y is not None and math.isfinite(float(y))]
    d.rectangle([left, top, w - right, h - bottom], outline="#444444")
    if not pts:
        d.text((left + 10, top + 10), "no values", fill="#888888", font=f)
        return _png(img)
    x0, x1 = min(p[0] for p in pts), max(p[0] for p in pts)
    y0, y1 = min(p[1] for p in pts), max(p[1] for p in pts)
    if x1 == x0:
        x1 = x0 + 1
    if y1 == y0:
        y0, y1 = y0 - 0.5, y1 + 0.5

    def px(x: float, y: float) -> tuple[float, float]:
        return (left + (x - x0) / (x1 - x0) * (w - left - right),
                h - bottom - (y - y0) / (y1 - y0) * (h - top - bottom))

    for t in _ticks(y0, y1):
        _, yy = px(x0, t)
        d.line([left - 4, yy, left, yy], fill="#444444")
        d.text((4, yy - 7), f"{t:.3g}", fill="black", font=f)
    for t in _ticks(x0, x1):
        xx, _ = px(t, y0)
        d.line([xx, h - bottom, xx, h - bottom + 4], fill="#444444")
        label = f"{t:g}"
        tw = d.textlength(label, font=f)  # centred on its tick, inside the picture
        d.text((min(max(xx - tw / 2, 0), w - tw - 2), h - bottom + 6), label, fill="black",
               font=f)
    d.text(((w - left) // 2 + left - 15, h - bottom + 22), xlabel, fill="black", font=f)
    for i, (label, xs, ys) in enumerate(series):
        color = COLORS[i % len(COLORS)]
        seg: list[tuple[float, float]] = []
        for x, y in zip(xs, ys):
            if y is None or not math.isfinite(float(y)):
                if len(seg) > 1:
                    d.line(seg, fill=color, width=2)
                seg = []
                continue
            seg.append(px(float(x), float(y)))
        if len(seg) > 1:
            d.line(seg, fill=color, width=2)
        elif seg:
            d.ellipse([seg[0][0] - 2, seg[0][1] - 2, seg[0][0] + 2, seg[0][1] + 2], fill=color)
        lx, line = places[i]
        ly = h - bottom + 46 + 16 * line
        d.line([lx, ly, lx + 18, ly], fill=color, width=3)
        d.text((lx + 22, ly - 7), label, fill="black", font=f)
    return _png(img)


def _legend(d: ImageDraw.ImageDraw, labels: Sequence[str], font, left: int, right: int
            ) -> list[tuple[int, int]]:
    """Each legend entry's x and line: entries side by side, a new line where the next
    would pass ``right``."""
    out, x, line = [], left, 0
    for label in labels:
        width = 30 + int(d.textlength(label, font=font))
        if x > left and x + width - 8 > right:
            x, line = left, line + 1
        out.append((x, line))
        x += width
    return out


def _heat(a: np.ndarray, side: int) -> Image.Image:
    a = np.asarray(a, dtype=np.float64)
    lo, hi = float(a.min()), float(a.max())
    norm = (a - lo) / (hi - lo) if hi > lo else np.zeros_like(a)
    # a blue-white-red ramp: negative weights show as blue when the range crosses zero
    rgb = np.stack([np.clip(2 * norm, 0, 1), 1 - np.abs(2 * norm - 1) * 0.6,
                    np.clip(2 - 2 * norm, 0, 1)], -1)
    img = Image.fromarray((rgb * 255).astype(np.uint8))
    return img.resize((side, side), Image.NEAREST)


def kernel_figure(spec: dict, tau: float = 1.0, side: int = 150) -> bytes | None:
    """The kernel of a configuration slot (a KernelSpec dict): its weights and the
    magnitude of its frequency response side by side; None for no kernel."""
    if not spec:
        return None
    from viz_core.errors import VizError
    from viz_core.kernels import KernelSpec, build

    try:
        k = build(KernelSpec.from_dict(spec), tau)
    except (VizError, TypeError, KeyError, ValueError):
        return None
    img = Image.new("RGB", (2 * side + 30, side + 40), "white")
    d = ImageDraw.Draw(img)
    f = _font()
    if k.weights is not None:
        img.paste(_heat(k.weights.double().numpy() * k.scale, side), (10, 28))
        d.text((10, 6), f"weights {k.size}x{k.size}", fill="black", font=f)
    else:
        d.text((10, 6), "spectral (no weights)", fill="black", font=f)
    img.paste(_heat(k.frequency_response(64), side), (side + 20, 28))
    d.text((side + 20, 6), "|H(f)|", fill="black", font=f)
    return _png(img)
