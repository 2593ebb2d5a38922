"""The Ray executor: same table as the local executor (sweeps and Table 1), a worker killed
mid-task is retried by Ray, a generic map for other work; its faults (issue 21): exhausted
retries, worker errors, an address where nothing (or no Ray) listens, a dead raylet. One
local Ray with 2 CPUs for the in-process tests; the CLI tests run their own processes."""

from __future__ import annotations

import math
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from viz_core.config import RunConfig
from viz_core.evaluation import protocol as pr
from viz_core.kernels import KernelSpec
from viz_core.sweeps import Axis, Sweep, run_sweep
from viz_core.sweeps.executors import RayExecutor, start_local_ray

ray = pytest.importorskip("ray", reason='the Ray tests need pip install -e ".[distributed]"')
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def local_ray():
    start_local_ray(2)
    yield RayExecutor()
    ray.shutdown()


@pytest.fixture
def one_thread():
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


def _sweep(**kw) -> Sweep:
    base = RunConfig(model="fmnist_vgg", task="am", target=2, steps=5, device="cpu",
                     elastic=KernelSpec("sobolev", None, 11))
    return Sweep(base, [Axis.parse("gamma=0.1,0.4"), Axis.parse("seed=0,1")],
                 batch_size=2, **kw)


def _rows(store) -> list[dict]:
    return [{k: v for k, v in r.items() if k != "seconds"} for r in store.rows()]


def test_ray_table_equals_local(tmp_path, local_ray, one_thread):
    assert local_ray.num_cpus == 1 and local_ray.num_gpus == 0  # no GPU here: CPUs
    sw = _sweep()
    local = _rows(run_sweep(sw, tmp_path / "local", "local", threads=1))
    remote = _rows(run_sweep(sw, tmp_path / "ray", local_ray, threads=1))
    assert [r["cell_id"] for r in remote] == [r["cell_id"] for r in local]
    assert len(local) == 4
    for a, b in zip(local, remote):
        assert a.keys() == b.keys()
        for k in a:
            if isinstance(a[k], float):
                assert math.isclose(a[k], b[k], rel_tol=1e-6, abs_tol=1e-9), k
            else:
                assert a[k] == b[k], k


def test_a_killed_worker_is_retried_and_the_sweep_completes(tmp_path, local_ray,
                                                            one_thread):
    marker = tmp_path / "died-once"
    store = run_sweep(_sweep(judge="none"), tmp_path / "retry", local_ray, threads=1,
                      fail_marker=str(marker))
    assert marker.is_file()  # the first task's first attempt killed its worker
    died = int(marker.read_text())
    rows = store.rows()
    assert len(rows) == 4 and all(r["objective"] is not None for r in rows)
    assert died != os.getpid()


def test_generic_map_runs_items_in_worker_processes(local_ray):
    def square(x: int) -> tuple[int, int]:  # nested: shipped by value to the workers
        return x * x, os.getpid()

    out = sorted(local_ray.map(square, range(5)))
    assert [v for v, _ in out] == [0, 1, 4, 9, 16]
    assert os.getpid() not in {p for _, p in out}


def _same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=1e-5,
                                                                 abs_tol=1e-7)
    return a == b


def test_ray_table1_rows_equal_local(local_ray, one_thread, image_set):
    """Table 1 (Sec. 3.2) with each image batch a Ray task: the same rows and per-image
    predictions as the local executor (the workers load A and B from their references)."""
    refs = (pr.ModelRef("fmnist_vgg"), pr.ModelRef("fmnist_resnet"))
    a, b = refs[0].load(), refs[1].load()
    st = dict(n=4, steps=3, batch_images=2, methods=["fluid_sobolev", "tv"])
    local = pr.run_table1(a, b, image_set(4), pr.Table1Settings(**st), refs=refs)
    remote = pr.run_table1(a, b, image_set(4), pr.Table1Settings(**st), refs=refs,
                           executor="ray")
    assert remote["executor"] == "ray" and local["executor"] == "local"
    assert len(local["rows"]) == 2 * 3  # two directions x (original + two methods)
    key = [(r["direction"], r["method"]) for r in local["rows"]]
    assert [(r["direction"], r["method"]) for r in remote["rows"]] == key
    for x, y in zip(local["rows"], remote["rows"]):
        for k in x:
            if k != "seconds":
                assert _same(x[k], y[k]), (x["direction"], x["method"], k, x[k], y[k])
    order = lambda s: (s["direction"], s["method"], s["image"])  # noqa: E731
    ls, rs = sorted(local["samples"], key=order), sorted(remote["samples"], key=order)
    assert len(ls) == len(rs) == 2 * 2 * 4
    assert [(s["pred"], s["top1"]) for s in ls] == [(s["pred"], s["top1"]) for s in rs]
    assert all(_same(p["psnr"], q["psnr"]) for p, q in zip(ls, rs))


