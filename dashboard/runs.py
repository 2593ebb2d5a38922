"""A run as the dashboard keeps it: :class:`RunRecord` (frames, curves, status, downloads of
a possibly still running batch); :mod:`dashboard.streaming` fills it from the engine.

No Streamlit here: this module is imported and tested without Streamlit. A pre-image PNG
carries its run's JSON in a text chunk (:data:`PNG_RUN_KEY`), read back by
:func:`run_json_from_png`.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any

import numpy as np

from dashboard.file_names import file_stem
from viz_core.errors import VizError
from viz_core.images import from_uint8, png_bytes, quantize_uint8

APP_NAME = "demons-viz"
LOG = logging.getLogger("demons_viz.dashboard")
PNG_RUN_KEY = "demons-viz-run"  # PNG text chunk holding a run's JSON (restores the run)
DISPLAY_SIZE = 256         # small pre-images are upscaled (nearest) to about this size
MAX_GIF_FRAMES = 60
SLIDE_SIZE = 512           # the enlarged PNG download for slides is about this size
#: The cause of :meth:`RunRecord.mark_interrupted` for a run that ended because its page was
#: left (another page, a reload, a closed tab), not by Stop or a changed setting.
LEFT_PAGE = "\0left the page"


@dataclass(frozen=True)
class Classifier:
    """A network listed among :attr:`RunRecord.judges` that classifies the pictures as the
    paper's own test does (Table 1, Sec. 3.2: the other network of the pair): its verdicts
    get the role ``classifier``, beside the model's and the independent judge's."""

    net: Any


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
    grad_norm: np.ndarray | None = None  # (B,) the last frame's data-gradient norms
    images: np.ndarray | None = None   # latest pre-images (B, C, H, W) float32
    frames: list[tuple[int, np.ndarray]] = field(default_factory=list)  # (step, uint8 BCHW)
    diverged: list[str | None] = field(default_factory=list)
    # per sample: the step of the pre-image it shows (a diverged sample's is its last frame
    # before the failure, which the engine keeps: :meth:`shown_step`)
    kept: list[int] = field(default_factory=list)
    status: str = "running"            # running | done | stopped | diverged | error
    message: str = ""
    elapsed: float = 0.0
    started: float = field(default_factory=time.perf_counter)
    first_frame_s: float | None = None  # wall time from ``started`` to frame 0 drawn
    settings: dict[str, Any] = field(default_factory=dict)  # page settings of this run
    reference: np.ndarray | None = None  # (1, C, S, S) image inverted by this run
    warnings: list[list[str]] = field(default_factory=list)  # per configuration, at the end
    verdicts: list[list[Any]] = field(default_factory=list)  # per configuration (Verdicts)
    # what no reconstruction at all would reach: "feature_error", an inversion's relative
    # feature error of a flat image at the reference's mean (set with the verdicts)
    floors: dict[str, float] = field(default_factory=dict)
    shown: int = 0                     # frames recorded when the screen last got a pre-image
    _shown_state: tuple | None = None  # (images, elapsed, diverged, kept) of that frame
    interrupted: bool = False          # a rerun ended this run (Stop, a widget change)
    # the step at which this run joined the same run of another session, already under way
    # (dashboard.shared_runs); None: a run of its own. Its times are that run's (from its
    # start): :meth:`joined`
    joined_at: int | None = None
    # the model that made the pre-images, its independent judge (verdict_models) and a
    # Classifier where the page has one: set when the run starts, so that a stopped run is
    # classified by them too, whatever the sidebar says by then
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

    def joined(self, step: int) -> None:
        """This run joined the same run of another session, already at ``step``
        (:mod:`dashboard.shared_runs`): its frames, times included, are that run's, so its
        :attr:`started` moves back to that run's start (:meth:`add`) and :attr:`elapsed`,
        the JSON's seconds and the stored duration all describe the computation, not this
        session's arrival; :meth:`joined_note` says so beside them."""
        with self._lock:
            if not self.interrupted:
                self.joined_at = int(step)

    def joined_note(self) -> str:
        """" (joined a run another session started, at step 1240)" for a run that joined
        another session's (:meth:`joined`), else ""."""
        if self.joined_at is None:
            return ""
        return f" (joined a run another session started, at step {self.joined_at})"

    def _add(self, frame) -> None:
        if self.joined_at is not None:  # the run began before this session asked for it
            self.started = min(self.started, time.perf_counter() - float(frame.elapsed))
        self.steps.append(int(frame.step))
        self.objective.append(np.asarray(frame.objective, dtype=np.float64))
        self.activation.append(np.asarray(frame.activation, dtype=np.float64))
        g = getattr(frame, "grad_norm", None)  # (a stand-in frame may not carry it)
        self.grad_norm = None if g is None else np.asarray(g, dtype=np.float64)
        self.images = frame.images
        # a sample that diverged since the last frame shows that frame's pre-image again
        before = self.steps[-2] if len(self.steps) > 1 else 0
        self.kept = [self.kept[i] if i < len(self.kept) and i < len(self.diverged)
                     and self.diverged[i] else before if m else self.step
                     for i, m in enumerate(frame.diverged)]
        self.diverged = list(frame.diverged)
        self.elapsed = float(frame.elapsed)
        self.frames.append((self.step, quantize_uint8(frame.images)))
        if len(self.frames) > MAX_GIF_FRAMES:  # keep first, last and every other one
            self.frames = self.frames[:1] + self.frames[2:-1:2] + self.frames[-1:]
        if frame.done:
            if all(m is not None for m in frame.diverged):
                self.status = "diverged"
            else:
                self.status = "stopped" if frame.stopped else "done"

    def shown_step(self, index: int = 0) -> int:
        """The step of the pre-image sample ``index`` shows: the last frame's, or for a
        sample that diverged the frame before its failure (what its caption says)."""
        return self.kept[index] if index < len(self.kept) else self.step

    def mark_shown(self) -> None:
        """The latest recorded frame is now on screen: a Stop keeps exactly this state."""
        with self._lock:
            if self.interrupted:
                return
            self.shown = len(self.steps)
            self._shown_state = (self.images, self.elapsed, list(self.diverged),
                                 list(self.kept))

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

    def mark_interrupted(self, cause: str = "") -> None:
        """A rerun found the record still 'running': the user stopped it (Stop or a widget
        change ends the script between frames). Frames recorded after the last one shown
        are dropped, so that the image, its numbers and the downloads are what was on
        screen when Stop was pressed. ``cause``: the setting whose change ended it (the
        message names it), "" for a Stop, :data:`LEFT_PAGE` for leaving the page."""
        with self._lock:
            if self.status != "running":
                return
            self.interrupted = True
            self._truncate_to_shown(cause)
        if self.images is not None:  # the kept state gets its warnings and verdicts too
            self._check()

    def _truncate_to_shown(self, cause: str = "") -> None:
        if self._shown_state is not None and self.shown < len(self.steps):
            n = self.shown
            del self.steps[n:], self.objective[n:], self.activation[n:]
            self.images, self.elapsed, self.diverged, self.kept = self._shown_state
            self.frames = [f for f in self.frames if f[0] <= self.step]
            if not self.frames or self.frames[-1][0] != self.step:
                self.frames.append((self.step, quantize_uint8(self.images)))
        self.status = "stopped"
        by = (" when its page was left" if cause == LEFT_PAGE else
              f" by the change of {cause}" if cause else "")
        self.message = (f"stopped at step {self.step} of {self.total} after "
                        f"{self.elapsed:.1f} s{self.joined_note()}{by}; the pre-image, its "
                        "numbers and the downloads are this state")

    def gif(self, index: int = 0) -> bytes:
        from viz_core.images import gif_bytes

        frames = [from_uint8(f[index]) for _, f in self.frames]
        side = frames[-1].shape[-1]
        return gif_bytes(frames, display_size=side * max(1, DISPLAY_SIZE // side))

    def png(self, index: int = 0) -> bytes:
        return png_bytes(self.images[index], {PNG_RUN_KEY: self.json(index),
                                              "Software": APP_NAME})

    def png_large(self, index: int = 0, side: int = SLIDE_SIZE) -> bytes:
        """The PNG of :meth:`png` enlarged by an integer factor with nearest-neighbour to
        about ``side`` pixels (crisp squares on a slide), with the same run JSON in its
        text chunk (it restores the run too) and its native size."""
        img = self.images[index]
        native = int(np.asarray(img).shape[-1])
        factor = max(1, side // max(native, 1))
        return png_bytes(img, {PNG_RUN_KEY: self.json(index), "Software": APP_NAME,
                               "native size": f"{native}x{int(np.asarray(img).shape[-2])} "
                                              f"pixels, enlarged x{factor} (nearest neighbour)"},
                         display_size=native * factor if factor > 1 else None)

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
        if self.joined_at is not None:  # seconds are the shared run's, from its start
            d["result"]["joined_at_step"] = self.joined_at
        if self.warnings and self.warnings[index]:
            d["result"]["warnings"] = self.warnings[index]
        if self.verdicts and self.verdicts[index]:
            d["result"]["classified_as"] = {v.model: v.top for v in self.verdicts[index]}
        return json.dumps(d, indent=2)

    def stale(self, now: Mapping[str, Any]) -> str:
        """"from previous settings: ..." when the page's settings changed since this run
        (a class named by the class names of the model that made it)."""
        from dashboard.results import stale_note

        if not self.settings:
            return ""
        classes = self.class_names()
        if classes is None and isinstance(self.settings.get("target"), int):
            cls = self.settings["target"]
            classes = {cls: self.class_name(cls) or ""}
        return stale_note(self.settings, now, classes=classes)

    def class_names(self) -> list[str] | None:
        """The class names of the model that made this run (the first of :attr:`judges`,
        set by the pages when the run starts); None when it has none."""
        classes = getattr(self.judges[0], "classes", None) if self.judges else None
        return [str(c) for c in classes] if classes else None

    def class_name(self, index: Any) -> str | None:
        """Class ``index`` by name: the model's (:meth:`class_names`), else as its zoo
        entry or team file describes it (:func:`viz_core.store.settings_text.class_name`);
        None when neither names it."""
        names = self.class_names()
        if names and isinstance(index, int) and 0 <= index < len(names):
            return names[index]
        import json

        from viz_core.store.settings_text import class_name

        try:
            return class_name(json.loads(self.configs[0]), (), index)
        except Exception:  # noqa: BLE001 - a name is a nicety: the index will do
            return None

    def download_stem(self, index: int = 0) -> str:
        """A file name (without extension) for the downloads of configuration ``index``,
        after the run: model, target, scheme, safe on every system and short, e.g.
        ``fmnist_resnet_robust_trouser_fluid-elastic-sobolev`` (:func:`file_stem`)."""
        import json

        from viz_core.config import RunConfig
        from viz_core.schemes import scheme_of

        try:
            d = json.loads(self.configs[index])
            scheme = scheme_of(RunConfig.from_dict(d)).replace("_", "-")
        except Exception:  # noqa: BLE001 - an unreadable configuration: a plain name
            return "demons-preimage"
        layer = str(d.get("layer") or "")
        if d.get("objective"):
            target = "objective"
        elif d.get("task") == "inversion":
            image = str(d.get("image") or "image").removeprefix("upload:")
            target = f"inv {PurePath(image).stem} {layer}"
        elif d.get("channel") is not None:
            target = f"{layer} ch{d['channel']}"
        else:
            target = self.class_name(d.get("target")) or f"class {d.get('target')}"
        model = str(d.get("model") or self.model_label.split(" ")[0])
        if "/" in model or "\\" in model or model.endswith(".pt2"):  # a file: its name
            model = PurePath(model.replace("\\", "/")).stem
        # the samples of one setting (a diversity batch) by their number
        n = f"sample {index + 1}" if len(self.configs) > 1 and len(set(
            json.dumps({k: v for k, v in json.loads(c).items() if k not in ("seed", "name")},
                       sort_keys=True) for c in self.configs)) == 1 else ""
        return file_stem([model, target, scheme, n])

    def finish(self, verdict_models: Sequence[Any] | None = None) -> None:
        """After the run: warnings for degenerate results and the verdicts of
        ``verdict_models`` (default :attr:`judges`: the model, the independent judge and a
        :class:`Classifier`) on each pre-image. An interrupted run got them from
        :meth:`mark_interrupted`."""
        if verdict_models is not None:
            self.judges = list(verdict_models)
        if self.images is None or self.interrupted:
            return
        self._check()

    def _check(self) -> None:
        import json

        from dashboard.results import Verdict
        from viz_core.image_checks import result_warnings

        cfgs = [json.loads(c) for c in self.configs]
        ref = self.reference[0] if self.reference is not None else None
        self.warnings = [result_warnings(self.images[i], cfgs[i], ref)
                         for i in range(len(cfgs))]
        if self.grad_norm is not None and self.activation:  # an inactive unit: no "done"
            from viz_core.divergence import no_gradient_message

            for i, w in enumerate(self.warnings):
                idle = no_gradient_message(self.step, float(self.grad_norm[i]),
                                           float(self.activation[-1][i]))
                if idle and self.diverged[i] is None:  # the image is the start: no
                    w[:] = [idle]  # "washed out by the regularization" beside it
        # the model's and the judge's verdicts (an AM class target, an inversion's original
        # class: viz_core.store.capture.batch_verdicts, as the CLI and the sweeps store them)
        if not self.judges:
            self.verdicts = []
            return
        from viz_core.config import RunConfig
        from viz_core.store.capture import batch_verdicts

        judge = next((j for j in self.judges[1:] if not isinstance(j, Classifier)), None)
        clf = next((j.net for j in self.judges[1:] if isinstance(j, Classifier)), None)
        try:
            found = batch_verdicts([RunConfig.from_dict(c) for c in cfgs], self.judges[0],
                                   self.images, judge, self.reference, classifier=clf)
        except Exception:  # noqa: BLE001 - a verdict is extra information, never fatal
            LOG.exception("classifying the pre-images failed")
            found = []
        self.verdicts = [[Verdict.of(v) for v in vs] for vs in found] if any(found) else []
        # the flat image's feature error (eq. 3), once for the batch (it shares layer and
        # image): shown beside the pre-images and stored with each run's floors
        from viz_core.store.capture import feature_floor

        try:
            floor = feature_floor(RunConfig.from_dict(cfgs[0]), self.judges[0],
                                  self.reference)
        except Exception:  # noqa: BLE001 - a floor is extra information, never fatal
            LOG.exception("the flat image's feature error failed")
            floor = None
        if floor is not None:
            self.floors["feature_error"] = floor


def _finite(v: float) -> float | None:
    v = float(v)
    return v if np.isfinite(v) else None


def run_json_from_png(data: bytes) -> str:
    """The run JSON a dashboard PNG carries in its text chunk (VizError if it has none),
    read without decoding the image (:func:`dashboard.uploads.png_text`: a decompression
    bomb or an oversized, compressed or undecodable chunk is a message)."""
    from dashboard.uploads import png_text

    text = png_text(data, PNG_RUN_KEY)
    if not text:
        raise VizError("this PNG carries no run settings (only pre-images downloaded from "
                       "the dashboard do)", field="json")
    return text

