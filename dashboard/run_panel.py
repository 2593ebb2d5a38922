"""One run lifecycle for every page that runs the engine (Playground, Compare schemes, Paper
presets), written once.

A page binds its controls, validates its settings into batches (:class:`Job`), then asks
its :class:`RunPanel` for

1. the buttons (:meth:`RunPanel.buttons`: Run, Stop, the first error beside them);
2. the records kept from earlier script runs (:meth:`RunPanel.restore`: a record still
   "running" was stopped by a Stop click or a widget change);
3. a run (:meth:`RunPanel.run`: one :class:`~dashboard.runs.RunRecord` per job, streamed
   through :attr:`RunPanel.streamer` into the page's ``draw`` callback, then finished:
   warnings and the judges' verdicts);
4. the status and the downloads of what is shown (:meth:`RunPanel.status`,
   :meth:`RunPanel.downloads`).

Hooks for other parts of the dashboard:

* :func:`on_finish` registers ``hook(record, panel)``, called once for every record that
  ends (done, stopped, diverged or error) on any page, e.g. to keep a history of runs;
* :func:`run_action` registers ``action(panel, records, key)``, drawn after the downloads of
  every page's run, e.g. an "Export report" button;
* :attr:`RunPanel.streamer` is the function that runs a batch and draws its frames
  (:func:`dashboard.streaming.stream` by default: the engine in a worker thread, the page
  drawing its latest frame at a bounded rate).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import streamlit as st
from streamlit.runtime.scriptrunner import StopException, get_script_run_ctx

try:  # Streamlit's internals (checked on 1.67): without them a click inside a fragment
    from streamlit.runtime.scriptrunner_utils.script_requests import (  # waits for the run
        ScriptRequestType,
    )
except ImportError:  # pragma: no cover - another Streamlit version
    ScriptRequestType = None

from dashboard.demo import take_autorun
from dashboard.jobs import Job
from dashboard.page import downloads, status_message
from dashboard.programs import public_config_json
from dashboard.runs import LEFT_PAGE, LOG, RunRecord
from dashboard.streaming import AFTER_RUNS_LIMIT_S, TURNS, after_other_runs, stream
from dashboard.text import name, plain
from viz_core.engine import load_reference
from viz_core.errors import VizError

#: How long a script that Streamlit stopped during a run waits for a new script run of its
#: session to take the run over (:meth:`RunPanel._keep_stopped`) before it keeps it itself.
HANDOVER_S = 3.0
STOP_HELP = ("ends the run between steps and keeps the pre-image shown (changing any control "
             "also ends a running run)")

FinishHook = Callable[[RunRecord, "RunPanel"], None]
RunAction = Callable[["RunPanel", list[RunRecord], str], None]
FINISH_HOOKS: list[FinishHook] = []
RUN_ACTIONS: list[RunAction] = []


def on_finish(hook: FinishHook) -> FinishHook:
    """Register ``hook(record, panel)``: called once for each record that ends, on every
    page (usable as a decorator)."""
    FINISH_HOOKS.append(hook)
    return hook


def run_action(action: RunAction) -> RunAction:
    """Register ``action(panel, records, key)``: drawn after the downloads of a finished run
    on every page, e.g. one more button, its widgets keyed from ``key`` (unique per call:
    a page may show several runs' downloads; usable as a decorator)."""
    RUN_ACTIONS.append(action)
    return action


def _yield_to_streamlit() -> None:
    """A Streamlit yield point that sends nothing: reading the session state lets a pending
    widget change end the script here (Streamlit raises its control exception at such
    points). A click inside a fragment (the pages' run areas: Stop, Run) would only be
    queued behind the running script: it ends the run here too, with a rerun of the
    fragment (of the whole page when the fragment runs as part of one) that carries it."""
    _ = "_" in st.session_state
    if _fragment_click_waiting():
        ctx = get_script_run_ctx()
        st.rerun(scope="fragment" if getattr(ctx, "fragment_ids_this_run", None) else "app")


def _back_from_another_page() -> bool:
    """Whether this script run shows its page again after another page (a whole run of the
    page, not of a fragment: Run and Stop rerun only the run area): a run still "running"
    then ended when the user left the page (:func:`dashboard.widgets.entered_page`)."""
    ctx = get_script_run_ctx()
    if ctx is None or getattr(ctx, "fragment_ids_this_run", None):
        return False
    return bool(st.session_state.get("_page_switched"))


def _fragment_click_waiting() -> bool:
    """Whether a rerun of a fragment waits for this script run to end (Streamlit does not
    let such a rerun interrupt a running script; see ``ScriptRequests``)."""
    if ScriptRequestType is None:
        return False
    req = getattr(get_script_run_ctx(), "script_requests", None)
    data = getattr(req, "_rerun_data", None)
    return (getattr(req, "_state", None) is ScriptRequestType.RERUN and data is not None
            and bool(data.fragment_id_queue) and not data.is_fragment_scoped_rerun)


@dataclass(frozen=True)
class RunButton:
    """A button that starts a run: its key is the panel's prefix + ``name``."""

    name: str
    label: str
    disabled: bool = False
    help: str | None = None


class RunPanel:
    """The run of one page (or one preset), kept in ``st.session_state[prefix + "records"]``.

    ``label`` names the Run button; ``autorun`` starts a run when the Home page's guided
    demo asked for one (:func:`dashboard.demo.take_autorun`).
    """

    def __init__(self, prefix: str, *, label: str = "Run", autorun: bool = False) -> None:
        self.prefix = prefix
        self.label = label
        self.autorun = autorun
        self.streamer: Callable[..., RunRecord] = stream
        self.finish_hooks: list[FinishHook] = list(FINISH_HOOKS)
        self.actions: list[RunAction] = list(RUN_ACTIONS)

    # ------------------------------------------------------------------------- records

    @property
    def key(self) -> str:
        """The session-state key of this panel's records."""
        return self.prefix + "records"

    @property
    def records(self) -> list[RunRecord]:
        """The records of the latest run (one per job), [] before the first."""
        return st.session_state.get(self.key) or []

    def keep(self, records: list[RunRecord]) -> None:
        """Keep only ``records`` (e.g. fewer models than the last run had)."""
        st.session_state[self.key] = records

    def restore(self, settings: dict[str, Any] | None = None) -> list[RunRecord]:
        """The records kept from earlier script runs. One that is still "running" was
        ended by a Stop click or a widget change: it keeps the state last shown, and the
        finish hooks see it now. ``settings``: the page's settings now; a run they differ
        from was ended by that change, and its message says which setting."""
        from dashboard.results import change_cause

        recs = self.records
        left = _back_from_another_page()
        for rec in recs:
            was_running = rec.status == "running"
            cause = LEFT_PAGE if was_running and left else change_cause(
                rec.settings, settings) if was_running and settings and rec.settings else ""
            rec.mark_interrupted(cause)
            if was_running and rec.status != "running":
                self._finished(rec)
        return recs

    def _finished(self, rec: RunRecord) -> None:
        reported = st.session_state.setdefault(self.prefix + "reported", set())
        if rec.run_id in reported:
            return
        reported.add(rec.run_id)
        for hook in self.finish_hooks:
            try:
                hook(rec, self)
            except Exception:  # noqa: BLE001 - a hook never breaks the page
                LOG.exception("a run-finish hook failed")

    # ------------------------------------------------------------------------- buttons

    def buttons(self, errors: Sequence[str] = (), *,
                choices: Sequence[RunButton] = ()) -> str | None:
        """Run button(s), Stop, and the first of ``errors`` (which disable the Run
        buttons). Returns the name of the run that starts now ("run" for the default
        button), or None."""
        choices = list(choices) or [RunButton("run", self.label)]
        # a long label gets a wider column (at 1280 px "Run offline version" was cut off)
        widths = [2 if len(b.label) > 10 else 1 for b in choices]
        cols = st.columns(widths + [1, max(1, 5 - len(choices))])
        started = None
        for i, (col, b) in enumerate(zip(cols, choices)):
            if col.button(b.label, key=self.prefix + b.name, type="primary" if i == 0 else
                          "secondary", disabled=bool(errors) or b.disabled, help=b.help,
                          width="stretch"):
                started = b.name
        if self.autorun and take_autorun(st.session_state, self.prefix) and not errors:
            started = started or choices[0].name  # the guided demo on the Home page
        cols[len(choices)].button("Stop", key=self.prefix + "stop", width="stretch",
                                  help=STOP_HELP)
        if errors:
            cols[-1].error(plain(errors[0]), icon="⚠️")
        return started

    # ------------------------------------------------------------------------- running

    def run(self, jobs: Sequence[Job], draw: Callable[[int, RunRecord, bool], None], *,
            settings: dict[str, Any] | None = None, started: float | None = None,
            plots_after: bool = False) -> list[RunRecord]:
        """Run ``jobs`` one after the other, each as one streamed batch.

        ``draw(index, record, full)`` updates the page's placeholders for job ``index``
        and calls ``record.mark_shown()`` once its pre-images are on screen (``full``: also
        the plots; see :func:`dashboard.streaming.stream`). ``settings``: the page's settings,
        kept on each record (a later change makes the result "stale"); ``started``: when
        the click started this script (time to first frame); ``plots_after``: the page
        draws the plots of the last frame itself, after the run's status (the last
        ``draw`` is then not ``full``).
        """
        recs: list[RunRecord] = []
        self.keep(recs)
        try:
            self._run_jobs(jobs, draw, recs, settings, started, plots_after)
        except StopException:  # Streamlit ended this script run in the middle of the run
            self._keep_stopped(recs)
            raise
        return recs

    def _run_jobs(self, jobs: Sequence[Job], draw: Callable[[int, RunRecord, bool], None],
                  recs: list[RunRecord], settings: dict[str, Any] | None,
                  started: float | None, plots_after: bool) -> None:
        import torch

        for i, job in enumerate(jobs):
            if any(r.interrupted for r in recs):  # a newer script run owns the page
                break
            model, error = job.model, ""
            if model is None and job.load is not None:
                try:
                    model = job.load()
                except VizError as exc:
                    error = str(exc)
            judges = job.judges
            if callable(judges):  # the judges of the model just loaded
                judges = judges(model) if model is not None else None
            c0 = job.configs[0]
            reference = job.reference
            if reference is None and model is not None and c0.task == "inversion":
                # the image the engine inverts, kept for the verdicts on the original's
                # class (Table 1's test), the warnings and PSNR / SSIM of the stored run
                try:
                    reference = load_reference(c0, model).numpy()
                except VizError:
                    reference = None  # the engine's run says what is wrong with it
            kw = {} if started is None else {"started": started}
            labels = list(job.labels or [c.name for c in job.configs])
            rec = RunRecord(labels, [public_config_json(c) for c in job.configs],
                            model.label if model is not None else c0.model, c0.total_steps,
                            settings=dict(settings or {}), reference=reference,
                            judges=list(judges or []), **kw)
            recs.append(rec)
            if model is None:
                rec.status, rec.message = "error", error or "the model could not be loaded"
                self._finished(rec)
                continue
            ref = torch.from_numpy(reference) if reference is not None else None
            self.streamer(job.configs, model, rec,
                          lambda r, frame, full, i=i: draw(i, r, full),
                          reference=ref, every=c0.every, tick=_yield_to_streamlit,
                          final_full=not plots_after)
            if rec.interrupted:
                break
            rec.finish()
            self._finished(rec)

    def _keep_stopped(self, recs: list[RunRecord]) -> None:
        """Streamlit stopped this script during a run. A widget change (Stop, another
        setting) does that and starts a new script run at once (fast reruns), whose
        :meth:`restore` keeps the state shown; a reload or a closed tab ends the session and
        nothing restores the run. So wait up to :data:`HANDOVER_S` for a new script run to
        take the records over; those it does not are stopped here at the state shown and
        given to the finish hooks (the history stores them). Streamlit calls raise in this
        script now: the hooks get a stand-in panel that reads no session state."""
        running = [r for r in recs if r.status == "running"]
        deadline = time.perf_counter() + HANDOVER_S
        while any(not r.interrupted for r in running) and time.perf_counter() < deadline:
            time.sleep(0.05)
        stand_in = SimpleNamespace(prefix=self.prefix, records=recs)
        for rec in running:
            if rec.interrupted:  # a new script run restored it
                continue
            rec.mark_interrupted(LEFT_PAGE)  # no run of this page took it over: left
            for hook in self.finish_hooks:
                with contextlib.suppress(Exception, StopException):  # never breaks the stop
                    hook(rec, stand_in)

    # ------------------------------------------------------------------------- results

    @staticmethod
    def after_other_runs(placeholder: Any = None) -> None:
        """Before the final plots of a run that just ended: wait (a few seconds at most,
        Stop still seen) while other sessions' runs stream, so that drawing the figures
        never slows their optimisation (:func:`dashboard.streaming.after_other_runs`);
        ``placeholder`` (where the plots go) says so meanwhile."""
        if TURNS.runs and placeholder is not None:
            placeholder.caption("The plots follow when the runs of other sessions on this "
                                f"server end ({AFTER_RUNS_LIMIT_S:.0f} s at most).")
        after_other_runs(tick=_yield_to_streamlit)

    def status(self, rec: RunRecord, settings: dict[str, Any] | None = None,
               title: str = "", said_above: bool = False) -> None:
        """A record's outcome (error, divergence, warnings, stop, done), with a note when
        ``settings`` changed since it ran; ``title`` above it; ``said_above``: one of its
        warnings is shown above (:func:`~dashboard.page.status_message`)."""
        if title:
            st.markdown(f"**{name(title)}**")
        status_message(rec, rec.stale(settings) if settings else "", said_above)

    def downloads(self, records: Sequence[RunRecord], stem: str | None = None, *,
                  index: int = 0, stems: Sequence[str] | None = None) -> None:
        """PNG, GIF and JSON of one cell of ``records`` (the same cell of each model's
        batch; a select box picks it when a batch has several), then the registered
        :func:`run_action` buttons. ``stems``: a file name per cell, else ``stem``, else
        each file is named after its run (model, target, scheme:
        :meth:`~dashboard.runs.RunRecord.download_stem`)."""
        recs = [r for r in records if r.images is not None]
        if not recs or any(r.status == "running" for r in records):
            return
        labels = recs[0].labels
        cell = 0
        if len(labels) > 1:
            cell = st.selectbox("Download a cell of the run shown", range(len(labels)),
                                format_func=lambda j: labels[j],
                                key=f"{self.key}_cell{index}")
        for m, rec in enumerate(recs):
            st.caption(plain(f"Downloads of the run shown: {rec.labels[cell]} · "
                             f"{rec.model_label}"))
            file = stems[cell] if stems else stem or rec.download_stem(cell)
            downloads(rec, cell, f"{self.key}_dl{index}_{m}", file)
        for action in self.actions:
            action(self, list(records), f"{self.key}_act{index}")

