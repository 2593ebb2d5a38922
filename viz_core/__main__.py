"""``python -m viz_core`` is ``demons-viz``."""

from viz_core.cli import run

run()
