"""Dashboard pages through streamlit.testing.v1.AppTest (no browser).

Runs use the dashboard's default model, whose offline weights are committed in
assets/models (a missing file fails), with few steps and the 64x64 input. The helpers
(``dash``) come from tests/conftest.py.
"""

from __future__ import annotations

import contextlib
import json
import re
import time
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from dashboard.navigation import page_path
from dashboard.settings.playground import playground_defaults
from viz_core import models, zoo
from viz_core.offline_nets import offline_layers
from viz_core.samples import sample_paths

ROOT = Path(__file__).resolve().parents[1]
PG, CMP, KX, LEARN, PP = (page_path(k) for k in ("playground", "compare", "kernels", "learn",
                                                 "presets"))
MODEL = playground_defaults()["model"]  # the dashboard's default: fmnist_resnet_robust
# the default model's blocks: the middle one (block2 of a VGG, layer2 of a ResNet) and the
# one below the deepest
_BLOCKS = [lay for lay in offline_layers(zoo.get_spec(MODEL).architecture)
           if "." not in lay and lay != "logits"]
MID, DEEP = _BLOCKS[(len(_BLOCKS) - 1) // 2], _BLOCKS[-2]


def test_device_choices_are_the_devices_this_machine_has(dash):
    import torch

    expected = ["auto", "cpu"] + ["cuda"] * torch.cuda.is_available() + \
        ["mps"] * torch.backends.mps.is_available()
    at = dash.open(PG)
    assert at.radio(key="pg_device").options == expected
    if "mps" not in expected:  # an old link that asks for a device not here
        old = dash.open(PG, device="mps")
        dash.no_exception(old)
        assert old.radio(key="pg_device").value == "auto"


def test_the_default_model_and_its_pair_are_committed():
    """Every page test runs the committed offline weights: a missing file fails here."""
    assert MODEL == "fmnist_resnet_robust"
    for name in ("fmnist_vgg_robust", "fmnist_vgg", "fmnist_resnet_robust", "fmnist_resnet"):
        assert models.weights_status(name) == "offline", name

def kernel_spec(at: AppTest, key: str = "pg_kernels") -> dict:
    for chart in at.get("plotly_chart"):
        spec = json.loads(chart.proto.spec)
        names = [t.get("name") for t in spec["data"]]
        if key == "pg_kernels" and "kernel 1" in names + ["kernel 2"] and \
                any(n and n.startswith("response") for n in names):
            return spec
    raise AssertionError("kernel panel not found")


def trace(spec: dict, name: str) -> dict:
    return next(t for t in spec["data"] if t.get("name") == name)




# ----------------------------------------------------------------------------- every page

@pytest.mark.parametrize("page", [PG, CMP, KX, LEARN, PP])
def test_every_page_renders_without_exception(dash, page):
    at = dash.open(page)
    dash.no_exception(at)
    assert at.title, page
    if page in (PG, CMP):
        assert not dash.errors(at), dash.errors(at)


def test_playground_widgets_exist(dash):
    at = dash.open(PG)
    for key in ("pg_model", "pg_target", "pg_layer"):
        assert at.selectbox(key=key)
    for key in ("pg_task", "pg_scheme", "pg_weights"):
        assert at.radio(key=key)
    for key in ("pg_f_size", "pg_e_size", "pg_every"):
        assert at.slider(key=key)
    for key in ("pg_step_size", "pg_steps", "pg_jitter", "pg_seed"):
        assert at.number_input(key=key)
    assert at.button(key="pg_run") and at.button(key="pg_stop")
    assert at.file_uploader  # run-JSON restore
    spec = kernel_spec(at)
    assert trace(spec, "kernel 1")["z"] and trace(spec, "kernel 2")["z"]


def test_kernel_sliders_change_the_kernel_plot(dash):
    at = dash.open(PG, f_kind="gaussian", f_fit=0, f_size=9)
    z0 = dash.arr(trace(kernel_spec(at), "kernel 1")["z"])
    at.slider(key="pg_f_sigma").set_value(2.5).run()
    dash.no_exception(at)
    z1 = dash.arr(trace(kernel_spec(at), "kernel 1")["z"])
    assert z1.shape == z0.shape == (9, 9)
    assert z1[4, 4] < z0[4, 4]  # a wider Gaussian has a lower centre tap
    assert z1.sum() == pytest.approx(1.0)
    at.slider(key="pg_e_size").set_value(5).run()
    assert dash.arr(trace(kernel_spec(at), "kernel 2")["z"]).shape == (5, 5)
    resp0 = dash.arr(trace(kernel_spec(at), "response 2")["z"])
    at.slider(key="pg_e_order").set_value(3).run()
    resp1 = dash.arr(trace(kernel_spec(at), "response 2")["z"])
    assert not np.allclose(resp0, resp1)


def test_short_run_streams_an_image_and_offers_downloads(dash):
    at = dash.open(PG, steps=6, every=2)
    at.button(key="pg_run").click().run()
    dash.no_exception(at)
    assert not dash.errors(at), dash.errors(at)
    assert at.image, "no pre-image"
    rec = at.session_state["pg_records"][0]
    assert rec.status == "done" and rec.steps == [0, 2, 4, 6]
    assert rec.images.shape == (1, 1, 64, 64)
    assert rec.frames[0][0] == 0 and 0 < rec.first_frame_s  # frame 0 was drawn, and timed
    labels = [d.label for d in at.get("download_button")]
    assert labels == ["Download PNG", "PNG for slides (512 px)", "Download GIF",
                      "Download run JSON", "Export report (HTML)", "Export report (PDF)"]
    assert rec.png().startswith(b"\x89PNG") and rec.gif().startswith(b"GIF8")
    assert len(at.get("plotly_chart")) == 3  # kernels, curves, spectrum


@contextlib.contextmanager
def _another_session_streaming(turns):
    """A run of another session that streams (a member of ``turns``) until the block ends
    or the yielded function is called, which waits for it to have ended."""
    import threading

    held, release = threading.Event(), threading.Event()

    def other_session() -> None:
        with turns.member():
            held.set()
            release.wait(timeout=120)

    t = threading.Thread(target=other_session)
    t.start()

    def end() -> None:
        release.set()
        t.join()

    try:
        assert held.wait(timeout=30)
        yield end
    finally:
        end()


def test_a_run_ending_while_another_session_streams_still_gets_its_plots(dash):
    """Another session's run streams the whole time: this run's final plots wait for it
    (at most AFTER_RUNS_LIMIT_S), then come, with "done" and the downloads."""
    from dashboard.streaming import TURNS

    with _another_session_streaming(TURNS):
        at = dash.open(PG, steps=4, every=2)
        at.button(key="pg_run").click().run()
        dash.no_exception(at)
        assert at.session_state["pg_records"][0].status == "done"
        assert any("done: 4 steps" in s.value for s in at.success)
        assert len(at.get("plotly_chart")) == 3  # kernels, curves, spectrum
        assert not [c for c in at.caption if "The plots follow" in c.value]  # replaced


def test_run_json_upload_restores_every_setting(dash):
    at = dash.open(PG, steps=3, every=1, scheme="fluid", f_kind="sobolev", f_fit=0,
                   f_gamma=0.7, f_order=2, tv_on=1, tv=0.2, jitter=1.0, seed=5)
    at.button(key="pg_run").click().run()
    text = at.session_state["pg_records"][0].json()
    assert json.loads(text)["result"]["steps_done"] == 3
    fresh = dash.open(PG)
    fresh.file_uploader(key="pg_json_file").upload("run.json", text.encode(),
                                                   "application/json").run()
    dash.no_exception(fresh)
    assert fresh.radio(key="pg_scheme").value == "fluid"
    assert fresh.selectbox(key="pg_f_kind").value == "sobolev"
    assert fresh.slider(key="pg_f_gamma").value == pytest.approx(0.7)
    assert fresh.slider(key="pg_f_order").value == 2
    assert fresh.toggle(key="pg_tv_on").value is True
    assert fresh.slider(key="pg_tv").value == pytest.approx(0.2)
    assert fresh.number_input(key="pg_steps").value == 3
    assert fresh.number_input(key="pg_seed").value == 5
    assert fresh.radio(key="pg_weights").value == "pretrained"


def test_settings_live_in_the_url(dash):
    at = dash.open(PG)
    at.toggle(key="pg_octaves_on").set_value(False).run()  # steps count without a schedule
    at.number_input(key="pg_steps").set_value(42).run()
    at.radio(key="pg_scheme").set_value("elastic").run()
    assert at.query_params.get("steps") in ("42", ["42"])
    assert at.query_params.get("scheme") in ("elastic", ["elastic"])
    link = {k: (v[-1] if isinstance(v, list) else v) for k, v in at.query_params.items()}
    again = dash.open(PG, **link)
    assert again.number_input(key="pg_steps").value == 42
    assert again.radio(key="pg_scheme").value == "elastic"


def test_a_change_sent_with_the_previous_url_keeps_the_newer_settings(dash):
    """A widget change made before the browser had the URL of the previous run (a layer
    picked while an upload's run was still writing the model to the URL) arrives with the
    older URL: the page keeps the newer settings and the change, not the older link."""
    at = dash.open(PG, steps=37, octaves_on=0)
    before = {k: (v[-1] if isinstance(v, list) else v) for k, v in at.query_params.items()}
    chosen = "fmnist_vgg"
    assert at.selectbox(key="pg_model").value != chosen
    at.selectbox(key="pg_model").set_value(chosen).run()
    dash.no_exception(at)
    assert at.query_params.get("model") in (chosen, [chosen])
    pick = "block1"
    assert at.selectbox(key="pg_layer").value != pick
    at.query_params.clear()  # the rerun carries the link from before the model change
    at.query_params.update(before)
    at.selectbox(key="pg_layer").set_value(pick).run()
    dash.no_exception(at)
    assert at.selectbox(key="pg_model").value == chosen
    assert at.selectbox(key="pg_layer").value == pick
    assert at.number_input(key="pg_steps").value == 37
    # a page switch that carries settings is a new link and still applies
    at.switch_page(page_path("home")).run()
    at.query_params.clear()
    at.query_params.update(before)
    at.switch_page(PG).run()
    dash.no_exception(at)
    assert at.selectbox(key="pg_model").value != chosen


def test_bad_url_values_are_ignored_with_a_notice(dash):
    D = playground_defaults()

    at = dash.open(PG, steps="lots", scheme="warp", f_size=999)
    dash.no_exception(at)
    assert at.number_input(key="pg_steps").value == D["steps"]
    assert at.radio(key="pg_scheme").value == D["scheme"]
    assert at.slider(key="pg_f_size").value <= 31


def test_invalid_setting_shows_error_next_to_control_and_blocks_run(dash):
    at = dash.open(PG, octaves_on=1)
    at.text_input(key="pg_octaves").set_value("1.0:abc").run()
    dash.no_exception(at)
    assert any("octave" in e for e in dash.errors(at))
    assert at.sidebar.error, "the message belongs next to the control in the sidebar"
    assert at.button(key="pg_run").disabled


def test_bad_upload_shows_an_error_not_an_exception(dash):
    at = dash.open(PG, task="inversion", layer=DEEP, image="upload")
    up = at.file_uploader(key="pg_upload")
    up.upload("photo.png", b"this is not an image at all", "image/png").run()
    dash.no_exception(at)
    assert any("the file is not an image Pillow can read" in e for e in dash.errors(at))
    assert at.button(key="pg_run").disabled
    bad_json = dash.open(PG)
    bad_json.file_uploader(key="pg_json_file").upload("run.json", b"{not json",
                                                      "application/json").run()
    dash.no_exception(bad_json)
    assert any("neither a run JSON nor a pre-image PNG" in e for e in dash.errors(bad_json))
    # a JSON without a class speaks of the Class control, not of the CLI's --target
    bad_json.file_uploader(key="pg_json_file").upload(
        "run.json", b'{"model": "fmnist_vgg", "task": "am"}', "application/json").run()
    said = " ".join(dash.errors(bad_json))
    assert "cannot restore settings" in said and "--" not in said, said


def test_inversion_of_a_sample_runs(dash):
    samples = sample_paths(1)
    assert samples, "the Fashion-MNIST samples are committed in assets/samples"
    at = dash.open(PG, task="inversion", layer=MID, image=samples[0], steps=4,
                   every=2)
    assert not dash.errors(at), dash.errors(at)
    at.button(key="pg_run").click().run()
    dash.no_exception(at)
    assert at.session_state["pg_records"][0].status == "done"
    assert len(at.image) >= 2  # reference thumbnail + pre-image


def test_nan_divergence_shows_error_and_keeps_a_downloadable_image(dash):
    at = dash.open(PG, steps=5, every=1, scheme="elastic", step_size=1e300,
                   grad_norm="none")
    at.button(key="pg_run").click().run()
    dash.no_exception(at)
    rec = at.session_state["pg_records"][0]
    assert rec.status == "diverged"
    msgs = dash.errors(at)
    assert any("diverged at step" in m and "NaN" in m for m in msgs), msgs
    # which pre-image is kept is said once, and where it is from (QA pass)
    assert all(m.count("last frame before") <= 1 and "(shown: " in m for m in msgs), msgs
    assert at.image and rec.images is not None
    assert rec.png().startswith(b"\x89PNG")
    assert "Download PNG" in [d.label for d in at.get("download_button")]


@pytest.mark.parametrize("error, expected", [
    (RuntimeError("boom"), "the run failed: RuntimeError: boom"),
    (RuntimeError("CUDA out of memory. Tried to allocate 2 GiB"), "ran out of memory"),
])
def test_a_failing_run_is_a_message_not_a_traceback(dash, monkeypatch, error, expected):
    from viz_core import engine

    def failing_run(*args, **kwargs):
        raise error
        yield  # pragma: no cover - makes this a generator like engine.run

    at = dash.open(PG, steps=3)
    monkeypatch.setattr(engine, "run", failing_run)
    at.button(key="pg_run").click().run()
    dash.no_exception(at)
    assert any(expected in e for e in dash.errors(at)), dash.errors(at)


def test_missing_weights_are_a_message(dash, tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))  # an empty hub cache: VGG19 is missing
    assert models.weights_status("vgg19") == "download needed"
    at = dash.open(PG, model="vgg19", weights="pretrained")
    dash.no_exception(at)
    assert any("not available offline" in e for e in dash.errors(at))
    assert at.button(key="pg_run").disabled


