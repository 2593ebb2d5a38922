"""The Home page's gallery data and its one-click guided demo (plain data, no Streamlit).

The gallery is written by ``scripts/make_gallery.py`` into ``assets/gallery/`` (PNGs and
``gallery.json`` with the figures for the captions). A demo step names a page and the
settings it opens with; the Home page puts them in the URL (``st.switch_page`` with query
parameters) and sets the page's one-shot ``autorun`` flag, which the page takes with
:func:`take_autorun` and runs as if Run had been pressed.
"""

from __future__ import annotations

import json
from collections.abc import MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
GALLERY = ROOT / "assets" / "gallery"
GALLERY_COMMAND = "python scripts/make_gallery.py --models fmnist_resnet_robust,fmnist_resnet"


def load_gallery(folder: Path | None = None) -> dict | None:
    """The gallery manifest (default folder :data:`GALLERY`) with its PNG paths made
    absolute; None when it is missing or any of its PNGs is."""
    path = (folder or GALLERY) / "gallery.json"
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    pngs = [c for m in data.get("models", []) for c in m.get("am", [])]
    inv = data.get("inversion") or {}
    pngs += inv.get("layers", [])
    for cell in pngs + ([inv] if inv else []):
        for key in ("png", "reference_png"):
            if key in cell:
                p = Path(cell[key])
                cell[key] = str(p if p.is_absolute() else ROOT / p)
                if not Path(cell[key]).is_file():
                    return None
    return data if data.get("models") else None


@dataclass(frozen=True)
class DemoStep:
    """One step of the guided demo: the page (a key of ``dashboard.navigation``), the
    settings that differ from that page's defaults, whether it runs on arrival."""

    title: str
    page: str
    caption: str
    settings: dict[str, Any] = field(default_factory=dict)
    run: bool = True


def demo_steps(gallery: dict | None = None) -> list[DemoStep]:
    """The three steps; the Playground step runs the gallery's best model, class and
    scheme (its tuned offline preset, :func:`viz_core.offline_presets.offline_config`), so
    the picture it makes is the one the gallery shows above it."""
    am: dict[str, Any] = {"task": "am", "target": 9}
    scheme = "the tuned scheme"
    if gallery:
        best = gallery["models"][0]
        top = max(best["am"], key=lambda c: (c["recognised"], c["p_judge"]))
        am.update(model=best["model"], target=int(top["class"]))
        settings = _preset_settings(best["model"], best.get("scheme"), int(top["class"]))
        if settings is not None:
            am = settings
            scheme = f"the gallery's scheme ({best.get('scheme_title', best['scheme'])})"
    return [
        DemoStep("1. Invert the ankle boot", "compare",
                 "Compare: every demons scheme reconstructs the boot from the middle block, "
                 "eight styles side by side, streaming as one batch; the captions give each "
                 "one's feature error."),
        DemoStep("2. A class pre-image", "playground",
                 "Playground: activation maximization of one class on the best model with "
                 f"{scheme}; "
                 "the panel gives the class probability and the top-3 classes.", am),
        DemoStep("3. The kernels behind it", "kernels",
                 "Kernels & spectra: Gaussian vs Sobolev filters, their spectra, and what "
                 "elastic steps do to them (no network needed).", run=False),
    ]


def _preset_settings(model: str, scheme: str | None, target: int) -> dict[str, Any] | None:
    """The Playground settings of ``scheme``'s tuned offline preset for class ``target`` of
    ``model``, or None when there is none (another model, an unknown scheme)."""
    from dashboard.settings.playground import config_to_settings
    from viz_core.errors import VizError
    from viz_core.offline_presets import offline_config

    if not scheme:
        return None
    try:
        settings, _ = config_to_settings(offline_config(model, scheme, "am", target))
    except VizError:
        return None
    return settings


def autorun_key(prefix: str) -> str:
    return f"{prefix}autorun"


def take_autorun(state: MutableMapping[str, Any], prefix: str) -> bool:
    """True once after the demo asked the page with ``prefix`` to run on arrival."""
    return bool(state.pop(autorun_key(prefix), False))
