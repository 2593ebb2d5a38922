"""Settings of the two pages that need no network: Kernels & spectra (Sec. 2.5-2.7) and
Learn demons (the 1D example of the unified update, eq. 18), and the kernel parameters'
hand-slider ranges they share with the Playground. Plain constants."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from dashboard.urlstate import Settings
from viz_core.kernels import SIZED_KINDS

#: The hand sliders of sigma and gamma (Playground, Kernels & spectra, Learn demons). They
#: hold the parameter fitted (Sec. 2.7) at every size 3..31 and Sobolev order 1..8 the pages
#: offer: sigma 0.233 (3x3) to 5.27 (31x31), gamma 1.25e-5 (3x3, order 8) to 28.04 (31x31,
#: order 1), so turning the fit off keeps the kernel.
SIGMA_RANGE, GAMMA_RANGE = (0.05, 6.0), (1e-5, 30.0)

#: Order 1 by default: the first charts compare the paper's two kernels; a higher order
#: (the paper's future work) is one slider away and has its own section.
KERNELS_DEFAULTS: Settings = {"size": 11, "order": 1, "fit": True, "sigma": 1.36,
                              "gamma": 0.38, "n": 10, "log": False}
LEARN_DEFAULTS: Settings = {"task": "inversion", "kind": "gaussian", "size": 9, "fit": True,
                            "param": 1.0, "tau": 0.3, "steps": 100, "step": 10,
                            "noise": 0.0, "seed": 0}  # mid-path, no start noise: the
# picture then shows what the page's first reading says (fine scales arrive last in fluid)
LEARN_CHOICES: dict[str, Sequence[Any]] = {"task": ("inversion", "am"),
                                          "kind": SIZED_KINDS}
