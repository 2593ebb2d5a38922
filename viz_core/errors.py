"""The single user-facing error type of viz_core."""

from __future__ import annotations


class VizError(ValueError):
    """A problem with user input or the environment, with a message that says what was
    wrong and what is allowed. Front ends show ``str(err)``; they never show a traceback.

    ``field`` names the offending parameter (e.g. ``"sigma"``) so a dashboard can show the
    message next to the control that caused it.
    """

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field