def test_classic_recipe_loads_into_the_playground(dash):
    at = dash.open(PG)
    box = at.selectbox(key="pg_recipe")
    choice = next(o for o in box.options if o.startswith("Yosinski") and "offline" in o)
    box.set_value(choice).run()
    dash.no_exception(at)
    assert at.radio(key="pg_scheme").value == "elastic"
    assert at.selectbox(key="pg_e_kind").value == "gaussian"
    assert at.slider(key="pg_e_every").value == 4
    assert at.slider(key="pg_e_sigma").value == pytest.approx(1.0)
    assert at.selectbox(key="pg_recipe").value == "-"


# ----------------------------------------------------------------------------- compare

def test_compare_runs_one_batch_and_opens_a_cell_in_the_playground(dash):
    at = dash.open(CMP, steps=4, every=2, cells="sobolev-fluid,sobolev-elastic,tv")
    dash.no_exception(at)
    at.button(key="cmp_run").click().run()
    dash.no_exception(at)
    rec = at.session_state["cmp_records"][0]
    assert rec.status == "done" and rec.images.shape[0] == 3
    captions = [i.captions[0] for i in at.image]  # the default task inverts the ankle boot
    assert len(captions) == 4 and captions[0] == "reference image"
    # the feature error, short (the line under the grid names it beside a flat image's)
    assert all(re.search(r"(^| · )error \d", c) for c in captions[1:]), captions
    assert rec.labels == ["Sobolev fluid", "Sobolev elastic", "TV"]
    at.button(key="cmp_open_elastic_sobolev").click().run()
    dash.no_exception(at)
    assert at.title[0].value == "Playground"
    assert at.radio(key="pg_scheme").value == "elastic"
    assert at.selectbox(key="pg_e_kind").value == "sobolev"
    assert at.slider(key="pg_e_size").value == 11


