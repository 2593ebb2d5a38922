"""The run history (issue 23): every run remembered in one local SQLite file, optionally
mirrored to MLflow, with HTML / PDF reports of one run or a comparison.

Nothing here imports Streamlit, plotly or MLflow (MLflow only when a tracking URI is set),
and opening a store imports neither torch nor the engine (``history list`` stays fast):
:func:`record_run` is loaded on first use.
"""

from viz_core.store.db import RunStore
from viz_core.store.location import ENV, default_path
from viz_core.store.records import STATUSES, CurveRecorder, RunRecord, new_id

__all__ = ["ENV", "STATUSES", "CurveRecorder", "RunRecord", "RunStore", "default_path",
           "new_id", "record_run"]


def __getattr__(name: str):
    if name == "record_run":
        from viz_core.store.capture import record_run

        return record_run
    raise AttributeError(name)
