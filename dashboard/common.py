"""Page set-up, cached models, URL-synced controls, streaming runs and downloads.

Per-session data (settings, frames of a run) lives in ``st.session_state`` only; the
models cached by :func:`get_model` are shared by all sessions and used read-only (the
engine never registers hooks or changes ``requires_grad`` on them).
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import streamlit as st

from dashboard import plots
from dashboard import state as ui_state
from dashboard.navigation import PAGES as NAV_PAGES
from viz_core.errors import VizError

if TYPE_CHECKING:
    from PIL import Image

    from viz_core.models import LoadedModel

APP_NAME = "demons-viz"
LOG = logging.getLogger("demons_viz.dashboard")
#: page key -> (file, title), from :data:`dashboard.navigation.PAGES`
PAGES = {p.key: (p.path, p.title) for p in NAV_PAGES}
DISPLAY_SIZE = 256         # small pre-images are upscaled (nearest) to about this size
MAX_GIF_FRAMES = 60
DRAW_INTERVAL_S = 0.2      # the pre-image is redrawn at most 5 times a second (and at the end)
PLOT_INTERVAL_S = 1.0      # curves / spectra / metrics are redrawn at most this often


def setup_page(title: str) -> None:
    """Wide layout and a tab title; call first on every page."""
    st.set_page_config(page_title=f"{title} · {APP_NAME}", layout="wide",
                       initial_sidebar_state="expanded")


def guard(main: Callable[[], None]) -> None:
    """Run a page; a VizError or an unexpected exception becomes a short error box, never
    a traceback (the traceback is kept in an expander for bug reports)."""
    try:
        main()
    except VizError as exc:
        st.error(ui_state.ui_message(str(exc)))
    except Exception as exc:  # noqa: BLE001 - the page must never show a traceback
        LOG.exception("unexpected error on a dashboard page")  # the traceback goes to the log
        st.error(f"Something went wrong: {type(exc).__name__}: {exc}. Your settings and the "
                 "last good pre-image are kept; change a setting or reload the page.")


# ----------------------------------------------------------------------------- models

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
def load_reference(source: str | bytes, size: int, channels: int
                   ) -> tuple[np.ndarray, list[str]]:
    """An image to invert as a (1, C, S, S) float32 array in [0, 1] (VizError if bad)."""
    from viz_core.images import load_image

    t, notices = load_image(source, size, channels)
    return t.numpy(), notices


def display_image(img: np.ndarray, base: int = DISPLAY_SIZE) -> Image.Image:
    """A PIL image of a (C, H, W) pre-image, upscaled by an integer factor with
    nearest-neighbour so that 64x64 pixels stay crisp squares."""
    from viz_core.images import to_pil

    side = int(np.asarray(img).shape[-1])
    factor = max(1, base // max(side, 1))
    return to_pil(img, display_size=side * factor if factor > 1 else None)


def show_image(container: Any, img: np.ndarray, caption: str | None = None,
               base: int = DISPLAY_SIZE) -> None:
    """Draw a pre-image at its upscaled pixel size (captions do not stretch it), as a PNG:
    Streamlit would send an image without alpha as JPEG, whose artefacts are not in the
    pre-image (and not in its PNG download)."""
    pil = display_image(img, base)
    container.image(pil, caption=caption, width=pil.width, output_format="PNG")


# ----------------------------------------------------------------------------- URL state

def bind(prefix: str, defaults: Mapping[str, Any],
         choices: Mapping[str, Sequence[Any]] | None = None) -> list[str]:
    """Seed the widget keys ``prefix + name`` before any widget is drawn.

    New query parameters (a shared link, or a page switch that carries settings) replace
    every value; otherwise values the session already has are kept and missing ones come
    from the settings saved when this page last ran (e.g. before a page switch) or the
    defaults. Returns notices about ignored URL values.
    """
    saved_key, url_key = f"{prefix}_saved", f"{prefix}_url"
    params = {k: v for k, v in st.query_params.to_dict().items() if k in defaults}
    notices: list[str] = []
    overwrite = False
    if params and params != st.session_state.get(url_key):
        values, notices = ui_state.decode(params, defaults, choices)
        overwrite = True
    else:
        values = {**defaults, **st.session_state.get(saved_key, {})}
    for name, value in values.items():
        key = prefix + name
        if overwrite or key not in st.session_state:
            st.session_state[key] = value
    if overwrite:
        st.session_state[url_key] = params
    return notices


def apply_settings(prefix: str, values: Mapping[str, Any]) -> None:
    """Set widget values (only from a callback or before the widgets are drawn)."""
    for name, value in values.items():
        st.session_state[prefix + name] = value


def current(prefix: str, defaults: Mapping[str, Any]) -> dict[str, Any]:
    """The page's settings as a plain dict, read from the widget keys."""
    return {k: st.session_state.get(prefix + k, v) for k, v in defaults.items()}


