"""``.pt2`` programs uploaded to the dashboard: where the server keeps them, and which model
names may point at one.

An upload is written once per content to ``<temp>/demons-viz-uploads/<hash>/<name>.pt2``
(:func:`save_program`); that path is the model's name in the session and in runs, and its
``<name>`` the one the user gave, in any script (:func:`program_stem`), so that the model
box, the History and the captions show it (:func:`program_label`). A model
name that comes from outside (a link, a restored run JSON) and looks like a program is
accepted only when it resolves inside that folder and the file is there
(:func:`uploaded_program`): a link cannot make the server load any other file on its disk.
A link carries the path-free token ``upload:<hash>/<name>.pt2`` (:func:`program_token`,
:func:`program_from_token`), so the server's folders do not appear in the URL; so do the run
JSONs the dashboard writes (downloads, the run history: :func:`public_config_json`), which
the dashboard restores while the file is in its upload folder. Class names given with an
upload (:func:`class_names_text`) are written beside it, ``<name>.classes.txt``, where the
loader reads them (as the CLI's ``--classes FILE``), so the verdicts name the classes.

No Streamlit here.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import unicodedata
from collections.abc import Sequence
from pathlib import Path, PurePath

from dashboard.file_names import MAX_STEM_BYTES
from viz_core.errors import VizError
from viz_core.models import UPLOAD_PREFIX
from viz_core.models.file_source import classes_path, parse_class_names

#: Prefix of an uploaded program's name in a link and a run JSON.
TOKEN_PREFIX = UPLOAD_PREFIX
_TOKEN = re.compile(r"^upload:([0-9a-f]{16})/([^/\\]{1,64}\.pt2)$")
#: ASCII characters an upload's file name keeps (others become "_", as do other spaces);
#: letters, digits and symbols of other scripts stay, invisible marks go.
_ASCII_KEPT = re.compile(r"[A-Za-z0-9_.-]")
#: The longest stem of a saved program, in characters (in UTF-8 bytes: the downloads'
#: :data:`dashboard.file_names.MAX_STEM_BYTES`; file systems limit a name to 255 bytes).
MAX_STEM_CHARS = 60
#: What the dashboard says when a link or a run names a program it cannot open.
NOT_HERE = ("an uploaded program is available only on the server it was uploaded to, while "
            "that server keeps the file: upload it again")


def upload_dir() -> Path:
    """The folder uploaded programs are written to (under the server's temp folder)."""
    return Path(tempfile.gettempdir()) / "demons-viz-uploads"


def _kept(ch: str) -> str:
    if ch.isascii():
        return ch if _ASCII_KEPT.match(ch) else "_"
    if ch.isspace():
        return "_"
    return ch if ch.isprintable() else ""  # no invisible control or format (bidi) mark


def program_stem(filename: str) -> str:
    """The stem an uploaded program is saved under: the file name as the user gave it
    (NFC; ``réseau_été``, ``模型``), without its folders and its suffix, ASCII punctuation
    and spaces other than ``_ . -`` as ``_``, no control or format character, at most
    :data:`MAX_STEM_CHARS` characters and :data:`MAX_STEM_BYTES` bytes; "program" when
    nothing is left.

    >>> program_stem("réseau_été.pt2"), program_stem("模型.pt2"), program_stem("my net.pt2")
    ('réseau_été', '模型', 'my_net')
    >>> program_stem("../a b/..pt2"), program_stem(chr(0x202E) + "gnp.pt2")
    ('program', 'gnp')
    """
    name = re.split(r"[/\\]", unicodedata.normalize("NFC", str(filename)))[-1]
    stem = "".join(_kept(c) for c in PurePath(name).stem)[:MAX_STEM_CHARS]
    while len(stem.encode("utf-8", "replace")) > MAX_STEM_BYTES:
        stem = stem[:-1]
    return stem.strip(".") or "program"


def _write_once(path: Path, data: bytes) -> None:
    """``data`` at ``path`` unless it is there: written beside it, then renamed (a reader
    never sees half a file)."""
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        part = path.with_name(path.name + ".part")
        part.write_bytes(data)
        part.replace(path)


#: The most class names an upload's text box passes on, and the longest name kept.
MAX_CLASSES, MAX_CLASS_CHARS = 10_000, 200


def class_names_text(text: str | None) -> list[str] | None:
    """The class names typed with an upload (one per line, or one line separated by
    commas, as :func:`viz_core.models.file_source.parse_class_names` reads them), each
    without control characters and at most :data:`MAX_CLASS_CHARS` long; None when there
    are none. Too many is a VizError.

    >>> class_names_text("Apple\\nBanana\\n"), class_names_text(" Apple, Banana ")
    (['Apple', 'Banana'], ['Apple', 'Banana'])
    >>> class_names_text("  ") is None
    True
    """
    names = [("".join(c for c in n if c.isprintable())).strip()[:MAX_CLASS_CHARS]
             for n in parse_class_names(text or "")]
    names = [n for n in names if n]
    if len(names) > MAX_CLASSES:
        raise VizError(f"{len(names):,} class names: at most {MAX_CLASSES:,} (more: list the "
                       "network in demons-viz.toml with a classes_file)", field="classes")
    return names or None


def save_program(data: bytes, filename: str, root: str | os.PathLike | None = None,
                 classes: Sequence[str] | None = None) -> str:
    """An uploaded ``.pt2`` program written once per content under ``root`` (default:
    :func:`upload_dir`), named :func:`program_stem` of ``filename``; returns its path (the
    model's name in runs). ``classes``: the names of its logits, written beside it as the
    loader reads them (``<name>.classes.txt``, one per line, as ``--classes FILE``); the
    folder's hash covers them, so other names are another model, not a changed one."""
    base = Path(root) if root is not None else upload_dir()
    names = [" ".join(str(c).split()) for c in classes or () if str(c).strip()]
    digest = hashlib.sha256(data)
    if names:
        digest.update(b"\0classes\0" + "\n".join(names).encode("utf-8"))
    path = base / digest.hexdigest()[:16] / f"{program_stem(filename)}.pt2"
    if names:
        _write_once(classes_path(path), ("\n".join(names) + "\n").encode("utf-8"))
    _write_once(path, data)
    return str(path)


def is_program_name(name: object) -> bool:
    """Whether a model name means a program file (a path or a link's token), as opposed to
    a zoo, team or import-string name."""
    if not isinstance(name, str):
        return False
    return (name.startswith(TOKEN_PREFIX) or name.endswith(".pt2") or "/" in name
            or os.sep in name)


def uploaded_program(name: str, root: str | os.PathLike | None = None) -> str | None:
    """The server path of the uploaded program ``name`` names (a path or a link's token),
    or None when it does not resolve to an existing ``.pt2`` file inside ``root`` (default:
    :func:`upload_dir`), ``..`` and symbolic links followed."""
    base = Path(root) if root is not None else upload_dir()
    name = program_from_token(name, base)
    try:
        real_base = base.resolve()
        rel = Path(name).resolve().relative_to(real_base)
    except (OSError, ValueError, RuntimeError):
        return None
    path = base / rel
    if len(rel.parts) != 2 or path.suffix != ".pt2" or not (real_base / rel).is_file():
        return None
    return str(path)


def program_token(name: str, root: str | os.PathLike | None = None) -> str:
    """``upload:<hash>/<name>.pt2`` for an uploaded program's path (what a link shows);
    any other name unchanged."""
    path = uploaded_program(name, root) if is_program_name(name) else None
    if path is None:
        return name
    return TOKEN_PREFIX + Path(path).parent.name + "/" + Path(path).name


def program_from_token(value: str, root: str | os.PathLike | None = None) -> str:
    """The server path a link's ``upload:<hash>/<name>.pt2`` stands for (whether or not the
    file is there: :func:`uploaded_program` checks), ``<name>`` a name :func:`save_program`
    writes; any other value unchanged."""
    m = _TOKEN.match(value)
    if m is None or f"{program_stem(m.group(2))}.pt2" != m.group(2):
        return value
    base = Path(root) if root is not None else upload_dir()
    return str(base / m.group(1) / m.group(2))


def public_config_json(config) -> str:
    """A :class:`~viz_core.config.RunConfig`'s JSON as the dashboard writes it for others to
    read (a download, the run history): an uploaded program named by its token, not by
    the server's path."""
    import dataclasses

    if not is_program_name(config.model):
        return config.to_json()
    extra = dict(config.extra)
    if isinstance(extra.get("ui"), dict) and "model" in extra["ui"]:  # the page's controls
        extra["ui"] = {**extra["ui"], "model": program_token(str(extra["ui"].get("model")))}
    return dataclasses.replace(config, model=program_token(config.model), extra=extra).to_json()


def program_label(model: str, label: str) -> str:
    """A loaded model's ``label`` as a user reads it: for an uploaded program, its file name
    as the user gave it (:func:`program_stem`) in place of the ASCII key the loader names
    it by (``r_seau__t_ (exported program)`` -> ``réseau_été (exported program)``); any
    other label unchanged.

    >>> program_label("upload:0123456789abcdef/模型.pt2", "__ (exported program)")
    '模型 (exported program)'
    >>> program_label("fmnist_vgg", "fmnist_vgg (offline)")
    'fmnist_vgg (offline)'
    """
    if not isinstance(model, str) or not is_program_name(model):
        return label
    stem = PurePath(program_from_token(model).replace("\\", "/")).stem
    key = re.sub(r"[^A-Za-z0-9_.-]", "_", stem)  # the loader's name of the program
    if stem == key or not label.startswith(key):
        return label
    rest = label[len(key):]
    return stem + rest if not rest or rest.startswith(" ") else label


def program_words(model: str) -> str:
    """An uploaded program as the model box names it, never by the server's path: its file
    name and the start of its upload's hash; another program file by its file name.

    >>> program_words("/tmp/x/1fb1b6a8eb27a170/ok3.pt2"), program_words("/srv/a.pt2")
    ('ok3.pt2 (uploaded program 1fb1b6)', 'a.pt2')
    """
    if not isinstance(model, str) or not is_program_name(model):
        return model
    path = PurePath(program_from_token(model).replace("\\", "/"))
    if re.fullmatch(r"[0-9a-f]{16}", path.parent.name):  # an upload's folder: its hash
        return f"{path.name} (uploaded program {path.parent.name[:6]})"
    return path.name
