"""The model box of the Playground, Compare and Sweeps: the zoo, the team's demons-viz.toml
and the networks uploaded as torch.export programs (with their class names), their weights
and device, and a weights download on request; problems are reported under the box."""

from __future__ import annotations

import hashlib
from pathlib import Path, PurePath
from typing import TYPE_CHECKING

import streamlit as st

from dashboard.messages import Notice
from dashboard.programs import (
    NOT_HERE,
    TOKEN_PREFIX,
    class_names_text,
    is_program_name,
    save_program,
    uploaded_program,
)
from dashboard.resources import (
    get_model,
    model_status,
    own_models,
    own_models_error,
    weights_size_mb,
)
from dashboard.settings.labels import CLASS_NAMES_HELP
from dashboard.settings.playground import WEIGHT_CHOICES
from dashboard.urlstate import shown
from dashboard.widgets import Controls
from viz_core.devices import available_devices
from viz_core.errors import VizError

if TYPE_CHECKING:
    from viz_core.models import LoadedModel

__all__ = ["UPLOADED", "model_controls", "model_label", "model_names"]

STATUS_MARK = {"offline": "offline", "cached": "cached", "download needed": "needs download",
               "missing": "weights missing", "own": "your network", "unknown": "?"}
#: Session key of the programs uploaded in this session (paths on the server).
UPLOADED = "own_programs"


def _program_uploaded(key: str, model_key: str, names_key: str) -> None:
    """A .pt2 upload becomes a model of the select box, and the selected one, with the
    class names typed under it (:func:`dashboard.programs.save_program`); names typed later
    for the same file replace its entry (other names are another model), not add one;
    another file is another entry beside the earlier ones."""
    up = st.session_state.get(key)
    if up is None:
        return
    try:
        names = class_names_text(st.session_state.get(names_key))
    except VizError:  # said under the box (model_controls)
        names = None
    data = up.getvalue()
    path = save_program(data, up.name, classes=names)
    programs = st.session_state.setdefault(UPLOADED, [])
    file = hashlib.sha256(data).hexdigest()
    was_file, before = st.session_state.get(key + "_saved") or (None, None)  # its entry
    if was_file == file and before in programs and before != path and path not in programs:
        programs[programs.index(before)] = path
    elif path not in programs:
        programs.append(path)
    st.session_state[key + "_saved"] = (file, path)
    st.session_state[model_key] = path


def model_label(name: str) -> str:
    """A model box entry: a zoo or team model with its weights' status, an uploaded program by
    its file name and the start of its hash."""
    if name.endswith(".pt2"):  # the start of the upload's hash: two uploads of one name
        return f"{Path(name).name}  (uploaded program {Path(name).parent.name[:6]})"
    return f"{name}  ({STATUS_MARK.get(model_status(name), '?')})"


def _check_program(ctl: Controls, names: list[str]) -> None:
    """A program named by a link or a restored run (not uploaded in this session): kept
    only when it is a file of the server's upload folder (a link to a program uploaded
    earlier on this server), else the page's default model, said in a notice. A link
    cannot make the server load any other file."""
    key = ctl.key("model")
    current = st.session_state.get(key)
    if current in names or not is_program_name(current):
        return
    path = uploaded_program(current)
    if path is not None:
        st.session_state[key] = path
        if path not in names:
            names.append(path)
        return
    fallback = ctl.fallback("model", names)
    looks = current.startswith(TOKEN_PREFIX) or current.endswith(".pt2")  # an upload's name
    name = PurePath(current).name if looks else current
    hint = f" ({NOT_HERE})" if looks else ""
    ctl.notices.append(Notice(f"model: {shown(name)} is not available here{hint}; using "
                              f"{fallback!r}"))
    st.session_state[key] = fallback


def _load_error(name: str, exc: VizError) -> tuple[str, str]:
    """The control and the message of a model that could not be opened."""
    field = exc.field if exc.field in ("weights", "device") else "model"
    text = str(exc).rstrip()
    if not text.endswith("."):
        text += "."
    if field == "device" or is_program_name(name):
        return field, text  # other weights cannot help a program
    # random weights: offered once ('random' in any spelling), and only where the weights
    # failed; a network that cannot be built (a module not importable) needs no other weights
    if "random" in text or exc.field != "weights":
        return field, f"{text} Or choose another model."
    return field, f"{text} Choose another model or 'random' weights."


