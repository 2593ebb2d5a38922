"""Widgets bound to the URL: each page's settings live in ``st.session_state`` under
``prefix + name`` keys, seeded from the URL or the defaults (:func:`bind`), and written
back to the URL after the controls are drawn (:func:`commit`). :class:`Controls` draws the
widgets with an error slot under each one.

Where a value came from decides what is said when a control cannot show it: a value of
the link the page was opened with (or of loaded settings: a run JSON, a recipe,
:func:`apply_settings`) that is changed is named in a warning under the title
(:func:`show_notices`); a value that no longer fits because the user moved another control
(Steps lowered below *Show step t*) is moved into the new range silently, as a slider's
thumb is, and nothing blames a link."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import streamlit as st

from dashboard.messages import Notice, ui_message
from dashboard.text import plain
from dashboard.urlstate import decode, encode, shown

#: Each page's defaults, by prefix (:func:`bind`): what an unusable choice falls back to.
_DEFAULTS: dict[str, Mapping[str, Any]] = {}
SEEN_LINKS = 32  # the links of a page's settings remembered per session (:func:`bind`)
#: What :func:`show_notices` says above the changed values, by where they came from.
HEADINGS = {"link": "Some settings of this link were not usable and were changed:",
            "loaded": "Some of the loaded settings were not usable and were changed:"}


def _origin_key(prefix: str) -> str:
    return f"{prefix}_origin"


def origin(prefix: str) -> tuple[str, frozenset[str]] | None:
    """Where this script run's settings of page ``prefix`` came from: ``("link", names)``
    when :func:`bind` applied a new link (``names``: the settings the link gave),
    ``("loaded", names)`` after :func:`apply_settings` (a run JSON, a recipe), else None
    (the session's own values, changed only by the user's widgets)."""
    return st.session_state.get(_origin_key(prefix))


def entered_page(title: str) -> None:
    """Record which page this script run shows (called first on every page): whether it
    is a switch from another page or a rerun of the same one, for :func:`bind`."""
    st.session_state["_page_switched"] = st.session_state.get("_page_now") != title
    st.session_state["_page_now"] = title


def history_navigation() -> bool:
    """Whether the browser's Back or Forward button started this script run (Streamlit
    says so in the run's context): the URL then holds the settings to restore, even one
    this page showed before, and a URL without parameters means the defaults."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    return bool(getattr(ctx, "is_history_navigation", False))


def _remember(seen_key: str, params: Mapping[str, str]) -> None:
    seen = [p for p in st.session_state.get(seen_key, []) if p != params]
    st.session_state[seen_key] = [*seen, dict(params)][-SEEN_LINKS:]


def bind(prefix: str, defaults: Mapping[str, Any],
         choices: Mapping[str, Sequence[Any]] | None = None) -> list[str]:
    """Seed the widget keys ``prefix + name`` before any widget is drawn.

    New query parameters (a shared link, or a page switch that carries settings) replace
    every value; otherwise values the session already has are kept and missing ones come
    from the settings saved when this page last ran (e.g. before a page switch) or the
    defaults. A rerun of the same page whose URL is one this page showed before is not a
    new link but a stale one: a widget change made before the browser had the URL of the
    previous run (a layer picked while an upload's run was still writing its model to the
    URL) must not bring the older settings back. The browser's Back and Forward buttons
    (:func:`history_navigation`) do bring them back: the URL they go to holds the settings
    of that step, and one without parameters the defaults. Returns notices about ignored
    URL values.

    Also records where this run's settings came from (:func:`origin`): the names a new
    link set, or those :func:`apply_settings` loaded since the last run; on any other run
    none, so that :class:`Controls` does not blame a link for a value the user's own
    change pushed out of range.
    """
    _DEFAULTS[prefix] = defaults
    saved_key, url_key, seen_key = f"{prefix}_saved", f"{prefix}_url", f"{prefix}_seen"
    query = st.query_params.to_dict()
    params = {k: v for k, v in query.items() if k in defaults}
    notices: list[str] = _unknown(prefix, query, defaults)
    overwrite = False
    back = history_navigation()  # Back / Forward: the URL is the settings asked for
    stale = (not back and not st.session_state.get("_page_switched", True)
             and params in st.session_state.get(seen_key, []))
    if ((params or back) and params != st.session_state.get(url_key) and not stale):
        values, notices = decode(params, defaults, choices)
        overwrite = True
    else:
        values = {**defaults, **st.session_state.get(saved_key, {})}
    for name, value in values.items():
        key = prefix + name
        if overwrite or key not in st.session_state:
            st.session_state[key] = value
    loaded = st.session_state.pop(f"{prefix}_loaded", None)
    if overwrite:
        st.session_state[url_key] = params
        _remember(seen_key, params)
        st.session_state[_origin_key(prefix)] = ("link", frozenset(params))
    elif loaded:
        st.session_state[_origin_key(prefix)] = ("loaded", frozenset(loaded))
    else:
        st.session_state.pop(_origin_key(prefix), None)
    return notices


