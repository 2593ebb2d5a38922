"""Recompute every number README.md quotes from the committed results (``results/``) and
model cards (``assets/models/*.json``); exit 1 on a mismatch or on a number without a
source. ``tests/test_claims.py`` runs it, so CI does.

    python scripts/check_claims.py            # prints the failures, or one line when clean
    python scripts/check_claims.py --list     # also every checked claim and its source

How to add a claim (when you write a number into the README): copy the README's sentence
fragment into the ``CLAIMS`` list of ``scripts/claims_results.py`` (results) or
``scripts/claims.py`` (everything else), put ``{}`` where each number stands (``{...}``
skips text in between), and give one source per ``{}`` from :mod:`claims_lib`:
``csv_cell`` / ``csv_agg`` (a CSV of results/), ``md_cell`` / ``md_agg`` (a Markdown
table), ``text_num`` (a number in a result file, found by a regex), ``json_value`` (a card
or a JSON result), ``derived`` (any computation over committed files), ``at_least`` /
``at_most`` (the README states a bound) or ``const`` (a number fixed by definition, with
the reason); shared paths and helpers live in ``scripts/claims_sources.py``. A number
that is not a claim (an equation number, an image size, a version) goes into
:data:`ALLOWED` with its reason instead; keep that list short.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from claims import CLAIMS  # noqa: E402
from claims_lib import ROOT, check  # noqa: E402

#: Non-claims: (regex over the README, why its numbers are not results).
ALLOWED: list[tuple[str, str]] = [
    (r"eqs?\. \d+(?:(?:-|, | and )\d+)*|\(\d+-\d+\)(?= \(| *$)|TV \(19-20\)",
     "equation numbers of the paper"),
    (r"Secs?\. \d+(?:\.\d+)?(?:(?:, | and |-)\d+(?:\.\d+)?)*", "section numbers"),
    (r"Figs?\. \d+(?:(?:, | and )\d+)*", "figure numbers"),
    (r"Tables? \d+", "table numbers of the paper"),
    (r"(?:et al\.|Kingma and Ba|Madry et al\.)\s*(?:19|20)\d\d|(?<=; )(?:19|20)\d\d(?=\))"
     r"|\((?:19|20)\d\d\)|(?:19|20)\d\d\)", "citation years"),
    (r"arXiv:\d+\.\d+", "the paper's arXiv id"),
    (r"torch >= \d+\.\d+, < \d+\.\d+|torch \d+\.\d+(?:\.\d+)?|Streamlit \d+\.\d+",
     "software versions"),
    (r"\[0, 1\]|0-255|1e-\d+|sum 1\b", "the unit interval, 8-bit levels, tolerances"),
    (r"\d+\s?x\s?\d+(?:\s?x\s?\d+)?", "image, kernel and feature-map sizes"),
    (r"\d+ px\b", "image sizes in pixels"),
    (r"SHA-256|\d+-bit|\d+ bits|top-\d|PGD-\d+|\d+-point|\d+-core|\d+D example",
     "names with numbers"),
    (r"target (?:<|<=|>=) \d+(?:\.\d+)? ?%?|\| (?:CPU |GPU )?<= \d+(?:\.\d+)?(?::[^|]*)? \|",
     "design targets (the goals a figure is held to), not results"),
    (r"1\. Compare inverting|2\. a class pre-image|3\. the kernels"
     r"|steps 2 \(Playground\) and 1 \(Compare schemes\)", "the guided demo's step numbers"),
]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--readme", default=str(ROOT / "README.md"))
    p.add_argument("--list", action="store_true", help="print every claim and its sources")
    args = p.parse_args(argv)
    text = Path(args.readme).read_text()
    failures, checked = check(text, CLAIMS, ALLOWED)
    if args.list:
        for c in CLAIMS:
            print(f"{c.snippet!r}: " + "; ".join(s.desc for s in c.sources))
    for f in failures:
        print(f)
    print(f"{checked} README numbers checked against their sources in {len(CLAIMS)} claims; "
          f"{len(failures)} failure(s)", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