def commit(prefix: str, defaults: Mapping[str, Any]) -> dict[str, Any]:
    """Save the settings for page switches and write the non-default ones to the URL."""
    values = current(prefix, defaults)
    st.session_state[f"{prefix}_saved"] = values
    enc = ui_state.encode(values, defaults)
    if st.query_params.to_dict() != enc:
        st.query_params.from_dict(enc)
    st.session_state[f"{prefix}_url"] = enc
    return values


class Controls:
    """Widgets bound to ``prefix + name`` keys, each followed by an (empty) error slot, so
    that a VizError can be shown right under the control that caused it."""

    def __init__(self, prefix: str, container: Any = None) -> None:
        self.prefix = prefix
        self.c = container if container is not None else st.sidebar
        self.slots: dict[str, Any] = {}
        self.notices: list[str] = []

    def key(self, name: str) -> str:
        return self.prefix + name

    def _slot(self, name: str) -> None:
        self.slots[name] = self.c.empty()

    def _fix(self, name: str, ok: Callable[[Any], bool], fallback: Any) -> None:
        key = self.key(name)
        if key in st.session_state and not ok(st.session_state[key]):
            self.notices.append(f"{name}: {st.session_state[key]!r} is not available here; "
                                f"using {fallback!r}")
            st.session_state[key] = fallback

    def select(self, name: str, label: str, options: Sequence[Any],
               fmt: Callable[[Any], str] = str, **kw) -> Any:
        options = list(options)
        self._fix(name, lambda v: v in options, options[0])
        v = self.c.selectbox(label, options, format_func=fmt, key=self.key(name), **kw)
        self._slot(name)
        return v

    def radio(self, name: str, label: str, options: Sequence[Any],
              fmt: Callable[[Any], str] = str, **kw) -> Any:
        options = list(options)
        self._fix(name, lambda v: v in options, options[0])
        v = self.c.radio(label, options, format_func=fmt, key=self.key(name), horizontal=True,
                         **kw)
        self._slot(name)
        return v

    def slider(self, name: str, label: str, lo: float, hi: float, step: float, **kw) -> Any:
        is_int = all(isinstance(x, int) for x in (lo, hi, step))
        cast = int if is_int else float

        def ok(v: Any) -> bool:
            return (isinstance(v, (int, float)) and not isinstance(v, bool)
                    and lo <= v <= hi and (is_int == isinstance(v, int)))

        key = self.key(name)
        if key in st.session_state and not ok(st.session_state[key]):
            v = st.session_state[key]
            fixed = cast(min(max(v, lo), hi)) if isinstance(v, (int, float)) else cast(lo)
            self.notices.append(f"{name}: {v!r} outside {lo}..{hi}; using {fixed!r}")
            st.session_state[key] = fixed
        v = self.c.slider(label, min_value=cast(lo), max_value=cast(hi), step=cast(step),
                          key=key, **kw)
        self._slot(name)
        return v

    def number(self, name: str, label: str, lo: float | None, hi: float | None,
               step: float, **kw) -> Any:
        is_int = isinstance(step, int)
        cast = int if is_int else float
        key = self.key(name)
        if key in st.session_state:
            v = st.session_state[key]
            bad = (not isinstance(v, (int, float)) or isinstance(v, bool)
                   or (lo is not None and v < lo) or (hi is not None and v > hi))
            if bad:
                fixed = cast(lo if lo is not None else 0)
                if isinstance(v, (int, float)) and not isinstance(v, bool):
                    fixed = cast(min(max(v, lo if lo is not None else v),
                                     hi if hi is not None else v))
                self.notices.append(f"{name}: {v!r} is out of range; using {fixed!r}")
                st.session_state[key] = fixed
            elif isinstance(v, (int, float)) and type(v) is not cast:
                st.session_state[key] = cast(v)
        v = self.c.number_input(label, min_value=None if lo is None else cast(lo),
                                max_value=None if hi is None else cast(hi), step=cast(step),
                                key=key, **kw)
        self._slot(name)
        return v

    def toggle(self, name: str, label: str, **kw) -> bool:
        self._fix(name, lambda v: isinstance(v, bool), False)
        v = self.c.toggle(label, key=self.key(name), **kw)
        self._slot(name)
        return v

    def text(self, name: str, label: str, **kw) -> str:
        self._fix(name, lambda v: isinstance(v, str), "")
        v = self.c.text_input(label, key=self.key(name), **kw)
        self._slot(name)
        return v

    def error(self, name: str, message: str) -> None:
        """Show ``message`` under control ``name`` (or at the end of the controls)."""
        slot = self.slots.get(name)
        if slot is None:
            slot = self.slots.setdefault("_end", self.c.empty())
        slot.error(ui_state.ui_message(message))