#: Query parameters Streamlit itself reads (never a page's setting).
STREAMLIT_PARAMS = ("embed", "embed_options")


def _unknown(prefix: str, query: Mapping[str, str], defaults: Mapping[str, Any]) -> list[str]:
    """Notices for a link's names that are no setting of this page (a typo, another page's
    setting), each said once per session; the page's next URL drops them."""
    told = st.session_state.setdefault(f"{prefix}_unknown_told", set())
    out = []
    for k, v in query.items():
        if k in defaults or k in STREAMLIT_PARAMS or (k, v) in told:
            continue
        told.add((k, v))
        out.append(Notice(f"{shown(k)} is not a setting of this page; ignored "
                          f"(value {shown(v)})"))
    return out


def apply_settings(prefix: str, values: Mapping[str, Any]) -> None:
    """Set widget values (only from a callback or before the widgets are drawn): loaded
    settings (a run JSON, a recipe), whose unusable values the next script run names under
    the title (:func:`origin`, :func:`show_notices`)."""
    for name, value in values.items():
        st.session_state[prefix + name] = value
    st.session_state[f"{prefix}_loaded"] = (set(st.session_state.get(f"{prefix}_loaded") or ())
                                            | set(values))
    st.session_state[_origin_key(prefix)] = ("loaded", frozenset(
        st.session_state[f"{prefix}_loaded"]))


def current(prefix: str, defaults: Mapping[str, Any]) -> dict[str, Any]:
    """The page's settings as a plain dict, read from the widget keys."""
    return {k: st.session_state.get(prefix + k, v) for k, v in defaults.items()}


def commit(prefix: str, defaults: Mapping[str, Any],
           always: Sequence[str] = ()) -> dict[str, Any]:
    """Save the settings for page switches and write the non-default ones to the URL,
    and the ``always`` ones whatever their value (where a link without them means
    something else)."""
    values = current(prefix, defaults)
    st.session_state[f"{prefix}_saved"] = values
    enc = encode(values, {k: None if k in always else v for k, v in defaults.items()})
    if st.query_params.to_dict() != enc:
        st.query_params.from_dict(enc)
    st.session_state[f"{prefix}_url"] = enc
    _remember(f"{prefix}_seen", enc)
    return values


def _clamp(v: float, lo: float | None, hi: float | None) -> float:
    """``v`` within ``[lo, hi]`` (a bound of None: none on that side).

    >>> _clamp(-1.0, 0.0, None), _clamp(7, None, 5), _clamp(3, 1, 5)
    (0.0, 5, 3)
    """
    if lo is not None and v < lo:
        return lo
    if hi is not None and v > hi:
        return hi
    return v


