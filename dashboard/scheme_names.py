"""Scheme names as the dashboard spells them: the Playground's structures of eq. 18 and the
Compare page's cells (Fig. 1), both from :mod:`viz_core.schemes`. Older links and run JSONs
spell them differently (``none``, ``sobolev-fluid``): these functions read every spelling.
"""

from __future__ import annotations

from viz_core.errors import VizError
from viz_core.schemes import FIG1_SCHEMES, STRUCTURES, get_scheme, scheme_key

#: The Playground's scheme choice: a structure of eq. 18 (TV is a toggle on top of any).
SCHEMES = tuple(s for s in STRUCTURES if s != "tv")
#: The comparison grid's cells: the schemes of Fig. 1, by their registry keys.
CELLS: tuple[str, ...] = FIG1_SCHEMES


def playground_structure(name: str) -> str:
    """The Playground's scheme value for any spelling: a structure of eq. 18 (``"none"``,
    the older name of plain gradient descent, gives ``"plain"``; a registry key such as
    ``fluid_sobolev`` gives its structure). VizError (field "scheme") if unknown."""
    name = str(name).strip()
    if name in SCHEMES:
        return name
    structure = get_scheme(name).structure
    if structure not in SCHEMES:
        raise VizError(f"{name!r} is not a structure of the demons update; allowed: "
                       f"{', '.join(SCHEMES)}", field="scheme")
    return structure


def canonical_cells(text: str) -> str:
    """A comma list of Compare cells with every id in its canonical registry key (older
    links say ``sobolev-fluid``; see :func:`viz_core.schemes.scheme_key`)."""
    return ",".join(parse_cells(text))


def parse_cells(text: str) -> list[str]:
    """Canonical cell keys from a comma list of scheme names or aliases (unknown ids raise
    VizError, field "cells")."""
    ids, bad = [], []
    for c in (c.strip() for c in str(text).split(",") if c.strip()):
        try:
            ids.append(scheme_key(c))
        except VizError:
            bad.append(c)
    bad += [c for c in ids if c not in CELLS]
    if bad:
        raise VizError(f"unknown cells {', '.join(bad)}; allowed: {', '.join(CELLS)}",
                       field="cells")
    if not ids:
        raise VizError("choose at least one scheme to compare", field="cells")
    return list(dict.fromkeys(ids))