# ----------------------------------------------------------------------------- runs

@dataclass
class RunRecord:
    """What a page keeps of a (possibly still running) run, in its session."""

    labels: list[str]
    configs: list[str]                 # each configuration's JSON
    model_label: str
    total: int
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    steps: list[int] = field(default_factory=list)
    objective: list[np.ndarray] = field(default_factory=list)
    activation: list[np.ndarray] = field(default_factory=list)
    images: np.ndarray | None = None   # latest pre-images (B, C, H, W) float32
    frames: list[tuple[int, np.ndarray]] = field(default_factory=list)  # (step, uint8 BCHW)
    diverged: list[str | None] = field(default_factory=list)
    status: str = "running"            # running | done | stopped | diverged | error
    message: str = ""
    elapsed: float = 0.0
    started: float = field(default_factory=time.perf_counter)
    first_frame_s: float | None = None  # wall time from ``started`` to frame 0 drawn
    settings: dict[str, Any] = field(default_factory=dict)  # page settings of this run
    reference: np.ndarray | None = None  # (1, C, S, S) image inverted by this run
    warnings: list[list[str]] = field(default_factory=list)  # per configuration, at the end
    verdicts: list[list[Any]] = field(default_factory=list)  # per configuration (Verdicts)
    shown: int = 0                     # frames recorded when the screen last got a pre-image
    _shown_state: tuple | None = None  # (images, elapsed, diverged) of that frame
    interrupted: bool = False          # a rerun ended this run (Stop, a widget change)
    # the model that made the pre-images and its independent judge (verdict_models): set
    # when the run starts, so that a stopped run is classified by them too, whatever the
    # sidebar says by then
    judges: list[Any] = field(default_factory=list, repr=False, compare=False)
    # Streamlit's fast reruns start the next script run while the interrupted one still
    # computes until its next st.* call: both threads touch this record, so changes are
    # made under this lock, and frames that arrive after the interruption are refused.
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    @property
    def step(self) -> int:
        return self.steps[-1] if self.steps else 0

    def add(self, frame) -> bool:
        """Record an engine Frame; False (and nothing recorded) once the run was
        interrupted: the caller should stop computing."""
        with self._lock:
            if self.interrupted:
                return False
            self._add(frame)
            return True

    def _add(self, frame) -> None:
        self.steps.append(int(frame.step))
        self.objective.append(np.asarray(frame.objective, dtype=np.float64))
        self.activation.append(np.asarray(frame.activation, dtype=np.float64))
        self.images = frame.images
        self.diverged = list(frame.diverged)
        self.elapsed = float(frame.elapsed)
        self.frames.append((self.step, _uint8(frame.images)))
        if len(self.frames) > MAX_GIF_FRAMES:  # keep first, last and every other one
            self.frames = self.frames[:1] + self.frames[2:-1:2] + self.frames[-1:]
        if frame.done:
            if all(m is not None for m in frame.diverged):
                self.status = "diverged"
            else:
                self.status = "stopped" if frame.stopped else "done"

    def mark_shown(self) -> None:
        """The latest recorded frame is now on screen: a Stop keeps exactly this state."""
        with self._lock:
            if self.interrupted:
                return
            self.shown = len(self.steps)
            self._shown_state = (self.images, self.elapsed, list(self.diverged))

    def curves(self) -> tuple[list[int], np.ndarray, np.ndarray]:
        """Steps and (T, B) objective / activation, skipping the step-0 frame (no values)
        and frames without any finite value (a run that diverged at once)."""
        keep = [i for i, s in enumerate(self.steps)
                if s > 0 and np.isfinite(self.objective[i]).any()]
        if not keep:
            n = len(self.labels)
            return [], np.zeros((0, n)), np.zeros((0, n))
        return ([self.steps[i] for i in keep], np.stack([self.objective[i] for i in keep]),
                np.stack([self.activation[i] for i in keep]))

    def mark_interrupted(self) -> None:
        """A rerun found the record still 'running': the user stopped it (Stop or a widget
        change ends the script between frames). Frames recorded after the last one shown
        are dropped, so that the image, its numbers and the downloads are what was on
        screen when Stop was pressed."""
        with self._lock:
            if self.status != "running":
                return
            self.interrupted = True
            self._truncate_to_shown()
        if self.images is not None:  # the kept state gets its warnings and verdicts too
            self._check()

    def _truncate_to_shown(self) -> None:
        if self._shown_state is not None and self.shown < len(self.steps):
            n = self.shown
            del self.steps[n:], self.objective[n:], self.activation[n:]
            self.images, self.elapsed, self.diverged = self._shown_state
            self.frames = [f for f in self.frames if f[0] <= self.step]
            if not self.frames or self.frames[-1][0] != self.step:
                self.frames.append((self.step, _uint8(self.images)))
        self.status = "stopped"
        self.message = (f"stopped at step {self.step} of {self.total} after "
                        f"{self.elapsed:.1f} s; the pre-image, its numbers and the downloads "
                        "are this state")

    def gif(self, index: int = 0) -> bytes:
        from viz_core.images import gif_bytes

        frames = [f[index].astype(np.float32) / 255.0 for _, f in self.frames]
        side = frames[-1].shape[-1]
        return gif_bytes(frames, display_size=side * max(1, DISPLAY_SIZE // side))

    def png(self, index: int = 0) -> bytes:
        from viz_core.images import png_bytes

        return png_bytes(self.images[index], {ui_state.PNG_RUN_KEY: self.json(index),
                                              "Software": APP_NAME})

    def json(self, index: int = 0) -> str:
        """The configuration's JSON with the run's results (restorable by upload)."""
        import json

        d = json.loads(self.configs[index])
        objective = self.objective[-1][index] if self.objective else float("nan")
        activation = self.activation[-1][index] if self.activation else float("nan")
        d["result"] = {"status": self.status, "steps_done": self.step, "total": self.total,
                       "seconds": round(self.elapsed, 3),
                       "objective": _finite(objective), "activation": _finite(activation),
                       "diverged": self.diverged[index] if self.diverged else None,
                       "model": self.model_label}
        if self.warnings and self.warnings[index]:
            d["result"]["warnings"] = self.warnings[index]
        if self.verdicts and self.verdicts[index]:
            d["result"]["classified_as"] = {v.model: v.top for v in self.verdicts[index]}
        return json.dumps(d, indent=2)

    def stale(self, now: Mapping[str, Any]) -> str:
        """"from previous settings: ..." when the page's settings changed since this run."""
        from dashboard.results import stale_note

        return stale_note(self.settings, now) if self.settings else ""

    def finish(self, verdict_models: Sequence[Any] | None = None) -> None:
        """After the run: warnings for degenerate results and the verdicts of
        ``verdict_models`` (default :attr:`judges`: the model and an independent network)
        on each pre-image. An interrupted run got them from :meth:`mark_interrupted`."""
        if verdict_models is not None:
            self.judges = list(verdict_models)
        if self.images is None or self.interrupted:
            return
        self._check()

    def _check(self) -> None:
        import json

        from dashboard.results import class_verdicts, result_warnings

        cfgs = [json.loads(c) for c in self.configs]
        ref = self.reference[0] if self.reference is not None else None
        self.warnings = [result_warnings(self.images[i], cfgs[i], ref)
                         for i in range(len(cfgs))]
        targets = [c.get("target") if c.get("task") == "am" and c.get("channel") is None
                   else None for c in cfgs]
        per_model = []
        for m in self.judges:
            try:
                per_model.append(class_verdicts(m, self.images, targets))
            except Exception:  # noqa: BLE001 - a verdict is extra information, never fatal
                LOG.exception("classifying the pre-images failed")
        self.verdicts = [list(vs) for vs in zip(*per_model)] if per_model else []


def _uint8(images: np.ndarray) -> np.ndarray:
    return np.round(np.clip(np.nan_to_num(images), 0, 1) * 255).astype(np.uint8)


def _finite(v: float) -> float | None:
    v = float(v)
    return v if np.isfinite(v) else None


def stream(configs: list, model, record: RunRecord, draw: Callable[[RunRecord, Any, bool],
           None], *, reference=None, every: int | None = None) -> RunRecord:
    """Run ``configs`` as one batch in this script, drawing each frame.

    ``draw(record, frame, full)`` updates the page's placeholders and calls
    ``record.mark_shown()`` once the pre-image is on screen. The page is redrawn at most
    every :data:`DRAW_INTERVAL_S` seconds (always the first and the last frame); ``full`` is
    True at most every :data:`PLOT_INTERVAL_S` seconds (and on the last frame), when plots
    and metrics are redrawn too. A Stop click or widget change ends the script at the next
    draw; the record in session state keeps the state last shown. Errors end the run with a
    message.
    """
    from viz_core import engine

    last_plot = last_draw = time.perf_counter()
    try:
        for frame in engine.run(configs, model, reference=reference, every=every):
            if not record.add(frame):  # interrupted: a newer script run owns the page
                return record
            now = time.perf_counter()
            first = record.first_frame_s is None
            if not (first or frame.done or now - last_draw >= DRAW_INTERVAL_S):
                continue
            full = frame.done or now - last_plot >= PLOT_INTERVAL_S
            draw(record, frame, full)
            last_draw = time.perf_counter()
            if first:
                record.first_frame_s = last_draw - record.started
            if full:
                last_plot = last_draw
    except VizError as exc:
        record.status, record.message = "error", str(exc)
    except Exception as exc:  # noqa: BLE001 - a failed run is a message, never a traceback
        msg = (str(exc).splitlines() or [""])[0][:300]
        if "out of memory" in msg.lower():
            msg = ("the GPU ran out of memory: try a smaller model or image, fewer schemes in "
                   "the batch, or the CPU device")
        else:
            LOG.exception("run failed")
            msg = f"{type(exc).__name__}: {msg}"
        record.status, record.message = "error", f"the run failed: {msg}"
    with record._lock:
        if record.status == "running" and not record.interrupted:
            record.status = "done"
    return record


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


def status_message(record: RunRecord, stale: str = "") -> None:
    """The run's outcome as an error / warning / success element; ``stale`` (a
    :func:`dashboard.results.stale_note`) says the result is from other settings."""
    if stale:
        st.info(f"The result below is {stale}. Press Run for the current settings.",
                icon=":material/history:")
    if record.status == "error":
        st.error(ui_state.ui_message(record.message))
    msgs = [f"{lab}: {m}" if len(record.labels) > 1 else m
            for lab, m in zip(record.labels, record.diverged) if m]
    for m in msgs:
        st.error(m + (" (the image shown is the last finite pre-image; it can be downloaded)"
                      if record.step > 0 else " (no step completed: the image shown is the "
                      "initial noise)"))
    warned = [f"{lab}: {w}" if len(record.labels) > 1 else w
              for lab, ws in zip(record.labels, record.warnings) for w in ws]
    for w in warned:
        st.warning(w)
    if record.status == "stopped":
        st.warning(record.message or f"stopped at step {record.step} of {record.total}")
    elif record.status == "done" and not msgs and not warned and stale:
        st.caption(f"That run finished: {record.step} steps in {record.elapsed:.1f} s.")
    elif record.status == "done" and not msgs and not warned:
        st.success(f"done: {record.step} steps in {record.elapsed:.1f} s")
    elif record.status == "done" and warned:
        st.caption(f"finished {record.step} steps in {record.elapsed:.1f} s, with the "
                   "warnings above")


def downloads(record: RunRecord, index: int = 0, key: str = "dl", stem: str = "preimage"
              ) -> None:
    """PNG, GIF (built only when clicked) and JSON of one configuration of a run."""
    if record.images is None:
        return
    c1, c2, c3 = st.columns(3)
    c1.download_button("Download PNG", record.png(index), f"{stem}.png", "image/png",
                       key=f"{key}_png", on_click="ignore", width="stretch")
    c2.download_button("Download GIF", lambda: record.gif(index), f"{stem}.gif", "image/gif",
                       key=f"{key}_gif", on_click="ignore", width="stretch")
    c3.download_button("Download run JSON", record.json(index), f"{stem}.json",
                       "application/json", key=f"{key}_json", on_click="ignore",
                       width="stretch")


def weights_line(names: Sequence[str]) -> str:
    """'vgg19: download needed, ...' for captions."""
    return ", ".join(f"{n}: {model_status(n)}" for n in names)


def available(names: Sequence[str]) -> bool:
    """Whether every model in ``names`` has weights on this machine."""
    return all(model_status(n) in ("offline", "cached") for n in names)


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


def draw_curves(ph: dict, rec: Any, key: str) -> None:
    """Objective and target-activation curves of a run record into ``ph["curves"]``: the
    figure is built once per session and series (:func:`session_figure`), then only gets
    new data (redraws stay cheap)."""
    steps, obj, act = rec.curves()
    if not len(steps):
        ph["curves"].info("No curve to draw yet: the run has no finite values.")
        return
    fig = session_figure(("curves", tuple(rec.labels), ph["act_name"]),
                         lambda: plots.curves_figure(steps, obj, act, rec.labels,
                                                     ph["act_name"]),
                         lambda f: plots.set_curves(f, steps, obj, act))
    ph["curves"].plotly_chart(fig, key=f"{key}_curves")