def show_notices(prefix: str, notices: Sequence[str], values: Mapping[str, Any]) -> None:
    """What :func:`bind` and :class:`Controls` changed in a link's (or loaded) settings: a
    warning box (call it under the page's title) that names each changed value once, for
    as long as the settings are still those the notices are about. The box says whether
    the values came from the link or from loaded settings (:func:`origin`). Loaded
    settings (a run JSON, a recipe, picked in the sidebar while the title may be scrolled
    away) also get a toast when it happens, :func:`notice_toast`: how many, and where they
    are named, not the same words again."""
    key = f"{prefix}_notices"
    if notices:
        where = origin(prefix)
        st.session_state[key] = (dict(values), list(notices), where[0] if where else "link")
        if where and where[0] == "loaded":
            st.toast(notice_toast(len(notices)))
    kept = st.session_state.get(key)
    if kept is None:
        return
    if kept[0] != dict(values):  # the user has changed a setting since: no longer news
        del st.session_state[key]
        return
    heading = HEADINGS.get(kept[2] if len(kept) > 2 else "link", HEADINGS["link"])
    st.warning(heading + "\n\n" + "\n".join(f"- {plain(ui_message(n))}" for n in kept[1]))


def notice_toast(count: int) -> str:
    """The toast beside :func:`show_notices`' box for loaded settings: a count and a
    pointer, never a notice's own text (the box names each value once).

    >>> notice_toast(1)
    '1 loaded setting was changed; the warning under the title says which'
    """
    what = "setting was" if count == 1 else "settings were"
    return f"{count} loaded {what} changed; the warning under the title says which"


