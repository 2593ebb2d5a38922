"""The Ray executor: same table as the local executor (sweeps and Table 1), a worker killed
mid-task is retried by Ray, a generic map for other work. One local Ray with 2 CPUs for the
whole module."""

from __future__ import annotations

import math
import os

import pytest
import torch

from viz_core.config import RunConfig
from viz_core.evaluation import protocol as pr
from viz_core.kernels import KernelSpec
from viz_core.sweeps import Axis, Sweep, run_sweep
from viz_core.sweeps.executors import RayExecutor, start_local_ray

ray = pytest.importorskip("ray", reason='the Ray tests need pip install -e ".[distributed]"')


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