def test_compare_even_kernel_size_in_a_link_snaps_to_an_odd_one(dash):
    at = dash.open(CMP, size=4)
    dash.no_exception(at)
    assert not dash.errors(at)
    assert at.session_state["cmp_size"] % 2 == 1
    assert any("size: 4 not one of" in dash.shown(w.value) for w in at.warning)


# ----------------------------------------------------------------------------- other pages

# ----------------------------------------------------------------------------- navigation

def test_navigation_keeps_every_old_url_and_names_home():
    from dashboard.navigation import PAGES

    assert PAGES[0].title == "Home" and PAGES[0].url_path == ""
    old = ["Playground", "Compare_schemes", "Kernels_and_spectra", "Learn_demons",
           "Paper_presets"]  # the paths of Streamlit's file-based pages before
    assert [p.url_path for p in PAGES[1:6]] == old
    assert [p.url_path for p in PAGES[6:]] == ["Sweeps", "History"]
    assert all((ROOT / p.path).is_file() and p.path.startswith("pages/") for p in PAGES)


def test_every_page_url_is_the_name_streamlit_derives_from_its_file():
    """With a folder named pages/, a direct link whose URL path differs from the file's
    derived name shows "Page not found" (the browser test opens each one)."""
    from streamlit.source_util import page_icon_and_name

    from dashboard.navigation import PAGES

    for info in PAGES[1:]:
        assert info.url_path == page_icon_and_name(ROOT / info.path)[1], info
    # every page file is in the navigation (a stray file would be a page of its own)
    assert sorted(f"pages/{f.name}" for f in (ROOT / "pages").glob("*.py")) == sorted(
        p.path for p in PAGES)


# ----------------------------------------------------------------------------- honest results

def _texts(at: AppTest, kind: str) -> list[str]:
    from conftest import DashboardPages

    return [DashboardPages.shown(e.value) for e in getattr(at, kind)]


def test_defaults_are_the_tuned_preset_and_inversion_picks_a_middle_layer(dash):
    at = dash.open(PG)
    assert at.radio(key="pg_scheme").value == "fluid-elastic"
    assert at.toggle(key="pg_octaves_on").value is True
    assert at.number_input(key="pg_steps").disabled  # the schedule sets steps and tau
    assert at.number_input(key="pg_step_size").disabled
    assert any("the octave schedule runs 200 steps" in c.value for c in at.sidebar.caption)
    at.radio(key="pg_task").set_value("inversion").run()
    dash.no_exception(at)
    assert at.selectbox(key="pg_layer").value == MID
    assert at.number_input(key="pg_jitter").value == 0.0


