"""Fitting sigma / gamma to every kernel size the tools accept (Sec. 2.7, eq. 16): the rule
holds wherever a largest parameter exists, and the sizes where none does (the Sobolev kernel
beyond 37 at order 1) are refused with one line naming the largest size, in the library
and the CLI alike, without a numpy warning."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

from viz_core.cli import main
from viz_core.errors import VizError
from viz_core.kernel_fitting import (
    FIT_THRESHOLD,
    MAX_KERNEL_SIZE,
    check_fittable,
    fit_parameter,
    gaussian_kernel,
    largest_fitted_size,
    ring_limit,
    ring_max,
    sobolev_kernel,
)
from viz_core.kernels import PARAM_RANGE, KernelSpec, build

ROOT = Path(__file__).resolve().parents[1]
#: The largest Sobolev size the rule can fit at 1e-4, per order k.
LARGEST_SOBOLEV = {1: 37, 2: 39, 3: 41, 4: 41, 5: 41, 6: 41, 7: 41, 8: 41}


def _kernel(kind: str, size: int, p: float, order: int) -> np.ndarray:
    return gaussian_kernel(size, p) if kind == "gaussian" else sobolev_kernel(size, p, order)


@pytest.mark.parametrize("kind,order", [("gaussian", 1)] + [("sobolev", k) for k in range(1, 9)])
def test_the_rule_holds_at_every_fitted_size_without_warnings(kind, order):
    """Unit sum, outermost ring <= 1e-4, and 1 % more breaks it: at every odd size up to the
    largest (for Sobolev at 33/35/37 gamma = 48/102/653 is right: the ring's limit is just
    above 1e-4 there), also at size 3 with k >= 2 (the old bracket started above the fit)."""
    largest = largest_fitted_size(kind, order)
    assert largest == (MAX_KERNEL_SIZE if kind == "gaussian" else LARGEST_SOBOLEV[order])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for size in range(3, largest + 1, 2):
            p = fit_parameter(kind, size, order)
            assert math.isfinite(p) and 0 < p < 1e6, (size, p)
            k = _kernel(kind, size, p, order)
            assert k.sum() == pytest.approx(1.0)
            assert ring_max(k) <= FIT_THRESHOLD, (size, p)
            assert ring_max(_kernel(kind, size, p * 1.01, order)) > FIT_THRESHOLD, (size, p)


def test_sobolev_fits_near_the_limit_are_finite_and_in_range():
    fits = {n: fit_parameter("sobolev", n) for n in (33, 35, 37)}
    assert fits[33] == pytest.approx(47.9, rel=0.01)
    assert fits[35] == pytest.approx(101.6, rel=0.01)
    assert fits[37] == pytest.approx(653.1, rel=0.01)
    lo, hi = PARAM_RANGE["sobolev"]
    assert all(lo <= p <= hi for p in fits.values())
    # the ring's limit (gamma -> infinity) decides: above 1e-4 at 37, below at 39
    assert ring_limit("sobolev", 37) > FIT_THRESHOLD > ring_limit("sobolev", 39)
    limits = [ring_limit("sobolev", n) for n in range(3, 64, 2)]
    assert limits == sorted(limits, reverse=True)


@pytest.mark.parametrize("size,order", [(39, 1), (41, 1), (63, 1), (41, 2), (43, 3), (63, 8)])
def test_sizes_without_a_largest_parameter_are_one_clear_error(size, order):
    largest = LARGEST_SOBOLEV[order]
    for attempt in (lambda: fit_parameter("sobolev", size, order),
                    lambda: check_fittable("sobolev", size, order),
                    lambda: KernelSpec.parse("sobolev", size, order),
                    lambda: build(KernelSpec("sobolev", None, size, order))):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            with pytest.raises(VizError) as err:
                attempt()
        msg = str(err.value)
        assert "\n" not in msg and err.value.field == "kernel_size"
        assert f"up to {largest}" in msg and f"not {size}" in msg


def test_an_explicit_gamma_still_builds_any_size():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        k = build(KernelSpec("sobolev", 5.0, 41)).weights.numpy()
        assert k.shape == (41, 41) and k.sum() == pytest.approx(1.0)
        assert build(KernelSpec("gaussian", None, 63)).weights.shape == (63, 63)


def test_cli_kernels_refuses_and_fits_at_the_edge(tmp_path, capsys):
    out = tmp_path / "k.npy"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert main(["kernels", "--kind", "sobolev", "--size", "39", "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "up to 37" in err and not out.exists()
        assert main(["kernels", "--kind", "sobolev", "--size", "37", "--out", str(out)]) == 0
    line = json.loads(capsys.readouterr().out)
    assert line["param"] == pytest.approx(653.1, rel=0.01) and np.load(out).shape == (37, 37)


def test_cli_visualize_refuses_an_unfittable_size_on_one_line():
    """The whole stderr of a real process (numpy's RuntimeWarnings went there): one line."""
    r = subprocess.run([sys.executable, "-m", "viz_core", "visualize", "--model", "fmnist_vgg",
                        "--fluid", "sobolev", "--kernel-size", "41", "--steps", "2", "--quiet",
                        "--no-store", "--out", "never.png"],
                       capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert r.returncode == 2, r.stderr
    assert r.stderr.count("\n") == 1 and r.stderr.startswith("error: ")
    assert "up to 37" in r.stderr and "Warning" not in r.stderr
    assert not (ROOT / "never.png").exists()
