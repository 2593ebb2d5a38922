"""Explicit weight downloads (``demons-viz models download NAME``): torchvision zoo
checkpoints into the torch hub cache, timm weights (safetensors) next to them. Nothing
else in the project downloads.

Each download is checked and atomic: bytes go to ``FILE.part``, the SHA-256 is checked
(torchvision: the hash prefix in the file name, as ``torch.hub`` does; timm: the hash the
Hugging Face server announces for the file, or ``sha256=``), and only then the file is
renamed into place, so an interrupted download (Ctrl-C, a lost connection) never leaves a
half-written checkpoint; the ``.part`` file resumes with an HTTP range request next time.
``DEMONS_VIZ_WEIGHTS_URL`` (or ``mirror=``) serves the same file names from a mirror.
"""

from __future__ import annotations

import hashlib
import os
import re
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from viz_core.errors import VizError

__all__ = ["MIRROR_ENV", "WeightsFile", "download", "weights_file"]

MIRROR_ENV = "DEMONS_VIZ_WEIGHTS_URL"
_HASH_IN_NAME = re.compile(r"-([a-f0-9]{6,})\.")
_CHUNK = 1 << 16


@dataclass(frozen=True)
class WeightsFile:
    """One downloadable checkpoint: its upstream URL, where it goes, its path on a mirror,
    and its SHA-256 (full or a prefix; None: announced by the server)."""

    name: str
    url: str
    dest: Path
    mirror_path: str
    sha256: str | None


def weights_file(name: str) -> WeightsFile:
    """The checkpoint ``demons-viz models download NAME`` fetches (torchvision zoo models
    and ``timm:NAME``)."""
    if name.startswith("timm:"):
        from viz_core.models.timm_source import timm_module, timm_weights_file

        short = name[len("timm:"):]
        timm = timm_module()
        if short not in timm.list_models():
            raise VizError(f"unknown timm model {short!r}", field="model")
        cfg = timm.models.get_pretrained_cfg(short)
        hub_id = getattr(cfg, "hf_hub_id", None) if cfg is not None else None
        if not hub_id:
            raise VizError(f"timm:{short} has no Hugging Face weights to download",
                           field="model")
        repo, _, revision = hub_id.partition("@")
        url = f"https://huggingface.co/{repo}/resolve/{revision or 'main'}/model.safetensors"
        return WeightsFile(name, url, timm_weights_file(short), f"timm/{short}.safetensors",
                           None)
    from viz_core.zoo import get_spec, torch_hub_checkpoint

    spec = get_spec(name)
    if spec.family == "offline":
        raise VizError(f"{name} ships with the project (assets/models); nothing to download",
                       field="model")
    dest, url = torch_hub_checkpoint(name)
    match = _HASH_IN_NAME.search(dest.name)
    return WeightsFile(name, url, dest, dest.name, match.group(1) if match else None)


class _KeepLinkedHash(urllib.request.HTTPRedirectHandler):
    """Remembers the ``X-Linked-Etag`` (the file's SHA-256 on Hugging Face) of a redirect."""

    def __init__(self) -> None:
        self.linked: str | None = None

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        self.linked = headers.get("X-Linked-Etag") or self.linked
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def _sha256(path: Path) -> hashlib._Hash:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h


def download(wf: WeightsFile, *, mirror: str | None = None, sha256: str | None = None,
             progress: Callable[[int, int | None], None] | None = None,
             timeout: float = 30.0) -> Path:
    """Fetch ``wf`` (resuming a ``.part`` file), check its hash, move it into place.
    ``progress(done, total)`` is called as bytes arrive. Returns the final path."""
    mirror = mirror if mirror is not None else os.environ.get(MIRROR_ENV)
    url = f"{mirror.rstrip('/')}/{wf.mirror_path}" if mirror else wf.url
    expected = (sha256 or wf.sha256 or "").lower() or None
    if wf.dest.is_file() and expected and _sha256(wf.dest).hexdigest().startswith(expected):
        return wf.dest
    wf.dest.parent.mkdir(parents=True, exist_ok=True)
    part = wf.dest.with_name(wf.dest.name + ".part")
    have = part.stat().st_size if part.is_file() else 0
    request = urllib.request.Request(url, headers={"User-Agent": "demons-viz"})
    if have:
        request.add_header("Range", f"bytes={have}-")
    keeper = _KeepLinkedHash()
    opener = urllib.request.build_opener(keeper)
    try:
        response = opener.open(request, timeout=timeout)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and have:  # the .part file is already complete
            response = None
        else:
            raise VizError(f"download of {wf.name} from {url} failed: HTTP {exc.code} "
                           f"{exc.reason}", field="download") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise VizError(f"cannot reach {url} ({reason}): offline? Download {wf.url} by hand "
                       f"and put it at {wf.dest}, or set {MIRROR_ENV} to a mirror",
                       field="download") from None
    announced = None
    if response is not None:
        with response:
            announced = (keeper.linked or response.headers.get("X-Linked-Etag") or "")
            announced = announced.strip('"').lower() or None
            if response.status != 206:
                have = 0  # the server ignored the range: start again
            length = response.headers.get("Content-Length")
            total = have + int(length) if length is not None else None
            done = have
            with open(part, "ab" if have else "wb") as out:
                if progress is not None:
                    progress(done, total)
                while True:
                    block = response.read(_CHUNK)
                    if not block:
                        break
                    out.write(block)
                    done += len(block)
                    if progress is not None:
                        progress(done, total)
                out.flush()
                os.fsync(out.fileno())
            if total is not None and done < total:
                raise VizError(f"download of {wf.name} stopped at {done} of {total} bytes; "
                               "run the command again to resume", field="download")
    expected = expected or announced
    if expected is None:
        raise VizError(f"no SHA-256 is known for {wf.name} (the server announced none); pass "
                       "the expected hash (sha256=)", field="download")
    got = _sha256(part).hexdigest()
    if not got.startswith(expected):
        part.unlink()
        raise VizError(f"refused {wf.name}: its SHA-256 {got[:16]}... does not match the "
                       f"expected {expected[:16]}...; the file was deleted", field="download")
    os.replace(part, wf.dest)  # atomic: the checkpoint appears only when complete
    return wf.dest