def test_a_changed_setting_marks_the_result_as_stale(dash):
    at = dash.open(PG, steps=4, every=2, target=7)
    at.button(key="pg_run").click().run()
    assert any(s.startswith("done") for s in _texts(at, "success"))
    at.selectbox(key="pg_target").set_value(9).run()
    dash.no_exception(at)
    notes = _texts(at, "info")
    assert any("from previous settings: class 7" in n for n in notes), notes
    assert not _texts(at, "success")  # no green "done" under settings it does not belong to
    assert any("Downloads of the run shown" in c.value for c in at.caption)


@pytest.mark.parametrize("params, expected", [
    ({"step_size": 1e9, "scheme": "plain"}, "saturated"),
    ({"scheme": "plain", "tv_on": 1, "tv": 3.0, "tv_eps": 1e-6}, "unstable TV step"),
])
def test_degenerate_results_get_a_warning_instead_of_done(dash, params, expected):
    at = dash.open(PG, steps=6, every=3, **params)
    at.button(key="pg_run").click().run()
    dash.no_exception(at)
    warnings = _texts(at, "warning")
    assert any(expected in w for w in warnings), warnings
    assert not _texts(at, "success")
    saved = json.loads(at.session_state["pg_records"][0].json())["result"]["warnings"]
    assert any(expected in w for w in saved)


def test_divergence_at_the_first_step_leaves_no_stale_progress_bar(dash):
    at = dash.open(PG, steps=40, every=5, scheme="elastic", step_size=1e300,
                   grad_norm="none")
    at.button(key="pg_run").click().run()
    dash.no_exception(at)
    assert at.session_state["pg_records"][0].status == "diverged"
    assert not at.get("progress")
    assert any("diverged at step" in e for e in dash.errors(at))
    assert any("No curve to draw" in i for i in _texts(at, "info"))


def test_am_shows_probability_top3_and_the_independent_judge(dash):
    at = dash.open(PG, steps=6, every=3)
    at.button(key="pg_run").click().run()
    dash.no_exception(at)
    from dashboard.results import judge_for

    judge = judge_for(MODEL)
    assert judge == "fmnist_lenet_judge"  # not the twin network of the pair
    table = next(m for m in _texts(at, "markdown") if m.startswith("| quantity"))
    assert f"class probability ({MODEL})" in table
    assert "top-3 of the model" in table and f"independent judge ({judge})" in table
    verdicts = json.loads(at.session_state["pg_records"][0].json())["result"]["classified_as"]
    assert set(verdicts) == {MODEL, judge}
    assert all(len(v) == 3 for v in verdicts.values())


def test_inversion_shows_the_reference_next_to_the_pre_image_at_the_same_size(dash):
    at = dash.open(PG, task="inversion", layer=MID, steps=4, every=2)
    at.button(key="pg_run").click().run()
    dash.no_exception(at)
    captions = [i.captions[0] for i in at.main.image]  # sizes: tests/e2e/test_dashboard.py
    assert captions[0].startswith("inversion of 0_ankle_boot.png at ")  # the run's target
    assert " · pre-image · step 4 / 4" in captions[0] and captions[1] == "reference image"
    assert not at.sidebar.image


def test_urls_carry_the_sample_name_and_old_absolute_paths_still_work(dash):
    sample = sample_paths(1)[0]
    at = dash.open(PG, task="inversion", layer=MID, image=sample)
    dash.no_exception(at)
    assert not dash.errors(at), dash.errors(at)
    image = at.query_params.get("image")
    image = image[-1] if isinstance(image, list) else image
    assert image == f"fmnist/{Path(sample).name}" and str(ROOT) not in image
    again = dash.open(PG, task="inversion", layer=MID, image=image)
    assert again.selectbox(key="pg_image").value == image and not dash.errors(again)


def test_a_link_with_an_uploaded_image_says_uploads_do_not_travel(dash):
    at = dash.open(PG, task="inversion", layer=MID, image="upload")
    dash.no_exception(at)
    assert any("cannot travel in a link" in e for e in dash.errors(at)), dash.errors(at)
    assert at.button(key="pg_run").disabled


def test_a_downloaded_png_restores_its_run(dash):
    at = dash.open(PG, steps=3, every=1, scheme="elastic", e_kind="gaussian", seed=4)
    at.button(key="pg_run").click().run()
    png = at.session_state["pg_records"][0].png()
    fresh = dash.open(PG)
    fresh.file_uploader(key="pg_json_file").upload("preimage.png", png, "image/png").run()
    dash.no_exception(fresh)
    assert fresh.radio(key="pg_scheme").value == "elastic"
    assert fresh.selectbox(key="pg_e_kind").value == "gaussian"
    assert fresh.number_input(key="pg_seed").value == 4
    plain = dash.open(PG)
    from viz_core.images import png_bytes

    plain.file_uploader(key="pg_json_file").upload("x.png", png_bytes(np.zeros((1, 8, 8))),
                                                   "image/png").run()
    assert any("carries no run settings" in e for e in dash.errors(plain))


def test_error_messages_speak_the_dashboards_language(dash, tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))  # an empty hub cache: VGG19 is missing
    at = dash.open(PG, model="vgg19", weights="pretrained")
    text = " ".join(dash.errors(at))
    assert "not available offline" in text
    for word in ("allow_download", "--", "weights='random'", "/"):
        assert word not in text, (word, text)
    assert "choose another model" in text.lower()


def test_cuda_is_not_offered_without_a_gpu(dash):
    import torch

    at = dash.open(PG)
    options = at.radio(key="pg_device").options
    assert ("cuda" in options) == torch.cuda.is_available()
    assert ("mps" in options) == torch.backends.mps.is_available()


def test_compare_robust_toggle_is_disabled_without_robust_weights(dash):
    at = dash.open(CMP)
    if at.toggle(key="cmp_robust").disabled:
        assert any("No robust counterpart" in c.value for c in at.sidebar.caption)


