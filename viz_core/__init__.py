"""viz_core: demons-type regularization for CNN pre-images (Baust et al., arXiv:1805.00071)."""

from viz_core.errors import VizError

__all__ = ["VizError", "from_module"]
__version__ = "0.1.0"


def __getattr__(name: str):
    # ``viz_core.from_module`` without importing torch at ``import viz_core``
    if name == "from_module":
        from viz_core.models import from_module

        return from_module
    raise AttributeError(f"module 'viz_core' has no attribute {name!r}")