# --------------------------------------------------------------------------- faults (issue 21)

def test_exhausted_retries_name_the_batch_and_what_is_saved(tmp_path, local_ray, one_thread):
    from viz_core.sweeps.executors import SweepFailed

    marker = tmp_path / "died"
    no_retry = RayExecutor(max_retries=0)
    with pytest.raises(SweepFailed) as info:
        run_sweep(_sweep(judge="none"), tmp_path / "S", no_retry, threads=1,
                  fail_marker=str(marker))
    msg = str(info.value)
    assert marker.is_file() and "\n" not in msg
    assert info.value.batch_id and f"batch {info.value.batch_id}" in msg
    assert "max_retries=0 exhausted" in msg  # the argument's name (the CLI: its flag)
    assert f"{info.value.saved_cells} of 4 cells are saved" in msg
    # the saved part is intact and a rerun (with retries) completes the sweep
    store = run_sweep(_sweep(judge="none"), tmp_path / "S", local_ray, threads=1)
    assert len(store.rows()) == 4 and store.check().problems == []


def test_worker_errors_are_one_line_naming_the_item(local_ray):
    from viz_core.errors import VizError
    from viz_core.sweeps.executors import ItemFailed

    def picky(x: int) -> int:
        if x == 2:
            raise VizError("the image file is empty", field="image")
        if x == 3:
            raise ValueError("line one\nline two")
        return x

    with pytest.raises(ItemFailed) as info:
        sorted(local_ray.map(picky, [0, 1, 2]))
    assert info.value.index == 2 and info.value.reason == "the image file is empty"
    with pytest.raises(ItemFailed) as info:
        list(local_ray.map(picky, [3]))
    assert info.value.reason == "the worker raised ValueError: line one"


def _cli(*args: str, timeout: float = 240) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "viz_core", *args], capture_output=True,
                          text=True, timeout=timeout, env=env, cwd=ROOT)


SWEEP = ["sweep", "--model", "fmnist_vgg", "--task", "am", "--target", "3", "--steps", "2",
         "--elastic", "sobolev", "--judge", "none", "--quiet", "--axis", "seed=1,2",
         "--executor", "ray"]


def test_nothing_listening_at_the_ray_address_ends_with_a_message(tmp_path):
    """Ray itself retries for ever (issue 21: still retrying after 590 s)."""
    out = tmp_path / "D"
    r = _cli(*SWEEP, "--ray-address", "127.0.0.1:1", "--ray-timeout", "2", "--out", str(out))
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert r.stderr.strip().splitlines() == [
        "error: no Ray cluster answers at 127.0.0.1:1 (Connection refused) within 2 s; "
        "start one there (ray start --head) or raise --ray-timeout"]
    assert not out.exists()
    r = _cli("evaluate", "-n", "2", "--steps", "1", "--quiet", "--executor", "ray",
             "--ray-address", "127.0.0.1:1", "--ray-timeout", "2", "--out", str(out))
    assert r.returncode == 2 and "no Ray cluster answers at 127.0.0.1:1" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and not out.exists()


def test_a_refused_address_is_reported_before_the_deadline(tmp_path):
    """Connection refused is an answer: reported after a short grace, not after the whole
    --ray-timeout (the message names no timeout: the deadline did not end it)."""
    r = _cli(*SWEEP, "--ray-address", "127.0.0.1:1", "--ray-timeout", "600",
             "--out", str(tmp_path / "D"))
    assert r.returncode == 2 and r.stderr.strip().splitlines() == [
        "error: no Ray cluster answers at 127.0.0.1:1 (Connection refused: nothing listens "
        "on that port); start one there (ray start --head --port 1) or check the address"]
    r = _cli(*SWEEP, "--ray-address", "no-such-host.invalid:6379", "--ray-timeout", "600",
             "--out", str(tmp_path / "D"))
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1
    assert r.stderr.startswith("error: no Ray cluster at no-such-host.invalid:6379: unknown "
                               "host 'no-such-host.invalid'")