def test_compare_runs_standard_and_robust_side_by_side(dash):
    from dashboard import results

    other = results.counterpart_for(MODEL)
    assert other == zoo.twin_of(MODEL, "standard") == "fmnist_resnet"  # the committed pair
    at = dash.open(CMP, task="am", layer="logits", steps=2, every=1, cells="tv,plain")
    at.toggle(key="cmp_robust").set_value(True).run()
    at.button(key="cmp_run").click().run()
    dash.no_exception(at)
    recs = at.session_state["cmp_records"]
    assert [r.model_label.split(" ")[0] for r in recs] == [MODEL, other]
    assert len(at.image) == 4 and all(r.status == "done" for r in recs)


def test_the_robust_model_is_the_default_and_the_standard_one_a_click_away(dash):
    from dashboard.results import counterpart_for

    standard = zoo.twin_of(MODEL, "standard")
    assert counterpart_for(MODEL) == standard and counterpart_for(standard) == MODEL
    for page, key in ((PG, "pg_model"), (CMP, "cmp_model")):
        at = dash.open(page)
        assert at.selectbox(key=key).value == MODEL
        names = [o.split()[0] for o in at.selectbox(key=key).options]
        assert standard in names and zoo.OFFLINE_JUDGE not in names  # the judge only judges
        assert "model" not in at.query_params  # the default stays out of the URL
        old = dash.open(page, model="fmnist_vgg")  # a link from before keeps its model
        dash.no_exception(old)
        assert old.selectbox(key=key).value == "fmnist_vgg" and not dash.errors(old)
        assert old.query_params.get("model") in ("fmnist_vgg", ["fmnist_vgg"])
    at = dash.open(PG)
    at.selectbox(key="pg_model").set_value("fmnist_vgg").run()  # one click
    dash.no_exception(at)
    assert any("· fmnist_vgg (" in m for m in _texts(at, "markdown"))  # the page header
    assert at.query_params.get("model") in ("fmnist_vgg", ["fmnist_vgg"])


# ----------------------------------------------------------------------------- run records

class _Frame:
    def __init__(self, step: int, value: float, done: bool = False) -> None:
        self.step, self.done, self.stopped = step, done, False
        self.images = np.full((1, 1, 4, 4), value, dtype=np.float32)
        self.objective = self.activation = np.array([value])
        self.diverged = [None]
        self.elapsed = step / 10


def test_stop_keeps_exactly_the_state_that_was_shown():
    from dashboard.runs import RunRecord

    rec = RunRecord(["x"], ['{"task": "am", "target": 0}'], "m", 100)
    for step in (0, 5, 10):
        rec.add(_Frame(step, step / 100))
    rec.mark_shown()                     # step 10 is on screen
    rec.add(_Frame(15, 0.15))            # recorded, never drawn: Stop came first
    rec.mark_interrupted()
    d = json.loads(rec.json())["result"]
    assert rec.status == "stopped" and rec.step == 10 == d["steps_done"]
    assert d["seconds"] == pytest.approx(1.0) and "after 1.0 s" in rec.message
    assert "step 10 of 100" in rec.message
    assert float(rec.images[0].mean()) == pytest.approx(0.10)
    assert rec.frames[-1][0] == 10 and rec.frames[-1][1].max() == round(0.10 * 255)


def test_a_stopped_run_is_classified_by_the_models_that_made_it():
    """Stop ends the script before ``finish``: the next script run's ``mark_interrupted``
    gives the kept pre-image its class probability, top-3 and warnings, from the judges
    set when the run started (not from whatever the sidebar shows by then)."""
    from dashboard.results import class_verdicts
    from dashboard.runs import RunRecord
    from viz_core import models

    m = models.load_model("fmnist_vgg", "random")
    rec = RunRecord(["x"], ['{"task": "am", "target": 3}'], "m", 100)
    rec.judges = [m]
    rng = np.random.default_rng(0)
    for step in (0, 5, 10):
        f = _Frame(step, 0.5)
        f.images = rng.random((1, 1, 64, 64), dtype=np.float32)
        rec.add(f)
        if step == 5:
            rec.mark_shown()
            shown = rec.images.copy()
    rec.mark_interrupted()
    assert rec.status == "stopped" and rec.step == 5
    assert np.array_equal(rec.images, shown)
    (v,) = rec.verdicts[0]
    want = class_verdicts(m, shown, [3])[0]
    assert v.top == want.top and v.target_prob == pytest.approx(want.target_prob)
    assert len(rec.warnings) == 1
    rec.finish()  # the interrupted script's own finish, if it ever runs, changes nothing
    assert rec.verdicts[0][0].top == want.top


def test_frames_of_an_interrupted_run_cannot_change_what_is_shown(monkeypatch):
    """Streamlit's fast reruns start the next script run while the interrupted one still
    computes: its late frames must not reach the record the new run shows."""
    from dashboard.runs import RunRecord

    rec = RunRecord(["x"], ['{"task": "am", "target": 0}'], "m", 100)
    for step in (0, 5):
        assert rec.add(_Frame(step, step / 100))
    rec.mark_shown()
    rec.mark_interrupted()               # the new script run
    assert not rec.add(_Frame(10, 0.10))  # the old thread's next frame is refused
    rec.mark_shown()
    rec.finish()
    d = json.loads(rec.json())["result"]
    assert rec.status == "stopped" and rec.step == 5 == d["steps_done"]
    # the kept state was checked once, at the interruption (a flat image: washed out)
    assert len(rec.warnings) == 1 and "step 5 of 100" in rec.message

    class _Model:  # the old thread's loop ends at the refused frame, without drawing
        pass

    from dashboard.streaming import stream
    from viz_core import engine

    drawn, asked = [], {}

    def fake_run(*a, stop=None, **k):
        asked["stop"] = stop
        yield from (_Frame(15, 0.15), _Frame(20, 0.2))

    monkeypatch.setattr(engine, "run", fake_run)
    stream([], _Model(), rec, lambda r, f, full: drawn.append(f.step))
    assert drawn == [] and rec.step == 5 and rec.status == "stopped"
    assert "stop" not in asked  # an interrupted record starts no engine at all