def model_names(ctl: Controls) -> list[str]:
    """The models a page offers: the zoo, the team's demons-viz.toml and the programs this
    session uploaded; a program a link names is added when it is a file of the server's
    upload folder (:func:`_check_program`)."""
    from viz_core.zoo import visualised_models

    names = list(visualised_models()) + own_models()
    names += [p for p in st.session_state.get(UPLOADED, []) if p not in names]
    _check_program(ctl, names)
    return names


def model_controls(ctl: Controls) -> LoadedModel | None:
    """Model (the zoo, the team's demons-viz.toml, uploaded .pt2 programs), weights and
    device; returns the loaded model or None (error shown)."""
    # the independent judge only judges: not offered here
    names = model_names(ctl)
    ctl.select("model", "Model", names, fmt=model_label,
               help="Fashion-MNIST models are shipped offline; ImageNet models need their "
                    "torchvision weights in the torch hub cache; your team's models come "
                    "from demons-viz.toml, your own network from a .pt2 upload.")
    upload = (ctl.key("pt2_file"), ctl.key("model"), ctl.key("pt2_classes"))
    ctl.c.file_uploader("Your network: a torch.export program (.pt2)", type=["pt2"],
                        key=ctl.key("pt2_file"), on_change=_program_uploaded, args=upload,
                        help="torch.export.save(torch.export.export(net.eval(), (x,)), "
                             "'net.pt2'): input pixels in [0, 1], its inner layers selectable. "
                             f"At most {st.get_option('server.maxUploadSize')} MB (this "
                             "server's server.maxUploadSize); a larger network or a TorchScript "
                             "file: list it in demons-viz.toml, and a state_dict there as the "
                             "weights of its network's import string (see the README)")
    if st.session_state.get(ctl.key("pt2_file")) is not None:
        ctl.c.text_area("Class names of your network (optional)", key=ctl.key("pt2_classes"),
                        on_change=_program_uploaded, args=upload, max_chars=200_000,
                        placeholder="one per line, in the order of the logits",
                        help=CLASS_NAMES_HELP)
        try:
            class_names_text(st.session_state.get(ctl.key("pt2_classes")))
        except VizError as exc:
            ctl.error("model", str(exc))
    problem = own_models_error()
    if problem:
        ctl.error("model", problem)
    name = st.session_state[ctl.key("model")]
    _download_button(ctl, name)
    ctl.radio("weights", "Weights", WEIGHT_CHOICES,
              help="'random' uses an untrained network: a sanity check for visualizations.")
    devices = list(available_devices())  # only what this server has (no mps off a Mac)
    ctl.radio("device", "Device", devices,
              help="auto = CUDA when a GPU is available, else CPU"
                   + ("" if "cuda" in devices else " (no CUDA GPU on this server)"))
    try:
        return get_model(name, st.session_state[ctl.key("weights")],
                         st.session_state[ctl.key("device")])
    except VizError as exc:
        ctl.error(*_load_error(name, exc))
        return None
    except Exception as exc:  # noqa: BLE001 - e.g. a corrupt weights file
        ctl.error("model", f"the model could not be loaded: {type(exc).__name__}: {exc}")
        return None


def _download_button(ctl: Controls, name: str) -> None:
    """"Download weights (size)" for a torchvision model whose weights are not here; runs
    only on a click, with a progress bar (viz_core.models.downloads)."""
    if model_status(name) != "download needed":
        return
    size = weights_size_mb(name)
    label = f"Download weights ({size:.0f} MB)" if size else "Download weights"
    if not ctl.c.button(label, key=ctl.key("download")):
        return
    from viz_core.models.downloads import download, weights_file

    bar = ctl.c.progress(0.0, text=f"downloading {name} ...")

    def progress(done: int, total: int | None) -> None:
        if total:
            bar.progress(min(done / total, 1.0), text=f"{done / 1e6:.0f} of "
                                                      f"{total / 1e6:.0f} MB")

    try:
        download(weights_file(name), progress=progress)
    except VizError as exc:
        bar.empty()
        ctl.error("model", str(exc))
        return
    bar.progress(1.0, text=f"{name}: weights downloaded and checked")
    st.cache_resource.clear()
