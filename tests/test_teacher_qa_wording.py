"""Wording a teacher checked against the paper (QA session 4): a bad link's notice names
schemes by their labels, the TV stability warning does not cite a bound the paper does not
give, and the step size's help says what it means without pointing at the README."""

from __future__ import annotations

from dashboard.settings.compare import COMPARE_CHOICES, compare_defaults
from dashboard.settings.labels import STEP_SIZE_HELP
from dashboard.settings.playground import PLAYGROUND_CHOICES, playground_defaults
from dashboard.urlstate import decode
from viz_core.image_checks import tv_stability_warning
from viz_core.schemes import SCHEME_REGISTRY


def _ids_in(text: str) -> list[str]:
    return [k for k in SCHEME_REGISTRY if "_" in k and k in text]


def test_a_bad_scheme_in_a_link_is_answered_with_the_labels():
    """``/Playground?scheme=bogus`` listed fluid_gaussian, elastic_gaussian, ...: the
    notice now names what the page offers and what it uses, as the page shows them."""
    _, notices = decode({"scheme": "bogus"}, playground_defaults(), PLAYGROUND_CHOICES)
    (text,) = notices
    assert "'bogus'" in text and not _ids_in(text), text
    assert "no regularization, fluid, elastic, fluid-elastic" in text
    assert text.endswith("using fluid-elastic")
    _, notices = decode({"cells": "bogus,fluid"}, compare_defaults(), COMPARE_CHOICES)
    (text,) = notices
    assert "'bogus,fluid'" in text and not _ids_in(text), text
    assert "Sobolev fluid" in text and "Gaussian fluid-elastic" in text
    # a good link still says nothing
    assert decode({"cells": "fluid_sobolev,tv"}, compare_defaults(), COMPARE_CHOICES)[1] == []


def test_the_tv_warning_calls_its_bound_a_known_result_not_eq_20():
    """The paper gives no TV step bound, only "step size restrictions" (Sec. 1.2)."""
    msg = tv_stability_warning(5.0, 3.0, 1e-6)
    assert msg is not None and msg.startswith("unstable TV step")
    assert "(eq. 20)" not in msg and "known result" in msg and "eqs. 19-20" in msg
    assert tv_stability_warning(5.0, 0.01, 0.05) is None


def test_the_step_size_help_says_it_all_itself():
    """The help said "(README, Conventions)", which the app cannot reach."""
    assert "README" not in STEP_SIZE_HELP
    assert "mean |g|" in STEP_SIZE_HELP and "0-255" in STEP_SIZE_HELP
    assert "DenseNet121" in STEP_SIZE_HELP and "raw" in STEP_SIZE_HELP


def test_the_tv_warning_reads_the_stages_step_sizes_with_octaves():
    """With octaves the stages' tau are the run's step sizes: the default step_size beside
    them (5) does not trigger the TV stability warning, and a stage's large tau does,
    whichever form the stages are stored in."""
    import numpy as np

    from viz_core.image_checks import result_warnings

    img = np.random.default_rng(0).random((1, 32, 32)).astype(np.float32)
    calm = {"step_size": 5.0, "tv": 0.8, "tv_eps": 0.05, "octaves": [[1.0, 10, 0.5]]}
    assert not [w for w in result_warnings(img, calm) if "TV" in w]
    wild = {"step_size": 0.1, "tv": 0.8, "tv_eps": 0.05,
            "octaves": [{"scale": 1.0, "steps": 10, "tau": 50.0}]}
    assert [w for w in result_warnings(img, wild) if "TV" in w]
    wild_list = {**wild, "octaves": [[1.0, 10, 50.0]]}
    assert [w for w in result_warnings(img, wild_list) if "TV" in w]