def test_an_interrupted_stream_stops_its_engine_between_steps(monkeypatch):
    """A Stop click raises Streamlit's control exception in the script thread (here from
    ``tick``); the engine in the worker thread is then told to stop, and stops."""
    from dashboard.runs import RunRecord
    from dashboard.streaming import stream
    from viz_core import engine

    asked, steps = {}, []

    def fake_run(*a, stop=None, **k):
        asked["stop"] = stop
        for step in range(10_000):
            if stop.is_set():
                return
            steps.append(step)
            time.sleep(0.001)
            if step % 10 == 0:
                yield _Frame(step, 0.5)

    class Stopped(BaseException):
        pass

    ticks = []

    def tick():
        ticks.append(1)
        if len(ticks) == 3:
            raise Stopped

    monkeypatch.setattr(engine, "run", fake_run)
    rec = RunRecord(["x"], ['{"task": "am", "target": 0}'], "m", 10_000)
    with pytest.raises(Stopped):
        stream([], object(), rec, lambda r, f, full: r.mark_shown(), tick=tick)
    assert asked["stop"].is_set() and rec.status == "running"
    for _ in range(500):  # the worker notices the stop between two steps
        n = len(steps)
        time.sleep(0.01)
        if len(steps) == n:
            break
    assert len(steps) < 10_000
    rec.mark_interrupted()  # the next script run: the state shown is kept
    assert rec.status == "stopped" and rec.step == rec.steps[rec.shown - 1]


def test_a_slow_page_never_slows_the_engine(monkeypatch):
    """The engine runs in a worker thread: while the page's first draw blocks, the engine
    still runs to its end, and every frame is recorded afterwards."""
    import threading

    from dashboard.runs import RunRecord
    from dashboard.streaming import stream
    from viz_core import engine

    engine_done = threading.Event()
    seen = []

    def fake_run(*a, stop=None, **k):
        for step in range(0, 101, 10):
            yield _Frame(step, step / 100, done=step == 100)
        engine_done.set()

    def blocked_draw(r, f, full):
        if not seen:  # the first draw waits for the engine to end (a deadlock if the
            seen.append(engine_done.wait(timeout=30))  # engine waited on drawing)
        r.mark_shown()

    monkeypatch.setattr(engine, "run", fake_run)
    rec = RunRecord(["x"], ['{"task": "am", "target": 0}'], "m", 100)
    stream([], object(), rec, blocked_draw)
    assert seen == [True]
    assert rec.steps == list(range(0, 101, 10)) and rec.status == "done"
    assert rec.shown == len(rec.steps)  # the last frame was drawn


def test_runs_streaming_at_once_share_one_frame_budget(monkeypatch):
    """With n runs streaming, each draws its pre-image at most every n x DRAW_INTERVAL_S
    (and its plots every n x PLOT_INTERVAL_S): the server encodes and the browsers draw as
    many frames in all as for one run. Time is the engine's fake clock, 0.05 s a frame."""
    import threading
    import types

    from dashboard import streaming
    from dashboard.runs import RunRecord
    from viz_core import engine

    clock = [0.0]
    lock = threading.Lock()

    def fake_run(*a, stop=None, **k):
        for step in range(201):
            with lock:
                clock[0] += 0.05
            time.sleep(0.001)
            yield _Frame(step, step / 200, done=step == 200)

    monkeypatch.setattr(engine, "run", fake_run)
    monkeypatch.setattr(streaming, "time", types.SimpleNamespace(perf_counter=lambda: clock[0]))

    def draws_with(others: int) -> tuple[list[float], list[float]]:
        clock[0], shown, plots = 0.0, [], []
        turns = streaming.Turns()

        def draw(r, f, full):
            r.mark_shown()
            if not f.done:
                shown.append(clock[0])
                if full:
                    plots.append(clock[0])

        rec = RunRecord(["x"], ['{"task": "am", "target": 0}'], "m", 200)
        with contextlib.ExitStack() as held:  # other sessions' runs streaming meanwhile
            for _ in range(others):
                held.enter_context(turns.member())
            streaming.stream([], object(), rec, draw, turns=turns)
        assert rec.status == "done" and rec.shown == len(rec.steps)
        return shown, plots

    for others in (0, 2):
        n = others + 1
        shown, plots = draws_with(others)
        gaps = [b - a for a, b in zip(shown, shown[1:])]
        assert min(gaps) >= n * streaming.DRAW_INTERVAL_S - 1e-9, (n, gaps)
        plot_gaps = [b - a for a, b in zip(plots, plots[1:])]
        assert all(g >= n * streaming.PLOT_INTERVAL_S - 1e-9 for g in plot_gaps), (n, plots)
        assert len(shown) <= 201 * 0.05 / (n * streaming.DRAW_INTERVAL_S) + 1


def test_final_plots_wait_for_other_sessions_runs_and_stop_is_still_seen():
    """A run that ended draws its final plots after the runs other sessions are streaming
    (building figures holds the interpreter lock their engines need); while it waits, its
    page still yields to Streamlit, so a Stop click is seen."""
    from dashboard.streaming import Turns, after_other_runs

    turns = Turns()
    ticks = []
    with _another_session_streaming(turns) as leave:
        def tick() -> None:
            ticks.append(turns.runs)
            if len(ticks) == 3:
                leave()  # the other run ends while this page waits

        waited = after_other_runs(tick=tick, turns=turns, limit_s=60)
    assert len(ticks) >= 3 and ticks[0] == 1 and turns.runs == 0 and waited < 60

    class Stopped(BaseException):
        pass

    def stop() -> None:
        raise Stopped

    with turns.member(), pytest.raises(Stopped):
        after_other_runs(tick=stop, turns=turns, limit_s=60)
    assert after_other_runs(tick=stop, turns=turns) == 0.0  # nobody else: no wait, no tick
    # a run computing in the engine process: its cores are shared with the server and the
    # browsers that would draw these plots, so the page waits for it too, Stop still seen
    with turns.member(), pytest.raises(Stopped):
        after_other_runs(tick=stop, turns=turns, limit_s=60)


