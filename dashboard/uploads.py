"""What an uploaded run file may be before it is parsed: a size limit, a JSON depth and size
limit, and a PNG's run settings read from its text chunks without decoding a pixel (a
30000 x 30000 PNG is a decompression bomb for an image decoder, not for this reader).
Every failure is a :class:`VizError` whose message the page shows next to the uploader.

No Streamlit here."""

from __future__ import annotations

import struct
import zlib

from viz_core.errors import VizError

#: Largest run file (JSON or PNG) the restore uploader reads.
MAX_UPLOAD_BYTES = 20_000_000
#: Largest run JSON (a real one is a few kB) and its deepest nesting (a real one: 3).
MAX_JSON_BYTES = 1_000_000
MAX_JSON_DEPTH = 32
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def check_size(data: bytes, limit: int = MAX_UPLOAD_BYTES) -> bytes:
    if len(data) > limit:
        raise VizError(f"the file has {len(data):,} bytes, more than the {limit:,} a run file "
                       "may have", field="json")
    return data


def check_json_text(text: str, max_bytes: int = MAX_JSON_BYTES,
                    max_depth: int = MAX_JSON_DEPTH) -> str:
    """``text`` when it is at most ``max_bytes`` long and nested at most ``max_depth``
    deep (counted without parsing, outside strings), else a VizError."""
    if len(text) > max_bytes:
        raise VizError(f"the run JSON has {len(text):,} characters, more than the "
                       f"{max_bytes:,} allowed", field="json")
    depth, in_string, escaped = 0, False, False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            if depth > max_depth:
                raise VizError(f"the run JSON is nested more than {max_depth} levels deep",
                               field="json")
        elif ch in "]}":
            depth -= 1
    return text


def _inflate(data: bytes, limit: int) -> bytes:
    d = zlib.decompressobj()
    try:
        out = d.decompress(data, limit + 1)
    except zlib.error:
        raise VizError("the PNG's settings chunk does not decompress", field="json") from None
    if len(out) > limit:
        raise VizError("the PNG's settings chunk is too large", field="json")
    return out


def png_text(data: bytes, key: str, limit: int = MAX_JSON_BYTES) -> str | None:
    """The text chunk ``key`` of a PNG (tEXt, zTXt or iTXt), read chunk by chunk without
    decoding the image; None when the PNG has no such chunk."""
    if not data.startswith(PNG_SIGNATURE):
        raise VizError("the file is not a PNG image", field="json")
    pos, want = len(PNG_SIGNATURE), key.encode("latin-1")
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if len(body) < length:
            raise VizError("the PNG is truncated", field="json")
        pos += 12 + length
        if kind == b"IEND":
            break
        if kind not in (b"tEXt", b"zTXt", b"iTXt"):
            continue
        name, _, rest = body.partition(b"\0")
        if name != want:
            continue
        if kind == b"tEXt":
            raw, enc = rest, "latin-1"
        elif kind == b"zTXt":
            raw, enc = _inflate(rest[1:], limit), "latin-1"
        else:  # iTXt: compression flag, method, language\0, translated keyword\0, text
            if len(rest) < 2:
                raise VizError("the PNG's settings chunk is malformed", field="json")
            flag, tail = rest[0], rest[2:]
            parts = tail.split(b"\0", 2)
            if len(parts) < 3:
                raise VizError("the PNG's settings chunk is malformed", field="json")
            raw = _inflate(parts[2], limit) if flag else parts[2]
            enc = "utf-8"
        if len(raw) > limit:
            raise VizError("the PNG's settings chunk is too large", field="json")
        try:
            return raw.decode(enc)
        except UnicodeDecodeError:
            raise VizError("the PNG's settings chunk is not text", field="json") from None
    return None
