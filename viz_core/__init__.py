"""viz_core: demons-type regularization for CNN pre-images (Baust et al., arXiv:1805.00071)."""

from viz_core.errors import VizError

__all__ = ["VizError"]
__version__ = "0.1.0"