def test_figures_are_built_once_per_session_and_show_the_latest_run(dash):
    at = dash.open(PG, steps=4, every=2)
    at.button(key="pg_run").click().run()
    figs = dict(at.session_state["_dashboard_figures"])
    curves = next(f for k, f in figs.items() if k[0] == "curves")
    at.number_input(key="pg_steps").set_value(6).run()
    at.button(key="pg_run").click().run()
    dash.no_exception(at)
    again = next(f for k, f in at.session_state["_dashboard_figures"].items()
                 if k[0] == "curves")
    assert again is curves  # updated in place, not rebuilt
    spec = next(json.loads(c.proto.spec) for c in at.get("plotly_chart")
                if "data term D" in c.proto.spec)
    assert list(dash.arr(spec["data"][0]["x"])) == [2, 4, 6]  # the second run's steps


def test_class_conditional_start_is_its_own_labelled_setting(dash):
    """The Playground offers the start as a control of its own (noise, the paper's, by
    default); a class-conditional run says so in its configuration."""
    at = dash.open(PG)
    assert at.radio(key="pg_init").value == "noise"
    at = dash.open(PG, init="class_conditional", steps=2, every=1)
    assert at.radio(key="pg_init").value == "class_conditional"
    at.button(key="pg_run").click().run()
    dash.no_exception(at)
    cfg = json.loads(at.session_state["pg_records"][0].configs[0])
    assert cfg["init"] == "class_conditional"


def test_diversity_weight_runs_samples_of_one_channel_side_by_side(dash):
    at = dash.open(PG, layer=MID, channel=3, div_weight=2.0, samples=3, steps=12, every=6,
                   octaves_on=0, seed=4)
    at.button(key="pg_run").click().run()
    dash.no_exception(at)
    assert not dash.errors(at), dash.errors(at)
    rec = at.session_state["pg_records"][0]
    assert rec.status == "done" and rec.labels == ["sample 1", "sample 2", "sample 3"]
    assert rec.images.shape == (3, 1, 64, 64)
    cfgs = [json.loads(c) for c in rec.configs]
    assert [c["seed"] for c in cfgs] == [4, 5, 6]
    assert {c["objective"] for c in cfgs} == {f"channel({MID}, 3) - 2*diversity({MID})"}
    captions = [i.captions[0] for i in at.main.image]
    assert [c.split(" · ")[0] for c in captions] == ["sample 1", "sample 2", "sample 3"]
    # the metrics table says which sample it describes; the curves' titles wrap
    assert any(m.value.startswith("**Sample 1 of 3**") for m in at.markdown)
    specs = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    (titles,) = [[a["text"] for a in f["layout"].get("annotations", [])] for f in specs
                 if any("data term D" in a["text"]
                        for a in f["layout"].get("annotations", []))]
    assert "target activation (channel<br>mean)" in titles, titles
    for i in range(3):  # N different pre-images of the one channel
        for j in range(i):
            assert np.abs(rec.images[i] - rec.images[j]).mean() > 1e-3, (i, j)
    # a downloaded cell's JSON restores the batch: weight, samples and its first seed
    fresh = dash.open(PG)
    fresh.file_uploader(key="pg_json_file").upload("run.json", rec.json(2).encode(),
                                                   "application/json").run()
    dash.no_exception(fresh)
    assert fresh.number_input(key="pg_div_weight").value == pytest.approx(2.0)
    assert fresh.number_input(key="pg_samples").value == 3
    assert fresh.number_input(key="pg_seed").value == 4
    assert fresh.selectbox(key="pg_layer").value == MID


def test_diversity_settings_live_in_the_url_and_bad_values_are_messages(dash):
    at = dash.open(PG, layer=MID, channel=1)
    assert at.number_input(key="pg_div_weight").value == 0.0  # off by default
    at.number_input(key="pg_div_weight").set_value(0.5).run()
    assert at.number_input(key="pg_samples").value == 4  # turning it on asks for a batch
    assert not at.button(key="pg_run").disabled
    at.number_input(key="pg_samples").set_value(4).run()
    link = {k: (v[-1] if isinstance(v, list) else v) for k, v in at.query_params.items()}
    assert link["div_weight"] == "0.5" and link["samples"] == "4"
    again = dash.open(PG, **link)
    assert again.number_input(key="pg_div_weight").value == pytest.approx(0.5)
    assert again.number_input(key="pg_samples").value == 4
    one = dash.open(PG, layer=MID, div_weight=0.5, samples=1)
    dash.no_exception(one)
    assert any("2 or more samples" in e for e in dash.errors(one)), dash.errors(one)
    assert one.button(key="pg_run").disabled
    default = dash.open(PG)  # a class pre-image: no diversity controls, one pre-image
    assert not [n for n in default.number_input if n.key == "pg_div_weight"]


def test_concurrent_runs_take_turns_frame_by_frame(monkeypatch):
    """Runs of several sessions in one server never compute at the same time: each holds
    the turn for one frame's worth of steps, first come first served, so every run streams
    and they interleave."""
    import threading

    from dashboard.runs import RunRecord
    from dashboard.streaming import Turns, stream
    from viz_core import engine

    inside, log = [0], []
    lock = threading.Lock()

    def fake_run(configs, *a, stop=None, **k):
        name = configs[0]
        for step in range(0, 31, 10):
            if not log:  # the first turn lasts until the other two runs queue
                for _ in range(1000):
                    if turns.waiting == 2:
                        break
                    time.sleep(0.01)
            with lock:
                inside[0] += 1
                log.append((name, inside[0]))
            time.sleep(0.005)  # a frame's worth of steps
            with lock:
                inside[0] -= 1
            yield _Frame(step, step / 30, done=step == 30)

    monkeypatch.setattr(engine, "run", fake_run)
    turns = Turns()
    recs = {n: RunRecord([n], ['{"task": "am", "target": 0}'], "m", 30) for n in "abc"}
    threads = [threading.Thread(target=stream, args=([n], object(), recs[n],
                                                     lambda r, f, full: r.mark_shown()),
                                kwargs={"turns": turns}) for n in "abc"]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(r.status == "done" and r.step == 30 for r in recs.values())
    assert max(n for _, n in log) == 1  # never two runs computing at once
    names = [n for n, _ in log]
    assert sorted(names[:3]) == list("abc") and names == names[:3] * 4  # in turns


def test_the_server_does_not_collect_garbage_after_every_script_run():
    """Streamlit's default ``runner.postScriptGC`` runs gc.collect(2) at the end of each
    script run, which holds the interpreter lock (about 0.2 s with torch and plotly
    loaded) and stalls the engine runs of every other session; the dashboard's server
    config turns it off."""
    import tomllib

    cfg = tomllib.loads((Path(__file__).resolve().parents[1] / ".streamlit" / "config.toml")
                        .read_text())
    assert cfg["runner"]["postScriptGC"] is False


