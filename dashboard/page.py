"""What every page does: set-up (tab title, layout, the navigation), a guard that turns
errors into a message box, pre-images drawn at their pixel size, a run's status and
downloads, and plotly figures kept per session."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas  # noqa: F401 - imported whole before any page runs (see below)
import streamlit as st

from dashboard import plots
from dashboard.messages import ui_message
from dashboard.runs import APP_NAME, DISPLAY_SIZE, LOG, SLIDE_SIZE, RunRecord
from dashboard.stages import stage_marks
from dashboard.text import plain
from dashboard.widgets import entered_page
from viz_core.errors import VizError

if TYPE_CHECKING:
    from PIL import Image

# pandas above: plotly and Streamlit look pandas up in ``sys.modules`` without importing it;
# while one session's script thread was still importing it, another session's chart found
# the module half made ("partially initialized module 'pandas' has no attribute 'Series'",
# once on a cold server). Every page script imports this module first, and Python lets a
# second thread use a module only once its import has finished.


def navigation() -> Any:
    """``st.navigation`` over :data:`dashboard.navigation.PAGES` (Home is the default page);
    ``app.py`` runs the page it returns."""
    from dashboard import engine_worker
    from dashboard.navigation import PAGES
    from dashboard.streaming import run_threads

    engine_worker.warm(run_threads())  # the engine process, ready by the first Run
    return st.navigation([st.Page(p.path, title=p.title, url_path=p.url_path or None,
                                  default=not p.url_path) for p in PAGES])


def setup_page(title: str) -> None:
    """Wide layout and a tab title; call first on every page.

    With a folder named ``pages/`` next to ``app.py``, Streamlit runs a script in its
    file-based mode until ``st.navigation`` has been called once in the server process:
    the first direct link to a fresh server (``/Playground``) runs the page file itself,
    under Streamlit's automatic menu. The page URL paths equal the names Streamlit derives
    from the files (:mod:`dashboard.navigation`), so the dashboard's navigation, registered
    here, resolves to this same page: it runs under the dashboard's own sidebar (and the
    rest of this run stops). AppTest starts every run this way.
    """
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory:
        navigation().run()  # this page again, now in st.navigation mode
        st.stop()
    st.set_page_config(page_title=f"{title} · {APP_NAME}", layout="wide",
                       initial_sidebar_state="expanded")
    entered_page(title)


def guard(main: Callable[[], None]) -> None:
    """Run a page; a VizError or an unexpected exception becomes a short error box, never
    a traceback (the traceback is kept in an expander for bug reports)."""
    try:
        main()
    except VizError as exc:
        st.error(plain(ui_message(str(exc))))
    except Exception as exc:  # noqa: BLE001 - the page must never show a traceback
        LOG.exception("unexpected error on a dashboard page")  # the traceback goes to the log
        st.error(plain(f"Something went wrong: {type(exc).__name__}: {exc}. Your settings and "
                       "the last good pre-image are kept; change a setting or reload the page."))


def guard_callback(callback: Callable[[], None], message_key: str) -> Callable[[], None]:
    """A widget callback (``on_change``, ``on_click``) under the page's guard: callbacks
    run before the page's script, outside :func:`guard`, so an error there would replace
    the page with Streamlit's own. A VizError or an unexpected exception is stored as
    ``("error", message)`` under ``message_key`` for the page to show next to the control."""
    def guarded() -> None:
        try:
            callback()
        except VizError as exc:
            st.session_state[message_key] = ("error", ui_message(str(exc)))
        except Exception as exc:  # noqa: BLE001 - the page must never show a traceback
            LOG.exception("unexpected error in a dashboard callback")
            st.session_state[message_key] = (
                "error", f"that file could not be used: {type(exc).__name__}: {exc}")

    return guarded


def display_image(img: np.ndarray, base: int = DISPLAY_SIZE) -> Image.Image:
    """A PIL image of a (C, H, W) pre-image, upscaled by an integer factor with
    nearest-neighbour so that 64x64 pixels stay crisp squares."""
    from viz_core.images import to_pil

    side = int(np.asarray(img).shape[-1])
    factor = max(1, base // max(side, 1))
    return to_pil(img, display_size=side * factor if factor > 1 else None)


def show_image(container: Any, img: np.ndarray, caption: str | None = None,
               base: int = DISPLAY_SIZE, *, fit: bool = False) -> None:
    """Draw a pre-image at its upscaled pixel size (captions do not stretch it), as a PNG:
    Streamlit would send an image without alpha as JPEG, whose artefacts are not in the
    pre-image (and not in its PNG download). ``fit``: as wide as ``container`` instead
    (a grid cell of a fixed largest width, narrower on a small screen)."""
    pil = display_image(img, base)
    container.image(pil, caption=caption, width="stretch" if fit else pil.width,
                    output_format="PNG")


def status_message(record: RunRecord, stale: str = "", said_above: bool = False) -> None:
    """The run's outcome as an error / warning / success element; ``stale`` (a
    :func:`dashboard.results.stale_note`) says the result is from other settings;
    ``said_above``: a warning of this run is shown above its status (once for several
    runs), so a run without other warnings is "finished ..., with the warning above", never
    "done". A run that joined another session's run under way says so once, beside its
    time (the shared run's: :meth:`~dashboard.runs.RunRecord.joined_note`)."""
    if stale:
        st.info(f"The result below is {stale}. Press Run for the current settings.",
                icon=":material/history:")
    if record.status == "error":
        st.error(plain(ui_message(record.message)))
    msgs = [(f"{lab}: {m}" if len(record.labels) > 1 else m, record.shown_step(i))
            for i, (lab, m) in enumerate(zip(record.labels, record.diverged)) if m]
    for m, kept in msgs:  # the message says which pre-image is kept; the page adds where
        st.error(m + (f" (shown: step {kept}; it can be downloaded)" if kept > 0 else
                      " (shown: the start image, before any step; it can be downloaded)"))
    warned = [f"{lab}: {w}" if len(record.labels) > 1 else w
              for lab, ws in zip(record.labels, record.warnings) for w in ws]
    for w in warned:
        st.warning(plain(w))
    took = f"{record.step} steps in {_seconds(record.elapsed)}{record.joined_note()}"
    if record.status == "stopped":  # (its message names the join: RunRecord.mark_interrupted)
        st.warning(plain(record.message or f"stopped at step {record.step} of {record.total}"
                         f"{record.joined_note()}"))
    elif record.status == "done" and not msgs and not warned and said_above:
        st.caption(f"finished {took}, with the warning above")
    elif record.status == "done" and not msgs and not warned and stale:
        st.caption(f"That run finished: {took}.")
    elif record.status == "done" and not msgs and not warned:
        st.success(f"done: {took}")
    elif record.status == "done" and warned:
        st.caption(f"finished {took}, with the warnings above")


def _seconds(s: float) -> str:
    """A run's time: hundredths under 10 s (a small model's run takes well under a
    second), tenths above.

    >>> _seconds(0.6234), _seconds(12.34)
    ('0.62 s', '12.3 s')
    """
    return f"{s:.2f} s" if s < 10 else f"{s:.1f} s"


def downloads(record: RunRecord, index: int = 0, key: str = "dl", stem: str = "preimage"
              ) -> None:
    """PNG (native size, and enlarged for slides), GIF (built only when clicked) and JSON
    of one configuration of a run; both PNGs carry the run JSON (an upload restores it)."""
    if record.images is None:
        return
    c1, c2, c3, c4 = st.columns(4)
    c1.download_button("Download PNG", record.png(index), f"{stem}.png", "image/png",
                       key=f"{key}_png", on_click="ignore", width="stretch",
                       help="the pre-image at its native size, the run's settings inside")
    side = int(record.images[index].shape[-1])
    big = side * max(1, SLIDE_SIZE // max(side, 1))
    c2.download_button(f"PNG for slides ({big} px)", lambda: record.png_large(index),
                       f"{stem}_{big}px.png", "image/png", key=f"{key}_png_large",
                       on_click="ignore", width="stretch",
                       help="enlarged with nearest neighbour (crisp pixels), the run's "
                            "settings and its native size inside")
    c3.download_button("Download GIF", lambda: record.gif(index), f"{stem}.gif", "image/gif",
                       key=f"{key}_gif", on_click="ignore", width="stretch")
    c4.download_button("Download run JSON", record.json(index), f"{stem}.json",
                       "application/json", key=f"{key}_json", on_click="ignore",
                       width="stretch")


def session_figure(signature: tuple, build: Callable[[], Any],
                   update: Callable[[Any], Any]) -> Any:
    """A plotly figure kept in this session for ``signature`` (its kind and series): built
    once with ``build()``, later only given new data with ``update(fig)``. Building a figure
    (subplots, layout, template) costs far more than serialising it, and a streaming page
    draws the same figure many times over many script runs."""
    figs = st.session_state.setdefault("_dashboard_figures", {})
    fig = figs.get(signature)
    if fig is None:
        fig = figs[signature] = build()
        if len(figs) > 16:  # keep the most recent kinds only
            figs.pop(next(iter(figs)))
    else:
        update(fig)
    return fig


def show_progress(slot: Any, rec: RunRecord, full: bool, who: str = "", *,
                  each_frame: bool = False) -> None:
    """The run's progress bar in ``slot``, redrawn only with the plots (``full``), at the
    first frame and at the end: each redraw is one more message the browser renders (with
    one pre-image per frame, about a quarter of its work while a run streams), and the
    pre-image's caption gives the step of every frame. ``each_frame``: at every frame (a
    page whose captions do not give the step). A run that diverged or failed shows no bar."""
    if rec.status in ("diverged", "error"):
        slot.empty()
    elif (each_frame or full or rec.step == 0 or rec.step >= rec.total
          or rec.status != "running"):
        slot.progress(min(1.0, rec.step / max(rec.total, 1)),
                      text=f"step {rec.step} / {rec.total} · {rec.elapsed:.1f} s{who}")


def draw_curves(ph: dict, rec: Any, key: str) -> None:
    """Objective and target-activation curves of a run record into ``ph["curves"]``: the
    figure is built once per session and series (:func:`session_figure`), then only gets
    new data (redraws stay cheap)."""
    steps, obj, act = rec.curves()
    if not len(steps):
        ph["curves"].info("No curve to draw yet: the run has no finite values.")
        return
    marks = stage_marks(rec.configs)  # where the step-size schedule changes stage
    fig = session_figure(("curves", tuple(rec.labels), ph["act_name"], marks),
                         lambda: plots.curves_figure(steps, obj, act, rec.labels,
                                                     ph["act_name"], marks=marks),
                         lambda f: plots.set_curves(f, steps, obj, act))
    ph["curves"].plotly_chart(fig, key=f"{key}_curves")
