"""README claims added after the second consolidation (part b): each a README snippet with
``{}`` where a number stands and one source per number (see claims_lib)."""

from __future__ import annotations

from claims_lib import Claim  # noqa: F401

CLAIMS: list[Claim] = []
