"""Checks of a run configuration that need its model (kernel sizes and jitter against the
input size, class / channel / unit against the layer), in the Playground's words."""

from __future__ import annotations

from dashboard.messages import field_key
from viz_core.config import RunConfig
from viz_core.errors import VizError
from viz_core.kernels import SIZED_KINDS


def check_against_model(cfg: RunConfig, model) -> None:
    """What :meth:`RunConfig.validate` cannot know without the model: kernel sizes and
    jitter against the input size, class / channel / unit against the layer. Raises
    VizError with the Playground control as ``field``."""
    from viz_core.objectives import check_target
    from viz_core.transforms import jitter_pixels

    size = int(model.spec.input_size)
    for slot, spec in (("f", cfg.fluid), ("e", cfg.elastic)):
        if spec is not None and spec.kind in SIZED_KINDS and spec.size > size:
            raise VizError(f"kernel size {spec.size} is larger than the {size}x{size} input "
                           f"of {cfg.model}", field=f"{slot}_size")
    try:
        jitter_pixels(cfg.jitter, size)
        check_target(model, cfg.target_spec(model.spec.default_layer))
    except VizError as exc:
        raise VizError(str(exc), field=field_key(exc.field)) from None

