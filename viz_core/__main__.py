"""``python -m viz_core`` is ``demons-viz``."""

import sys

from viz_core.cli import main

sys.exit(main())
