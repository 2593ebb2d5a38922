"""The Home page's plain data (no Streamlit): the gallery, its words, the one-click guided
demo and the team's rows of the models table.

The gallery is written by ``scripts/make_gallery.py`` into ``assets/gallery/`` (PNGs and
``gallery.json`` with the figures for the captions); :func:`scheme_words` says what its
scheme does in plain words, :func:`flat_floor_db` reads the PSNR a flat grey image scores
from the committed depth results. A demo step names a page and the
settings it opens with; the Home page puts them in the URL (``st.switch_page`` with query
parameters) and sets the page's one-shot ``autorun`` flag, which the page takes with
:func:`take_autorun` and runs as if Run had been pressed. :func:`team_rows` lists the
models of ``demons-viz.toml`` from the file alone (no network is opened).
"""

from __future__ import annotations

import csv
import json
import re
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


# ----------------------------------------------------------------------------- plain words

#: What a kernel kind does, as a verb phrase (eq. 18's kernels; Sec. 2.3-2.6).
_KIND_WORDS = {"gaussian": "blurred by a Gaussian",
               "sobolev": "smoothed by a Sobolev filter (a sharp peak with long tails)",
               "spectral": "stripped of fine detail, frequency by frequency (a spectral "
                           "filter)"}
#: What each slot of eq. 18 filters: the fluid kernel the step, the elastic one the picture.
_STRUCTURE_WORDS = {"fluid": "each step's change is {kind}",
                    "elastic": "the picture is {kind} after each step",
                    "fluid-elastic": "each step's change and the picture are {kind}"}


def training_words(model: str) -> str:
    """How a zoo model was trained, for the gallery's header: " (robust)" (adversarially
    trained, L2 PGD) or " (standard training)"; "" for another model."""
    from viz_core.zoo import get_spec, is_zoo_name

    if not is_zoo_name(model):
        return ""
    return " (robust)" if get_spec(model).robust else " (standard training)"


def image_words(file: str) -> str:
    """A shipped sample's file name as words.

    >>> image_words("0_ankle_boot.png")
    'ankle boot'
    """
    return re.sub(r"^\d+_", "", Path(file).stem).replace("_", " ") or str(file)


def scheme_words(key: str) -> str:
    """A named scheme's regularization in plain words (the gallery's header), its name
    after it.

    >>> scheme_words("elastic_gaussian")
    'the picture is blurred by a Gaussian after each step: elastic demons, Gaussian'
    >>> scheme_words("tv")
    'small ripples are evened out: total variation'
    """
    from viz_core.errors import VizError
    from viz_core.schemes import get_scheme

    try:
        scheme = get_scheme(key)
    except VizError:
        return str(key)
    if scheme.structure == "plain":
        return f"no smoothing: {scheme.title}"
    if scheme.structure == "tv":
        return f"small ripples are evened out: {scheme.title}"
    kind = _KIND_WORDS.get(scheme.kind or "", f"filtered ({scheme.kind})")
    return f"{_STRUCTURE_WORDS[scheme.structure].format(kind=kind)}: {scheme.title}"


#: The committed depth results (``demons-viz evaluate --benchmark recognisability --parts
#: inversion``), each with the flat image's PSNR against the shipped samples.
DEPTH_RESULTS = ("results/recognisability_robust_depth_inversion.csv",
                 "results/recognisability_offline_depth_inversion.csv")


def flat_floor_db(model: str, files: tuple[str, ...] = DEPTH_RESULTS) -> float | None:
    """The PSNR (dB) a flat grey image at the samples' mean scores against the shipped
    samples, from the first committed depth result that inverts ``model`` (the floor an
    inversion has to beat, Sec. 3.2); None when none does."""
    for name in files:
        path = ROOT / name
        try:
            with path.open(newline="", encoding="utf-8") as fh:
                values = [float(r["flat_psnr"]) for r in csv.DictReader(fh)
                          if r.get("model") == model and r.get("flat_psnr")]
        except (OSError, ValueError, KeyError, csv.Error):
            continue
        if values:
            return sum(values) / len(values)
    return None


def team_rows() -> list[dict[str, str]]:
    """The Home page's rows of the team's models (``demons-viz.toml``, or the file
    ``$DEMONS_VIZ_MODELS`` names), read from the file: no network is opened. A VizError
    when the file cannot be read."""
    from viz_core.models import team_models
    from viz_core.models.file_source import classes_path, read_class_names

    rows = []
    for t in team_models().values():
        program = t.source.endswith(".pt2")
        if t.input_size:
            size = f"{t.input_size}x{t.input_size}x{t.channels or 3}"
        else:
            size = "the program's" if program else "its own" if t.source.startswith(
                "timm:") else f"224x224x{t.channels or 3}"
        n = len(t.classes) if t.classes else None
        if n is None and program and classes_path(t.source).is_file():
            n = len(read_class_names(classes_path(t.source)))
        source = Path(t.source).name if program else t.source
        rows.append({"model": t.name, "weights": "your network", "input": size,
                     "classes": str(n) if n else "the program's" if program else
                     "its own" if t.source.startswith("timm:") else "numbered",
                     "source": "team", "note": "", "from": source})
    return rows
