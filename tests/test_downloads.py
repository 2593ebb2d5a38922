"""Explicit weight downloads against a local HTTP server on 127.0.0.1: progress, hash
refusal, atomic write and resume after a killed download, the offline message."""

from __future__ import annotations

import hashlib
import io
import os
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import torch

from viz_core.errors import VizError
from viz_core.models.downloads import WeightsFile, download

ROOT = Path(__file__).resolve().parents[1]
RESNET18 = "resnet18-f37072fd.pth"  # torchvision's file name: the hash prefix is f37072fd


def checkpoint_bytes(n: int = 120_000) -> bytes:
    """A generated state_dict (about 0.5 MB), as torch.save writes it."""
    buf = io.BytesIO()
    g = torch.Generator().manual_seed(0)
    torch.save({"w": torch.randn(n, generator=g)}, buf)
    return buf.getvalue()


class Server:
    """Serves ``files`` with HTTP ranges; ``delay`` seconds between 8 kB chunks; with
    ``hold_after`` set, a response slows to a byte every 50 ms after that many bytes until
    ``gate`` is set, then ends: a download caught midway whatever the machine's load, whose
    reads still return now and then (a Ctrl-C that the kernel hands to another thread of
    the client is seen by its main thread at its next read)."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.headers: dict[str, dict[str, str]] = {}
        self.delay = 0.0
        self.hold_after: int | None = None
        self.gate = threading.Event()
        self.requests: list[tuple[str, str | None]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_GET(self):
                path = self.path.lstrip("/")
                rng = self.headers.get("Range")
                outer.requests.append((path, rng))
                if path.startswith("redirect/"):
                    self.send_response(302)
                    self.send_header("Location", "/" + path[len("redirect/"):])
                    for k, v in outer.headers.get(path, {}).items():
                        self.send_header(k, v)
                    self.end_headers()
                    return
                if path not in outer.files:
                    self.send_error(404)
                    return
                data = outer.files[path]
                start = int(rng[len("bytes="):].rstrip("-")) if rng else 0
                self.send_response(206 if rng else 200)
                if rng:
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                self.send_header("Content-Length", str(len(data) - start))
                self.end_headers()
                for i in range(start, len(data), 8192):
                    if outer.hold_after is not None and i - start >= outer.hold_after:
                        for j in range(i, min(i + 2400, len(data))):  # at most 2 minutes
                            if outer.gate.wait(0.05) or not self._send(data[j:j + 1]):
                                return
                        return
                    if not self._send(data[i:i + 8192]):
                        return
                    if outer.delay:
                        time.sleep(outer.delay)

            def _send(self, block: bytes) -> bool:
                """Write ``block``; False once the client has gone."""
                try:
                    self.wfile.write(block)
                    self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    return False
                return True

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    s = Server()
    yield s
    s.close()


def cli_env(tmp_path: Path, mirror: str) -> dict:
    return {**os.environ, "PYTHONPATH": str(ROOT), "TORCH_HOME": str(tmp_path / "torch"),
            "DEMONS_VIZ_WEIGHTS_URL": mirror}


def cli(*args: str, env: dict, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "viz_core", "models", "download", *args],
                          capture_output=True, text=True, env=env, **kw)


def test_download_reports_progress_and_checks_the_hash(server, tmp_path):
    data = checkpoint_bytes()
    sha = hashlib.sha256(data).hexdigest()
    server.files["demo.pth"] = data
    dest = tmp_path / "ckpt" / f"demo-{sha[:8]}.pth"
    wf = WeightsFile("demo", "https://example.invalid/demo.pth", dest, "demo.pth", sha[:8])
    seen: list[tuple[int, int | None]] = []
    path = download(wf, mirror=server.url, progress=lambda d, t: seen.append((d, t)))
    assert path == dest and dest.read_bytes() == data
    assert not dest.with_name(dest.name + ".part").exists()
    assert seen[0] == (0, len(data)) and seen[-1] == (len(data), len(data))
    assert [d for d, _ in seen] == sorted(d for d, _ in seen) and len(seen) > 5
    assert torch.load(dest, weights_only=True)["w"].shape == (120_000,)
    n = len(server.requests)
    download(wf, mirror=server.url)  # already there and intact: no request
    assert len(server.requests) == n


def test_bad_hash_is_refused_and_nothing_is_left(server, tmp_path):
    server.files[RESNET18] = checkpoint_bytes()  # not torchvision's resnet18
    r = cli("resnet18", "--quiet", env=cli_env(tmp_path, server.url))
    assert r.returncode == 2 and r.stderr.count("\n") == 1, r.stderr
    assert "refused resnet18" in r.stderr and "does not match the expected f37072fd" in r.stderr
    folder = tmp_path / "torch" / "hub" / "checkpoints"
    assert list(folder.iterdir()) == []
    wf = WeightsFile("demo", "u", tmp_path / "x.pth", RESNET18, "00ff")
    with pytest.raises(VizError, match="does not match"):
        download(wf, mirror=server.url)


def test_killed_download_leaves_no_checkpoint_and_resumes(server, tmp_path):
    data = checkpoint_bytes()
    sha = hashlib.sha256(data).hexdigest()
    server.files[RESNET18] = data
    server.hold_after = 65_536  # the rest waits: the download is caught midway
    env = cli_env(tmp_path, server.url)
    dest = tmp_path / "torch" / "hub" / "checkpoints" / RESNET18
    part = dest.with_name(dest.name + ".part")
    # Ctrl-C's default action in the client even where the test itself runs with SIGINT
    # ignored (a shell's background job: `bash .ci/run &`), which its children inherit
    proc = subprocess.Popen([sys.executable, "-m", "viz_core", "models", "download",
                             "resnet18", "--sha256", sha, "--quiet"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 120
    while not (part.is_file() and part.stat().st_size > 60_000):
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)  # Ctrl-C
    _, err = proc.communicate(timeout=60)
    server.gate.set()  # the held response ends (nobody reads it any more)
    assert proc.returncode == 130 and "interrupted" in err, (proc.returncode, err)
    assert not dest.exists()  # never a half-written checkpoint
    kept = part.stat().st_size
    assert 60_000 <= kept < len(data)
    server.hold_after = None
    r = cli("resnet18", "--sha256", sha, env=env)
    assert r.returncode == 0, r.stderr
    assert server.requests[-1] == (RESNET18, f"bytes={kept}-")  # resumed, not restarted
    assert dest.read_bytes() == data and not part.exists()
    assert "100%" in r.stderr  # the progress bar ran to the end


def test_offline_is_one_line_naming_the_manual_recipe(tmp_path):
    r = cli("resnet18", env=cli_env(tmp_path, "http://127.0.0.1:9"))
    assert r.returncode == 2 and r.stderr.count("\n") == 1, r.stderr
    for words in ("cannot reach", "offline?", "download.pytorch.org/models/" + RESNET18,
                  str(tmp_path / "torch" / "hub" / "checkpoints" / RESNET18)):
        assert words in r.stderr, (words, r.stderr)
    assert "Traceback" not in r.stderr


def test_bundled_and_unknown_models_say_why(tmp_path):
    env = cli_env(tmp_path, "http://127.0.0.1:9")
    r = cli("fmnist_vgg", env=env)
    assert r.returncode == 2 and "ships with the project" in r.stderr
    r = cli("vgg91", env=env)
    assert r.returncode == 2 and "Did you mean vgg19" in r.stderr


def test_server_announced_hash_after_a_redirect(server, tmp_path):
    data = checkpoint_bytes(1000)
    sha = hashlib.sha256(data).hexdigest()
    server.files["blob"] = data
    server.headers["redirect/blob"] = {"X-Linked-Etag": f'"{sha}"'}
    wf = WeightsFile("t", "u", tmp_path / "t.safetensors", "redirect/blob", None)
    assert download(wf, mirror=server.url).read_bytes() == data
    server.headers["redirect/blob"] = {"X-Linked-Etag": '"' + "0" * 64 + '"'}
    wf = WeightsFile("t", "u", tmp_path / "u.safetensors", "redirect/blob", None)
    with pytest.raises(VizError, match="does not match"):
        download(wf, mirror=server.url)
    server.headers["redirect/blob"] = {}
    with pytest.raises(VizError, match="no SHA-256 is known"):
        download(wf, mirror=server.url)
