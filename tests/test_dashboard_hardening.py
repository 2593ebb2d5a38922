"""Dashboard hardening (issue 21): hostile uploads to the restore uploader become a message
next to it (decompression bombs, deep or huge JSON, undecodable text chunks), user text is
escaped before Markdown, and the restore notice says the same for existing and missing
server paths."""

from __future__ import annotations

import re
import struct
import zlib
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from dashboard.runs import PNG_RUN_KEY, run_json_from_png
from dashboard.settings.playground import settings_from_json
from dashboard.text import ZWSP, plain
from dashboard.uploads import MAX_JSON_DEPTH, check_json_text, png_text
from viz_core.config import RunConfig
from viz_core.errors import VizError

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")
PG = "pages/1_Playground.py"
INJECTION = ("**Session expired** [click here](http://127.0.0.1:8651/phish) "
             "![p](http://127.0.0.1:8651/px2.png) <img src=x onerror=alert(1)> "
             "http://127.0.0.1:8651/bare :red[red] $x^2$")


def _chunk(kind: bytes, body: bytes) -> bytes:
    return (struct.pack(">I", len(body)) + kind + body
            + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))


def _png(width: int, height: int, *chunks: bytes) -> bytes:
    """A 1-bit PNG of ``width`` x ``height`` zeros (a few hundred kB for 30000 x 30000)
    with ``chunks`` before its image data."""
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    row = b"\0" * (1 + (width + 7) // 8)
    z = zlib.compressobj(9)
    idat = b"".join(z.compress(row) for _ in range(height)) + z.flush()
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + b"".join(chunks)
            + _chunk(b"IDAT", idat) + _chunk(b"IEND", b""))


RUN_JSON = RunConfig(model="fmnist_vgg", target=4, steps=7, seed=3).to_json()
DEEP = "[" * 200_000 + "]" * 200_000
BOMB = _png(30000, 30000)


# ----------------------------------------------------------------- the readers

def test_a_decompression_bomb_png_is_read_without_decoding_a_pixel():
    with pytest.raises(VizError, match="carries no run settings"):
        run_json_from_png(BOMB)
    bomb = _png(30000, 30000, _chunk(b"tEXt", PNG_RUN_KEY.encode() + b"\0" + RUN_JSON.encode()))
    assert run_json_from_png(bomb) == RUN_JSON


@pytest.mark.parametrize("chunk, says", [
    (_chunk(b"tEXt", PNG_RUN_KEY.encode() + b"\0" + DEEP.encode()), "nested more than"),
    (_chunk(b"zTXt", PNG_RUN_KEY.encode() + b"\0\0" + b"not zlib"), "does not decompress"),
    (_chunk(b"zTXt", PNG_RUN_KEY.encode() + b"\0\0" + zlib.compress(b"x" * 5_000_000)),
     "too large"),
    (_chunk(b"iTXt", PNG_RUN_KEY.encode() + b"\0\0\0\0\0" + b"\xff\xfe\xfa"), "not text"),
    (_chunk(b"iTXt", PNG_RUN_KEY.encode() + b"\0\1"), "malformed"),
])
def test_hostile_text_chunks_are_messages(chunk, says):
    with pytest.raises(VizError, match=says):
        settings_from_json(run_json_from_png(_png(8, 8, chunk)))


def test_truncated_and_non_png_files_are_messages():
    good = _png(8, 8, _chunk(b"tEXt", PNG_RUN_KEY.encode() + b"\0" + RUN_JSON.encode()))
    with pytest.raises(VizError, match="truncated"):
        png_text(good[:60], PNG_RUN_KEY)
    with pytest.raises(VizError, match="not a PNG"):
        png_text(b"GIF89a", PNG_RUN_KEY)


def test_json_depth_and_size_limits():
    assert check_json_text(RUN_JSON) == RUN_JSON
    assert check_json_text('{"a": "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["}')  # in a string
    with pytest.raises(VizError, match=f"more than {MAX_JSON_DEPTH} levels"):
        settings_from_json(DEEP)
    with pytest.raises(VizError, match="characters, more than"):
        settings_from_json('{"model": "' + "x" * 2_000_000 + '"}')


def test_the_restore_notice_is_the_same_for_existing_and_missing_paths(tmp_path):
    real = tmp_path / "secret.png"
    real.write_bytes(b"x")
    notes = []
    for path in (str(real), str(tmp_path / "nowhere" / "secret.png")):
        cfg = RunConfig(model="fmnist_vgg", task="inversion", layer="block2", image=path)
        _, n = settings_from_json(cfg.to_json())
        notes.append([x for x in n if "secret.png" in x])
    assert notes[0] == notes[1] and len(notes[0]) == 1
    assert str(tmp_path) not in notes[0][0]


# ----------------------------------------------------------------- text as text

def _bare(markdown: str, chars: str = r"[\[\]()!<>*]") -> list[str]:
    """The characters of ``chars`` that ``markdown`` does not escape with a backslash."""
    tokens = re.findall(r"\\.|.", markdown, re.S)  # an escape pair, or one character
    return [t for t in tokens if len(t) == 1 and re.fullmatch(chars, t)]


def test_plain_escapes_every_markdown_and_html_construct():
    out = plain(INJECTION)
    assert _bare(out, r"[!-/:-@\[-`{-~]") == []  # every * [ ] ( ) ! < > : / $ is escaped
    # nothing lost: only escapes and zero-width spaces (which break autolinks) are added
    assert re.sub(r"\\(.)", r"\1", out).replace(ZWSP, "") == INJECTION
    assert ":" + ZWSP + "\\/\\/127" in out


# ----------------------------------------------------------------- the page

def _playground(**params) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params.update({"weights": "random", **params})
    at.run()
    at.switch_page(PG).run()
    return at


@pytest.mark.parametrize("name, data, says", [
    ("bomb.png", BOMB, "carries no run settings"),
    ("deep.png", _png(8, 8, _chunk(b"tEXt", PNG_RUN_KEY.encode() + b"\0" + DEEP.encode())),
     "nested more than"),
    ("deep.json", DEEP.encode(), "nested more than"),
    ("latin.json", b"\xff\xfe{}", "not UTF-8"),
    ("huge.json", b" " * 21_000_000, "more than the"),
])
def test_hostile_uploads_are_a_message_next_to_the_uploader(name, data, says):
    at = _playground()
    at.file_uploader(key="pg_json_file").upload(name, data, "application/octet-stream").run()
    assert not at.exception, [e.value for e in at.exception]
    texts = [re.sub(r"\\(.)", r"\1", e.value) for e in at.sidebar.error]
    assert any(says in t for t in texts), texts


def test_url_text_reaches_toasts_and_error_boxes_escaped():
    at = _playground(layer=INJECTION, octaves_on="1", octaves=INJECTION)
    assert not at.exception
    bodies = ([t.value for t in at.toast] + [e.value for e in at.error]
              + [w.value for w in at.warning])
    assert any("Session expired" in b for b in bodies), bodies
    for b in bodies:
        assert _bare(b) == [], b  # no link, image, emphasis or HTML syntax left bare