def test_a_flat_black_result_gets_one_warning_not_two_that_disagree():
    """A pre-image that is all black is both "saturated" and "washed out"; the two causes
    they name (too large a step, too strong a regularization) contradict each other, so it
    gets one warning that says what it is."""
    from viz_core.image_checks import image_warnings

    black = np.zeros((1, 8, 8))
    (only,) = image_warnings(black)
    assert only.startswith("flat black: the image is 100% pure black")
    noise = np.random.default_rng(0).random((1, 8, 8))
    hard = (noise > 0.5).astype(float)  # saturated, with structure
    assert [w.split(":")[0] for w in image_warnings(hard)] == ["saturated"]
    grey = np.full((1, 8, 8), 0.5)
    assert [w.split(":")[0] for w in image_warnings(grey)] == ["washed out"]


def test_a_class_picture_as_dark_as_real_garments_is_not_called_saturated():
    """Without a reference, "saturated" is measured against what real images of the kind
    have: a Fashion-MNIST garment is about half pure black background, so a class
    pre-image with 59% is no step-size failure (the guided demo's Pullover was flagged)."""
    from PIL import Image

    from viz_core.image_checks import image_warnings, typical_saturation

    assert 0.5 < typical_saturation(1) < 0.9 and typical_saturation(3) < 0.2
    for path in sample_paths(1):  # real garments are not degenerate pre-images
        img = np.asarray(Image.open(path).convert("L"), dtype=np.float64)[None] / 255.0
        assert not [w for w in image_warnings(img) if w.startswith("saturated")], path
    rng = np.random.default_rng(0)
    half = (rng.random((1, 64, 64)) < 0.59) * 0.0 + (rng.random((1, 64, 64)) * 0.5 + 0.25)
    half[:, :38] = 0.0  # 59% black, the rest grey with structure
    assert image_warnings(half) == []
    hard = (rng.random((1, 64, 64)) > 0.5).astype(float)  # every pixel at a bound
    assert image_warnings(hard)[0].startswith("saturated: 100%")


def test_an_inactive_unit_gets_a_warning_instead_of_done(dash):
    """A unit that never fires (a dead ReLU: no gradient) leaves the start image: the page
    says so, not "done", and not "washed out: the regularization may be too strong"."""
    at = dash.open(PG, layer="layer2", channel=5, unit_on="true", unit_y=3, unit_x=4,
                   steps=6, every=3, octaves_on=0)
    at.button(key="pg_run").click().run()
    dash.no_exception(at)
    warnings = _texts(at, "warning")
    assert any("the target gave no gradient" in w for w in warnings), warnings
    assert not any("washed out" in w for w in warnings), warnings
    assert not _texts(at, "success")


def test_a_kernel_that_cannot_be_built_at_this_step_size_blocks_run(dash):
    """L2 decay with lambda tau > 1 is refused under its control; Run is disabled with the
    reason beside it (it ran, failed at step 0, and showed the start image with verdicts
    and downloads as if it were a result)."""
    at = dash.open(PG, scheme="elastic", e_kind="decay", e_lambda=10, step_size=255,
                   octaves_on="false", steps=40)
    dash.no_exception(at)
    assert at.button(key="pg_run").disabled
    assert any("decay" in e.lower() for e in dash.errors(at)), dash.errors(at)


def test_advanced_shows_only_the_settings_that_act(dash):
    """TV epsilon only with TV on; the inversion exponent p only for an inversion. A value
    set by a link survives while its control is hidden."""
    am = dash.open(PG, tv_eps=0.2)
    keys = {w.key for w in list(am.number_input) + list(am.radio)}
    assert "pg_tv_eps" not in keys and "pg_p" not in keys
    tv = dash.open(PG, tv_on=1, tv_eps=0.2, task="inversion", layer=MID, p=1)
    assert tv.number_input(key="pg_tv_eps").value == pytest.approx(0.2)
    assert tv.radio(key="pg_p").value == 1


def test_replacing_an_uploaded_image_marks_the_result_as_stale(dash):
    """The image setting says "upload" for any upload: replacing the uploaded image kept
    the boot's result under a green "done" (QA); the upload's name and content now count."""
    from viz_core.images import png_bytes

    rng = np.random.default_rng(0)
    first = png_bytes(rng.random((1, 40, 40), dtype=np.float32))
    second = png_bytes(rng.random((1, 40, 30), dtype=np.float32))
    at = dash.open(PG, task="inversion", layer=MID, image="upload", steps=4, every=2)
    at.file_uploader(key="pg_upload").upload("mine.png", first, "image/png").run()
    at.button(key="pg_run").click().run()
    dash.no_exception(at)
    assert any(s.startswith("done") for s in _texts(at, "success"))
    at.run()  # the same upload again: still this result's
    assert any(s.startswith("done") for s in _texts(at, "success"))
    at.file_uploader(key="pg_upload").upload("mine.png", second, "image/png").run()
    dash.no_exception(at)
    notes = _texts(at, "info")
    assert any("from previous settings" in n and "mine.png" in n for n in notes), notes
    assert not _texts(at, "success")


def test_compare_says_its_cells_open_alone(dash):
    """A Compare cell is computed in a batch of the grid's cells; the Playground runs it
    alone, where it can differ (QA): the open button says so."""
    at = dash.open(CMP)
    dash.no_exception(at)
    helps = [b.help or "" for b in at.button if b.label == "Open in Playground"]
    assert helps and all("in a batch of 8 cells" in h and "runs it alone" in h
                         for h in helps), helps


@pytest.mark.parametrize("page,key", [(PG, "pg_step_size"), (CMP, "cmp_step_size"),
                                      (page_path("sweeps"), "sw_step_size")])
def test_every_page_says_what_the_step_size_means_in_the_same_words(dash, page, key):
    from dashboard.settings.labels import STEP_SIZE_HELP, STEP_SIZE_LABEL

    at = dash.open(page)
    box = at.number_input(key=key)
    assert box.label.startswith(STEP_SIZE_LABEL) and box.help == STEP_SIZE_HELP