def test_a_listener_that_is_not_ray_ends_with_a_message(tmp_path):
    with socket.socket() as server:  # accepts connections, never speaks Ray's protocol
        server.bind(("127.0.0.1", 0))
        server.listen(16)
        address = f"127.0.0.1:{server.getsockname()[1]}"
        r = _cli(*SWEEP, "--ray-address", address, "--ray-timeout", "3",
                 "--out", str(tmp_path / "D"))
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    # (then, on a machine without a Ray token, how to give the driver one)
    assert len(lines) == 1 and lines[0].startswith(
        f"error: the Ray cluster at {address} did not accept this driver within 3 s (is it "
        f"a Ray head node? is its version {ray.__version__}?); raise --ray-timeout to wait "
        "longer")


def test_a_dead_raylet_is_one_line_with_the_resume_command_and_leaves_no_process(tmp_path):
    psutil = pytest.importorskip("psutil")
    out = tmp_path / "D"
    args = [*SWEEP[:-4], "--steps", "200", "--axis", "seed=" + ",".join(map(str, range(24))),
            "--batch-size",
            "1", "--executor", "ray", "--workers", "2", "--threads", "1", "--out", str(out)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "viz_core", *args], env=env, cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 300
        while not list((out / "parts").glob("*.parquet")) and time.monotonic() < deadline:
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.5)
        children = psutil.Process(proc.pid).children(recursive=True)
        raylet = [p for p in children if "raylet/raylet" in " ".join(p.cmdline())]
        assert raylet and len(children) > 3
        raylet[0].kill()
        stdout, stderr = proc.communicate(timeout=240)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 2 and stdout == ""
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    assert "the Ray node running it died (LocalRayletDiedError)" in lines[0]
    assert f"resume with: demons-viz sweep --out {out} --executor ray" in lines[0]
    assert "cells are saved" in lines[0]
    gone, alive = psutil.wait_procs(children, timeout=10)
    assert not alive, [p.cmdline() for p in alive]


@pytest.fixture
def token_head(tmp_path):
    """A head node as the README starts one (``ray start --head``) on a machine that holds a
    Ray token (~/.ray/auth_token, which a local Ray writes): it asks drivers for the token.
    HOME is a folder of the test's own; the head's processes are found by its temp dir."""
    psutil = pytest.importorskip("psutil")
    import secrets
    import shutil
    import tempfile

    home = tmp_path / "home"
    (home / ".ray").mkdir(parents=True)
    (home / ".ray" / "auth_token").write_text(secrets.token_hex(32))
    temp = tempfile.mkdtemp(prefix="rt", dir="/tmp")  # short: Ray's socket paths
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_AUTH")}
    env["HOME"] = str(home)
    started = subprocess.run(
        [shutil.which("ray") or "ray", "start", "--head", "--port", str(port), "--num-cpus",
         "1", "--include-dashboard=false", "--disable-usage-stats", "--temp-dir", temp],
        env=env, capture_output=True, text=True, timeout=180)
    try:
        assert started.returncode == 0, started.stderr[-2000:]
        assert "Token authentication is enabled" in started.stdout + started.stderr
        yield f"127.0.0.1:{port}", env
    finally:
        for p in psutil.process_iter(["cmdline"]):
            if temp in " ".join(p.info["cmdline"] or []):
                p.kill()
        shutil.rmtree(temp, ignore_errors=True)


def test_the_readme_cluster_path_joins_a_head_that_asks_for_a_token(tmp_path, token_head):
    """``ray start --head`` on a machine with a Ray token, then ``--ray-address``: the
    driver sends this machine's token and the sweep runs on the cluster (it failed after
    20 s with "Failed to connect"); a machine without the token is told how to give it."""
    address, env = token_head
    env = {**env, "PYTHONPATH": str(ROOT)}

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "viz_core", *args], capture_output=True,
                              text=True, timeout=240, env=env, cwd=ROOT)

    r = cli(*SWEEP, "--ray-address", address, "--out", str(tmp_path / "D"), "--no-store")
    assert r.returncode == 0, r.stderr[-2000:]
    assert '"cells": 2' in r.stdout and len(list((tmp_path / "D" / "parts").iterdir())) >= 1
    env["HOME"] = str(tmp_path)  # a driver on another machine: no token (refused by Ray
    # after its own 20 s of retries, or by the deadline on a slow machine: both say how)
    r = cli(*SWEEP, "--ray-address", address, "--out", str(tmp_path / "E"), "--no-store")
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert "token" in r.stderr and "~/.ray/auth_token" in r.stderr
