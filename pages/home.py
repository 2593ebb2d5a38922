"""demons-viz home page: a gallery of pre-images first, a one-click guided demo, then what
the tool does, how to bring your own network, the device and which models are ready."""

from __future__ import annotations

import streamlit as st

from dashboard import demo
from dashboard.navigation import PAGES, page_path
from dashboard.page import guard, setup_page
from dashboard.resources import model_status
from dashboard.settings.compare import compare_defaults
from dashboard.settings.explainers import KERNELS_DEFAULTS
from dashboard.settings.playground import playground_defaults
from dashboard.text import name, plain
from dashboard.urlstate import encode


def _taus(octaves: str) -> str:
    """The step sizes of a ``scale:steps:tau`` schedule in words: '5 then 2.5 then 1'."""
    return " then ".join(part.split(":")[2] for part in octaves.split(",")) if octaves \
        else "one step size"


setup_page("Home")

DEMO_DEFAULTS = {"playground": playground_defaults(),
                 "compare": compare_defaults(),
                 "kernels": KERNELS_DEFAULTS}
PREFIX = {"playground": "pg_", "compare": "cmp_", "kernels": "kx_"}


def _gallery(g: dict | None) -> None:
    if g is None:
        st.info("The gallery of pre-images is not generated on this machine yet "
                f"(`{demo.GALLERY_COMMAND}` writes it). The guided demo below computes "
                "them live.")
        return
    st.caption(f"Under each picture: its class · p, the model's own probability of it · what "
               f"the independent judge, {g['models'][0]['judge']} (another network, trained "
               "apart), sees in it. *Robust* models are adversarially trained (on images "
               "nudged to fool them): their pictures look like the class, where a standard "
               "model's are grey textures that networks, the judge included, still read as "
               "the class.")
    for m in g["models"]:
        st.markdown(f"**Class pre-images of {m['model']}**{demo.training_words(m['model'])} · "
                    f"{demo.scheme_words(m.get('scheme') or m['scheme_title'])} · "
                    f"{m['recognised']} of 10 recognised by the judge (chance: 1 of 10)")
        cells = sorted(m["am"], key=lambda c: c["class"])
        for row in (cells[:5], cells[5:]):
            for col, c in zip(st.columns(5), row):
                col.image(c["png"], width="stretch", output_format="PNG", caption=(
                    f"{c['name']} · p = {c['p_self']:.2f} · judge: {c['judge_top1']}"))
    inv = g.get("inversion")
    if inv:
        floor = demo.flat_floor_db(inv["model"])
        flat = (f"; a flat grey image scores {floor:.1f} dB" if floor is not None else "")
        st.markdown(f"**Inversion across depth** ({inv['model']}): the "
                    f"{demo.image_words(inv['image'])} rebuilt from what deeper and deeper "
                    f"blocks keep of it. dB: how close to the original (PSNR, higher is "
                    f"closer{flat}).")
        cols = st.columns(len(inv["layers"]) + 1)
        cols[0].image(inv["reference_png"], width="stretch", output_format="PNG",
                      caption=f"reference {inv['image']}")
        for col, c in zip(cols[1:], inv["layers"]):
            col.image(c["png"], width="stretch", output_format="PNG", caption=(
                f"{c['layer']} · {c.get('scheme_title', '')} · {c['psnr_db']:.1f} dB · "
                f"feature error {c['feature_error']:.2g}"))
    st.caption(f"Written by `{g.get('command', demo.GALLERY_COMMAND)}` ({g.get('created', '')})"
               ". Feature error: how far the reconstruction's features are from the "
               "original's (relative; 0 = the same). Each inversion uses the scheme and "
               "settings tuned for this model (Paper presets: Tuned); the guided demo's "
               f"Compare run uses one schedule, tau {_taus(compare_defaults()['octaves'])}, "
               "for every scheme, so its numbers differ.")


def _start(step: demo.DemoStep) -> None:
    if step.run:
        st.session_state[demo.autorun_key(PREFIX[step.page])] = True
    st.switch_page(page_path(step.page),
                   query_params=encode({**DEMO_DEFAULTS[step.page], **step.settings},
                                                DEMO_DEFAULTS[step.page]))


def _guided_demo(g: dict | None) -> None:
    st.subheader("Guided demo")
    cols = st.columns(3)
    for i, (col, step) in enumerate(zip(cols, demo.demo_steps(g))):
        with col:
            if st.button(step.title, key=f"home_demo{i}", type="primary" if i == 0 else
                         "secondary", width="stretch"):
                _start(step)
            st.caption(step.caption)


