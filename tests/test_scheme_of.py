"""One answer for "which scheme is this configuration?" (viz_core.schemes.scheme_of), the
structures of eq. 18 and the named groups (Fig. 1, Table 1, offline)."""

from __future__ import annotations

import pytest

from viz_core import schemes
from viz_core.config import RunConfig, scheme_config
from viz_core.kernels import KernelSpec
from viz_core.schemes import CUSTOM, SCHEME_REGISTRY, Scheme, scheme_of, structure_of

ID = KernelSpec("identity")
S = KernelSpec("sobolev", None, 7)
G = KernelSpec("gaussian", None, 5)

#: (fluid, elastic, TV weight) -> the scheme's key: the documented decisions.
TABLE = [
    (None, None, 0.0, "plain"),
    (None, None, 0.3, "tv"),
    (ID, None, 0.0, "plain"),                   # an identity kernel is an empty slot
    (ID, ID, 0.2, "tv"),
    (S, None, 0.0, "fluid_sobolev"),
    (S, None, 0.3, "fluid_sobolev"),            # TV on top: the config's tv, not the name
    (S, ID, 0.0, "fluid_sobolev"),
    (None, G, 0.0, "elastic_gaussian"),
    (S, S, 0.0, "fluid_elastic_sobolev"),
    (G, G, 0.0, "fluid_elastic_gaussian"),
    (G, S, 0.0, CUSTOM),                        # different kinds in the two slots
    (KernelSpec("spectral"), None, 0.0, "fluid_spectral"),
    (None, KernelSpec("decay", 0.1), 0.0, CUSTOM),  # L2 decay: no named scheme
]


@pytest.mark.parametrize("fluid,elastic,tv,key", TABLE)
def test_scheme_of_table(fluid, elastic, tv, key):
    cfg = RunConfig(fluid=fluid, elastic=elastic, tv=tv)
    assert scheme_of(cfg) == key
    assert scheme_of(Scheme(fluid, elastic, tv)) == key  # a Scheme answers the same


@pytest.mark.parametrize("key", list(SCHEME_REGISTRY))
def test_every_registry_scheme_round_trips_through_its_config(key):
    cfg = scheme_config(RunConfig(steps=4), key, 7, tv=0.2)
    assert scheme_of(cfg) == key
    assert cfg.name == SCHEME_REGISTRY[key].label


def test_structure_of_is_the_inverse_of_the_slots():
    for structure, (f, e) in schemes.STRUCTURE_SLOTS.items():
        assert structure_of(f, e) == structure
    assert structure_of(KernelSpec("sobolev"), None) == "fluid"  # truthy slots count


def test_named_groups_are_registry_keys_and_need_no_registry_order():
    assert schemes.FIG1_SCHEMES == tuple(k for row in schemes.FIG1_ROWS.values() for k in row)
    assert list(schemes.FIG1_ROWS) == ["Sobolev S_gamma", "Gaussian G_sigma", "Baselines"]
    assert all(SCHEME_REGISTRY[k].kind == "gaussian" for k in schemes.FIG1_ROWS["Gaussian G_sigma"])
    assert all(SCHEME_REGISTRY[k].kind == "sobolev" for k in schemes.FIG1_ROWS["Sobolev S_gamma"])
    for group in (schemes.FIG1_SCHEMES, schemes.TABLE1_SCHEMES, schemes.OFFLINE_SCHEMES):
        assert set(group) <= set(SCHEME_REGISTRY) and len(set(group)) == len(group)
    # the paper's three Table 1 methods are there (Sec. 3.2)
    assert {"tv", "fluid_sobolev", "fluid_elastic_sobolev"} <= set(schemes.TABLE1_SCHEMES)
