"""demons-viz home page: what the tool does, the device, which models are ready."""

from __future__ import annotations

import streamlit as st

from dashboard.common import PAGES, guard, model_status, setup_page

setup_page("Home")

PAGE_BLURBS = {
    "playground": "tweak the fluid and elastic kernels, TV, step size and octaves and watch "
                  "the pre-image evolve, with its curves, spectrum and downloads",
    "compare": "the paper's Fig. 1 grid: every demons scheme on one target, run as one batch",
    "kernels": "Gaussian vs Sobolev kernels, their spectra, higher orders and how elastic "
               "steps compound (no network needed)",
    "learn": "the unified update, its special cases, and a 1D example that runs as you move "
             "the sliders",
    "presets": "one click reproduces the paper's figures and the classic recipes, offline "
               "where ImageNet weights are missing",
}


def main() -> None:
    from viz_core.engine import resolve_device
    from viz_core.models import available_models

    st.title("demons-viz")
    st.markdown(
        "demons-viz computes **pre-images** of convolutional networks - images that maximize "
        "a class or a feature, or that reproduce an image's features - and lets you choose "
        "how they are regularized. Following Baust et al. "
        "([arXiv:1805.00071](https://arxiv.org/abs/1805.00071)), every regularizer is a "
        "setting of one *demons* update, u ← Ke * (u − τ Kf * ∇D(u)): a fluid kernel Kf "
        "filters the gradient, an elastic kernel Ke the solution, optionally with total "
        "variation. Compare Gaussian and Sobolev filters, fluid and elastic schemes, and the "
        "classic recipes side by side, live, on your own images.")
    dev = resolve_device("auto")
    if dev.type == "cuda":
        import torch

        st.success(f"Device in use: **CUDA** ({torch.cuda.get_device_name(dev)})")
    else:
        st.info("Device in use: **CPU** (no CUDA GPU found). The offline Fashion-MNIST "
                "models stream in real time; ImageNet networks are slow on a CPU.")

    left, right = st.columns([3, 2], gap="large")
    with left:
        st.subheader("Pages")
        for key in ("playground", "compare", "kernels", "learn", "presets"):
            path, label = PAGES[key]
            st.page_link(path, label=f"**{label}**")
            st.caption(PAGE_BLURBS[key])
    with right:
        st.subheader("Models")
        rows = []
        for spec in available_models():
            status = model_status(spec.name)
            ready = status in ("offline", "cached")
            rows.append({"model": spec.name,
                         "weights": ("ready: " if ready else "") + status,
                         "input": f"{spec.input_size}x{spec.input_size}x{spec.channels}",
                         "in paper": "yes" if spec.paper else ""})
        st.dataframe(rows, hide_index=True, width="stretch")
        ready = [r["model"] for r in rows if r["weights"].startswith("ready")]
        need = [r["model"] for r in rows if r["weights"] == "download needed"]
        missing = [r["model"] for r in rows if r["weights"] == "missing"]
        text = (f"Available offline: {', '.join(ready) or 'none yet'}. Need a download "
                f"(torchvision weights into the torch hub cache): {', '.join(need) or 'none'}.")
        if missing:
            text += (f" Offline weights not built yet: {', '.join(missing)} "
                     "(scripts/train_offline.py).")
        st.caption(text + " Every model also runs with random weights.")


guard(main)