def main() -> None:
    from viz_core.engine import resolve_device

    st.title("demons-viz")
    st.markdown("**See what a network sees, and how regularization shapes it.** Each picture "
                "below is a *pre-image*: an image changed step by step until the network is "
                "sure it shows one class. How each step is smoothed (the regularization) "
                "decides whether it looks like the class or like noise.")
    g = demo.load_gallery()
    _gallery(g)
    _guided_demo(g)
    st.subheader("What it does")
    st.markdown(
        "demons-viz computes **pre-images** of convolutional networks - images that maximize "
        "a class or a feature, or that reproduce an image's features - and lets you choose "
        "how they are regularized. Following Baust et al. "
        "([arXiv:1805.00071](https://arxiv.org/abs/1805.00071)), every regularizer is a "
        "setting of one *demons* update, u ← Ke * (u − τ Kf * ∇D(u)): a fluid kernel Kf "
        "filters the gradient, an elastic kernel Ke the solution, optionally with total "
        "variation. Compare Gaussian and Sobolev filters, fluid and elastic schemes, and the "
        "classic recipes side by side, live, on your own images.")
    _own_network()
    dev = resolve_device("auto")
    if dev.type == "cuda":
        import torch

        st.success(f"Device in use: **CUDA** ({torch.cuda.get_device_name(dev)})")
    else:
        st.info("Device in use: **CPU** (no CUDA GPU found). The offline Fashion-MNIST "
                "models stream in real time; ImageNet networks are slow on a CPU.")

    st.subheader("Pages")
    for info in PAGES:
        if info.url_path:  # every page but this one
            st.page_link(info.path, label=f"**{info.title}**")
            st.caption(info.blurb)
    _models_table()


def _own_network() -> None:
    """The three ways to bring one's own network, one line each, with where to find them."""
    st.subheader("Your own network")
    st.markdown(
        "- **Upload a `.pt2`** (`torch.export.save` of your network): Playground sidebar, "
        "under the model box; its class names go in the box that opens under it.\n"
        "- **A team's list**: `demons-viz.toml` in the folder the server starts in (or the "
        "file `$DEMONS_VIZ_MODELS` names); its models join every model box and the table "
        "below.\n"
        "- **From Python** (a notebook or script): `viz_core.from_module(net, input_size=..., "
        "classes=[...], name=\"mine\")`, then `run_to_end(RunConfig(model=\"mine\", ...))`."
        "\n\n"
        "The README's \"Bring your own network\" has the details.")


#: The Models table's columns, each wide enough for its longest cell in the theme's font
#: (a width measured from the cells cut "independent judge" when most rows leave the role
#: empty); 750 px in all, within the page's 820 px beside the sidebar at 1280 px.
MODEL_COLUMNS = {
    "model": st.column_config.TextColumn("model", width=170,
                                         help="the name a run and a link use"),
    "weights": st.column_config.TextColumn(
        "weights", width=130,
        help="ready: offline (shipped) or cached; download needed: torchvision weights not "
             "in the torch hub cache yet; your network: the team's own (demons-viz.toml)"),
    "input": st.column_config.TextColumn("input", width=85,
                                         help="height x width x channels"),
    "classes": st.column_config.TextColumn(
        "classes", width=155,
        help="how many classes the logits name, and the data set they come from; "
             "numbered: the network names none"),
    "source": st.column_config.TextColumn(
        "source", width=100,
        help="shipped: trained for this project (Fashion-MNIST, offline); torchvision: "
             "ImageNet weights; team: demons-viz.toml (or the file $DEMONS_VIZ_MODELS "
             "names), from the program or import string in the caption below"),
    "note": st.column_config.TextColumn(
        "note", width=110,
        help="in the paper: a network of the paper's experiments (Baust et al., Sec. 3); "
             "judge: the independent judge, which only classifies the other models' "
             "pre-images and is not offered for visualization"),
}


def _models_table() -> None:
    """Every zoo model with the state of its weights, then the team's models
    (``demons-viz.toml``, read from the file: no network is opened), at the full width of
    the page and as tall as its rows: in a side column at 1280 px the input column was cut
    and the last row hid behind an inner scroll."""
    from viz_core.errors import VizError
    from viz_core.models import available_models
    from viz_core.zoo import class_names

    st.subheader("Models")
    rows = []
    for spec in available_models():
        status = model_status(spec.name)
        ready = status in ("offline", "cached")
        rows.append({"model": spec.name,
                     "weights": ("ready: " if ready else "") + status,
                     "input": f"{spec.input_size}x{spec.input_size}x{spec.channels}",
                     "classes": f"{len(class_names(spec))} · "
                     + ("Fashion-MNIST" if spec.family == "offline" else "ImageNet"),
                     "source": "shipped" if spec.family == "offline" else spec.family,
                     "note": "judge" if spec.role == "judge"
                     else "in the paper" if spec.paper else ""})
    try:
        team = demo.team_rows()
    except VizError as exc:  # a broken demons-viz.toml: said, the zoo still listed
        team = []
        st.warning(f"Your team's models are not listed: {plain(str(exc))}")
    shown = [{k: v for k, v in r.items() if k != "from"} for r in team]
    st.dataframe(rows + shown, hide_index=True, width="content", height="content",
                 column_config=MODEL_COLUMNS)
    ready = [r["model"] for r in rows if r["weights"].startswith("ready")]
    need = [r["model"] for r in rows if r["weights"] == "download needed"]
    missing = [r["model"] for r in rows if r["weights"] == "missing"]
    text = (f"Available offline: {', '.join(ready) or 'none yet'}. Need a download "
            f"(torchvision weights into the torch hub cache): {', '.join(need) or 'none'}.")
    if missing:
        text += (f" Offline weights not built yet: {', '.join(missing)} "
                 "(scripts/train_offline.py).")
    if team:
        text += " Your team's: " + ", ".join(f"{name(r['model'])} (from {name(r['from'])})"
                                             for r in team) + "."
    st.caption(text + " Every model also runs with random weights.")


guard(main)
