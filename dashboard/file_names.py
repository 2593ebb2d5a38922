"""File names for the dashboard's downloads: the parts of a run's name (model, target,
scheme) made safe on every system, in any script."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["MAX_STEM_BYTES", "file_stem", "sweep_file_stem"]


#: Names Windows keeps for devices, whatever the extension ("con.png" cannot be saved).
_RESERVED_STEMS = frozenset({"con", "prn", "aux", "nul", *(f"com{i}" for i in range(10)),
                             *(f"lpt{i}" for i in range(10))})
#: The longest stem in UTF-8 bytes (a download's, a saved program's): with an extension
#: and a browser's " (12)" it stays under the 255 bytes of a file name on Linux, macOS and
#: Windows alike.
MAX_STEM_BYTES = 200


def file_stem(parts: Sequence[str], limit: int = 40) -> str:
    """File-name parts joined by ``_``, lower case, each at most ``limit`` characters and
    its share of :data:`MAX_STEM_BYTES` bytes (UTF-8); "demons-preimage" when nothing is left.
    Letters and digits of every script are kept (a model or class named in Chinese or
    Cyrillic stays in the name: browsers save an RFC 5987 name as sent), after NFKC; a
    Latin letter loses its accent (é -> e); every other character (``/ \\ : * ? " < > |``,
    dots, spaces, control characters) becomes ``-``, and no part starts or ends with one.
    A part of only symbols (an emoji) is a short stable hash instead of nothing; a stem
    that Windows reserves (``con``) gets a ``_``.

    >>> file_stem(["fmnist_resnet_robust", "Trouser", "fluid-elastic-sobolev"])
    'fmnist_resnet_robust_trouser_fluid-elastic-sobolev'
    >>> file_stem(["timm:convnext", "T-shirt/top", "Été 模型"])
    'timm-convnext_t-shirt-top_ete-模型'
    >>> file_stem(["Ёлка", "../★★", "CON"])
    'ёлка_xf8baad_con'
    """
    import hashlib
    import re
    import unicodedata

    def letter(c: str) -> str:
        base = unicodedata.normalize("NFKD", c)[:1]  # é -> e; 模 and ё stay themselves
        return base if base.isascii() and base.isalnum() else c

    texts = [t for t in (unicodedata.normalize("NFKC", str(p)).lower().strip()
                         for p in parts) if t]
    budget = (MAX_STEM_BYTES + 1) // max(len(texts), 1) - 1  # bytes a part, "_" between
    out = []
    for text in texts:
        kept = "".join(letter(c) if c.isalnum() or c == "_" else
                       c if unicodedata.category(c).startswith("M") else "-" for c in text)
        a = re.sub(r"-+", "-", kept).strip("-_")
        if not a:  # symbols only: a stable hash, not nothing
            a = "x" + hashlib.sha256(text.encode(errors="surrogatepass")).hexdigest()[:6]
        a = a[:limit].strip("-_")
        while len(a.encode()) > budget:
            a = a[:-1].rstrip("-_")
        out.append(a)
    stem = "_".join(filter(None, out)) or "demons-preimage"
    return f"{stem}_" if stem in _RESERVED_STEMS else stem


def sweep_file_stem(model: str, axes: Sequence[str]) -> str:
    """The stem of a sweep's downloads (montage, table, folder): ``sweep``, the model and
    the axes, through :func:`file_stem`.

    >>> sweep_file_stem("fmnist_resnet_robust", ["kernel_size", "step_size"])
    'sweep_fmnist_resnet_robust_kernel_size-x-step_size'
    """
    return file_stem(["sweep", model, "-x-".join(axes)])
