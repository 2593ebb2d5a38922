"""Objects shared by all sessions of the server process: loaded models (and the judges
that classify pre-images), reference images, and what weights this machine has.

Models are cached with ``st.cache_resource`` and used read-only (the engine never registers
hooks or changes ``requires_grad`` on them).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import streamlit as st

from viz_core.errors import VizError

if TYPE_CHECKING:
    from viz_core.models import LoadedModel


@st.cache_resource(show_spinner="Loading the model ...", max_entries=4)
def _cached_model(name: str, weights: str | None, device: str) -> LoadedModel:
    from viz_core import models

    return models.load_model(name, weights=weights, device=device)


def get_model(name: str, weights_choice: str = "pretrained",
              device_choice: str = "auto") -> LoadedModel:
    """The shared, read-only LoadedModel (loaded once per process); raises VizError."""
    from viz_core.engine import resolve_device

    dev = resolve_device(device_choice)
    return _cached_model(name, "random" if weights_choice == "random" else None, str(dev))


def model_status(name: str) -> str:
    """"offline", "cached", "download needed" or "missing" (never downloads)."""
    from viz_core import models

    try:
        return models.weights_status(name)
    except VizError:
        return "unknown"


@st.cache_data(show_spinner=False, max_entries=32)
def load_reference_image(source: str | bytes, size: int, channels: int
                   ) -> tuple[np.ndarray, list[str]]:
    """An image to invert as a (1, C, S, S) float32 array in [0, 1] (VizError if bad)."""
    from viz_core.images import load_image

    t, notices = load_image(source, size, channels)
    return t.numpy(), notices


def verdict_models(model: LoadedModel, name: str) -> list:
    """The model and, when its weights are here, the independent network that judges its
    pre-images (:func:`dashboard.results.judge_for`)."""
    from dashboard.results import judge_for

    out = [model]
    judge = judge_for(name)
    if judge is not None:
        try:
            out.append(get_model(judge))
        except VizError:
            pass
    return out


def weights_line(names: Sequence[str]) -> str:
    """'vgg19: download needed, ...' for captions."""
    return ", ".join(f"{n}: {model_status(n)}" for n in names)


def available(names: Sequence[str]) -> bool:
    """Whether every model in ``names`` has weights on this machine."""
    return all(model_status(n) in ("offline", "cached") for n in names)