class Controls:
    """Widgets bound to ``prefix + name`` keys, each followed by an (empty) error slot, so
    that a VizError can be shown right under the control that caused it.

    A value a control cannot show is changed to the nearest usable one. It is a notice
    (:attr:`notices`, for :func:`show_notices`) when the value came from this run's link
    or loaded settings (:func:`origin`); otherwise the user's own change of another control
    moved it out of range (Steps lowered below *Show step t*), and it is only recorded in
    :attr:`adjusted`, not said as a problem of a link."""

    def __init__(self, prefix: str, container: Any = None) -> None:
        self.prefix = prefix
        self.c = container if container is not None else st.sidebar
        self.slots: dict[str, Any] = {}
        self.notices: list[str] = []
        self.adjusted: list[str] = []  # values fitted to a range another control changed

    def key(self, name: str) -> str:
        return self.prefix + name

    def _slot(self, name: str) -> None:
        self.slots[name] = self.c.empty()

    def _value(self, name: str, kw: dict) -> dict:
        """``kw`` with the seeded value as the widget's own default, when the page seeded
        one (:func:`bind`): a number box's first paint shows its default (else the
        minimum) until the session's value arrives, so without it every page load flashed
        ``Steps = 1`` for 30-760 ms (tests/e2e/test_first_paint.py). Sliders and text boxes
        get the same default for consistency (Streamlit 1.67 mounts a text box empty for a
        few milliseconds whatever its default). Widgets with a key are identified by the
        key, not by the default, so nothing else changes."""
        key = self.key(name)
        if key in st.session_state and "value" not in kw:
            return {**kw, "value": st.session_state[key]}
        return kw

    def _said(self, name: str, text: str) -> None:
        """A changed value of ``name``: a notice when the link or loaded settings of this
        run gave it, else only recorded (the user's change of another control)."""
        where = origin(self.prefix)
        if where is not None and name in where[1]:
            self.notices.append(Notice(text))
        else:
            self.adjusted.append(text)

    def _fix(self, name: str, ok: Callable[[Any], bool], fallback: Any) -> None:
        key = self.key(name)
        if key in st.session_state and not ok(st.session_state[key]):
            self._said(name, f"{name}: {shown(st.session_state[key])} is not available here; "
                             f"using {fallback!r}")
            st.session_state[key] = fallback

    def fallback(self, name: str, options: list) -> Any:
        """The page's default for ``name`` when it is one of ``options``, else the first."""
        default = _DEFAULTS.get(self.prefix, {}).get(name)
        return default if default in options else options[0]

    def select(self, name: str, label: str, options: Sequence[Any],
               fmt: Callable[[Any], str] = str, fallback: Any = None, **kw) -> Any:
        """A select box; a value not among ``options`` (another model's layer, say)
        becomes ``fallback`` if it is one of them, else :meth:`fallback`'s choice."""
        options = list(options)
        self._fix(name, lambda v: v in options,
                  fallback if fallback in options else self.fallback(name, options))
        key, words = self.key(name), f"_words_{self.key(name)}"
        if key in st.session_state and st.session_state.get(words) not in (
                None, fmt(st.session_state[key])):  # the choice's words follow another
            st.session_state[key] = st.session_state[key]  # setting: the browser's box
            # shows them (it would keep the words it was given last)
        v = self.c.selectbox(label, options, format_func=fmt, key=key, **kw)
        st.session_state[words] = fmt(v)
        self._slot(name)
        return v

    def radio(self, name: str, label: str, options: Sequence[Any],
              fmt: Callable[[Any], str] = str, **kw) -> Any:
        options = list(options)
        self._fix(name, lambda v: v in options, self.fallback(name, options))
        v = self.c.radio(label, options, format_func=fmt, key=self.key(name), horizontal=True,
                         **kw)
        self._slot(name)
        return v

    def slider(self, name: str, label: str, lo: float, hi: float, step: float, **kw) -> Any:
        is_int = all(isinstance(x, int) for x in (lo, hi, step))
        cast = int if is_int else float

        def ok(v: Any) -> bool:
            return (isinstance(v, (int, float)) and not isinstance(v, bool)
                    and lo <= v <= hi and (is_int == isinstance(v, int))
                    and (not is_int or (v - lo) % step == 0))

        key = self.key(name)
        if key in st.session_state and not ok(st.session_state[key]):
            v = st.session_state[key]
            fixed = cast(lo)
            if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v):
                fixed = cast(_clamp(v, lo, hi))
                if is_int:  # on the slider's steps (a kernel size stays odd)
                    fixed = min(lo + int(math.floor((fixed - lo) / step + 0.5)) * step, hi)
            where = f"outside {lo}..{hi}" if not (isinstance(v, (int, float))
                                                  and lo <= v <= hi) \
                else f"not one of {lo}, {lo + step}, ..., {hi}"
            self._said(name, f"{name}: {shown(v)} {where}; using {fixed!r}")
            st.session_state[key] = fixed
        v = self.c.slider(label, min_value=cast(lo), max_value=cast(hi), step=cast(step),
                          key=key, **self._value(name, kw))
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
                    fixed = cast(_clamp(v, lo, hi))
                self._said(name, f"{name}: {shown(v)} is out of range; using {fixed!r}")
                st.session_state[key] = fixed
            elif isinstance(v, (int, float)) and type(v) is not cast:
                st.session_state[key] = cast(v)
        v = self.c.number_input(label, min_value=None if lo is None else cast(lo),
                                max_value=None if hi is None else cast(hi), step=cast(step),
                                key=key, **self._value(name, kw))
        self._slot(name)
        return v

    def toggle(self, name: str, label: str, **kw) -> bool:
        self._fix(name, lambda v: isinstance(v, bool), False)
        v = self.c.toggle(label, key=self.key(name), **kw)
        self._slot(name)
        return v

    def text(self, name: str, label: str, **kw) -> str:
        self._fix(name, lambda v: isinstance(v, str), "")
        v = self.c.text_input(label, key=self.key(name), **self._value(name, kw))
        self._slot(name)
        return v

    def error(self, name: str, message: str) -> None:
        """Show ``message`` under control ``name`` (or at the end of the controls)."""
        slot = self.slots.get(name)
        if slot is None:
            slot = self.slots.setdefault("_end", self.c.empty())
        slot.error(plain(ui_message(message)))

