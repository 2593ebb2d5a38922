"""Dashboard pages through streamlit.testing.v1.AppTest (no browser).

Runs use the default offline model when its weights are shipped, else the same model
with random weights (``?weights=random``), few steps and the 64x64 input.
"""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from dashboard.settings.playground import playground_defaults
from viz_core import models
from viz_core.samples import sample_paths

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")
PG, CMP, KX, LEARN, PP = ("pages/1_Playground.py", "pages/2_Compare_schemes.py",
                          "pages/3_Kernels_and_spectra.py", "pages/4_Learn_demons.py",
                          "pages/5_Paper_presets.py")
MODEL = playground_defaults()["model"]  # the dashboard's default: fmnist_vgg_robust
OFFLINE = models.weights_status(MODEL) == "offline"
W = {} if OFFLINE else {"weights": "random"}


def open_page(page: str | None = None, **params) -> AppTest:
    """The app from its entry point (as a browser opens it), then ``page``."""
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params.update({k: str(v) for k, v in params.items()})
    at.run()
    if page:
        at.switch_page(page).run()
    return at


def no_exception(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def shown(markdown: str) -> str:
    """What a user reads in a box whose body passed through ``dashboard.text.plain``: the
    Markdown without its backslash escapes and zero-width spaces."""
    return re.sub(r"\\(.)", r"\1", markdown).replace("\u200b", "")


def errors(at: AppTest) -> list[str]:
    return [shown(e.value) for e in at.error]


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


def arr(value) -> np.ndarray:
    """A plotly data array from a figure spec (a list, or plotly's base64 typed array)."""
    if isinstance(value, dict) and "bdata" in value:
        a = np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"]))
        if "shape" in value:
            shape = value["shape"]
            shape = [int(v) for v in shape.split(",")] if isinstance(shape, str) else shape
            a = a.reshape(shape)
        return a
    return np.asarray(value, dtype=float)


# ----------------------------------------------------------------------------- every page

@pytest.mark.parametrize("page", [PG, CMP, KX, LEARN, PP])
def test_every_page_renders_without_exception(page):
    at = open_page(page, **W)
    no_exception(at)
    assert at.title, page
    if page in (PG, CMP):
        assert not errors(at), errors(at)


def test_playground_widgets_exist():
    at = open_page(PG, **W)
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


def test_kernel_sliders_change_the_kernel_plot():
    at = open_page(PG, **W, f_kind="gaussian", f_fit=0, f_size=9)
    z0 = arr(trace(kernel_spec(at), "kernel 1")["z"])
    at.slider(key="pg_f_sigma").set_value(2.5).run()
    no_exception(at)
    z1 = arr(trace(kernel_spec(at), "kernel 1")["z"])
    assert z1.shape == z0.shape == (9, 9)
    assert z1[4, 4] < z0[4, 4]  # a wider Gaussian has a lower centre tap
    assert z1.sum() == pytest.approx(1.0)
    at.slider(key="pg_e_size").set_value(5).run()
    assert arr(trace(kernel_spec(at), "kernel 2")["z"]).shape == (5, 5)
    resp0 = arr(trace(kernel_spec(at), "response 2")["z"])
    at.slider(key="pg_e_order").set_value(3).run()
    resp1 = arr(trace(kernel_spec(at), "response 2")["z"])
    assert not np.allclose(resp0, resp1)


def test_short_run_streams_an_image_and_offers_downloads():
    at = open_page(PG, **W, steps=6, every=2)
    at.button(key="pg_run").click().run()
    no_exception(at)
    assert not errors(at), errors(at)
    assert at.image, "no pre-image"
    rec = at.session_state["pg_records"][0]
    assert rec.status == "done" and rec.steps == [0, 2, 4, 6]
    assert rec.images.shape == (1, 1, 64, 64)
    assert rec.first_frame_s is not None
    labels = [d.label for d in at.get("download_button")]
    assert labels == ["Download PNG", "Download GIF", "Download run JSON"]
    assert rec.png().startswith(b"\x89PNG") and rec.gif().startswith(b"GIF8")
    assert len(at.get("plotly_chart")) == 3  # kernels, curves, spectrum


def test_run_json_upload_restores_every_setting():
    at = open_page(PG, **W, steps=3, every=1, scheme="fluid", f_kind="sobolev", f_fit=0,
                   f_gamma=0.7, f_order=2, tv_on=1, tv=0.2, jitter=1.0, seed=5)
    at.button(key="pg_run").click().run()
    text = at.session_state["pg_records"][0].json()
    assert json.loads(text)["result"]["steps_done"] == 3
    fresh = open_page(PG)
    fresh.file_uploader[0].upload("run.json", text.encode(), "application/json").run()
    no_exception(fresh)
    assert fresh.radio(key="pg_scheme").value == "fluid"
    assert fresh.selectbox(key="pg_f_kind").value == "sobolev"
    assert fresh.slider(key="pg_f_gamma").value == pytest.approx(0.7)
    assert fresh.slider(key="pg_f_order").value == 2
    assert fresh.toggle(key="pg_tv_on").value is True
    assert fresh.slider(key="pg_tv").value == pytest.approx(0.2)
    assert fresh.number_input(key="pg_steps").value == 3
    assert fresh.number_input(key="pg_seed").value == 5
    assert fresh.radio(key="pg_weights").value == ("pretrained" if OFFLINE else "random")


def test_settings_live_in_the_url():
    at = open_page(PG, **W)
    at.toggle(key="pg_octaves_on").set_value(False).run()  # steps count without a schedule
    at.number_input(key="pg_steps").set_value(42).run()
    at.radio(key="pg_scheme").set_value("elastic").run()
    assert at.query_params.get("steps") in ("42", ["42"])
    assert at.query_params.get("scheme") in ("elastic", ["elastic"])
    link = {k: (v[-1] if isinstance(v, list) else v) for k, v in at.query_params.items()}
    again = open_page(PG, **link)
    assert again.number_input(key="pg_steps").value == 42
    assert again.radio(key="pg_scheme").value == "elastic"


def test_bad_url_values_are_ignored_with_a_notice():
    D = playground_defaults()

    at = open_page(PG, **W, steps="lots", scheme="warp", f_size=999)
    no_exception(at)
    assert at.number_input(key="pg_steps").value == D["steps"]
    assert at.radio(key="pg_scheme").value == D["scheme"]
    assert at.slider(key="pg_f_size").value <= 31


def test_invalid_setting_shows_error_next_to_control_and_blocks_run():
    at = open_page(PG, **W, octaves_on=1, octaves="1.0:abc")
    no_exception(at)
    assert any("octave" in e for e in errors(at))
    assert at.sidebar.error, "the message belongs next to the control in the sidebar"
    assert at.button(key="pg_run").disabled


def test_bad_upload_shows_an_error_not_an_exception():
    at = open_page(PG, **W, task="inversion", layer="block3", image="upload")
    up = at.file_uploader(key="pg_upload")
    up.upload("photo.png", b"this is not an image at all", "image/png").run()
    no_exception(at)
    assert any("not an image" in e or "could not be decoded" in e for e in errors(at))
    assert at.button(key="pg_run").disabled
    bad_json = open_page(PG, **W)
    bad_json.file_uploader[0].upload("run.json", b"{not json", "application/json").run()
    no_exception(bad_json)
    assert any("not a valid run JSON" in e for e in errors(bad_json))


def test_inversion_of_a_sample_runs():
    samples = sample_paths(1)
    if not samples:
        pytest.skip("no shipped Fashion-MNIST samples")
    at = open_page(PG, **W, task="inversion", layer="block2", image=samples[0], steps=4,
                   every=2)
    assert not errors(at), errors(at)
    at.button(key="pg_run").click().run()
    no_exception(at)
    assert at.session_state["pg_records"][0].status == "done"
    assert len(at.image) >= 2  # reference thumbnail + pre-image


def test_nan_divergence_shows_error_and_keeps_a_downloadable_image():
    at = open_page(PG, **W, steps=5, every=1, scheme="elastic", step_size=1e300,
                   grad_norm="none")
    at.button(key="pg_run").click().run()
    no_exception(at)
    rec = at.session_state["pg_records"][0]
    assert rec.status == "diverged"
    msgs = errors(at)
    assert any("diverged at step" in m and "NaN" in m for m in msgs), msgs
    assert at.image and rec.images is not None
    assert rec.png().startswith(b"\x89PNG")
    assert "Download PNG" in [d.label for d in at.get("download_button")]


@pytest.mark.parametrize("error, expected", [
    (RuntimeError("boom"), "the run failed: RuntimeError: boom"),
    (RuntimeError("CUDA out of memory. Tried to allocate 2 GiB"), "ran out of memory"),
])
def test_a_failing_run_is_a_message_not_a_traceback(monkeypatch, error, expected):
    from viz_core import engine

    def failing_run(*args, **kwargs):
        raise error
        yield  # pragma: no cover - makes this a generator like engine.run

    at = open_page(PG, **W, steps=3)
    monkeypatch.setattr(engine, "run", failing_run)
    at.button(key="pg_run").click().run()
    no_exception(at)
    assert any(expected in e for e in errors(at)), errors(at)


def test_missing_weights_are_a_message(monkeypatch, tmp_path):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))  # an empty cache: VGG19 is missing
    assert models.weights_status("vgg19") == "download needed"
    at = open_page(PG, model="vgg19", weights="pretrained")
    no_exception(at)
    assert any("not available offline" in e for e in errors(at))
    assert at.button(key="pg_run").disabled


def test_classic_recipe_loads_into_the_playground():
    at = open_page(PG, **W)
    box = at.selectbox(key="pg_recipe")
    choice = next(o for o in box.options if o.startswith("Yosinski") and "offline" in o)
    box.set_value(choice).run()
    no_exception(at)
    assert at.radio(key="pg_scheme").value == "elastic"
    assert at.selectbox(key="pg_e_kind").value == "gaussian"
    assert at.slider(key="pg_e_every").value == 4
    assert at.slider(key="pg_e_sigma").value == pytest.approx(1.0)
    assert at.selectbox(key="pg_recipe").value == "-"


# ----------------------------------------------------------------------------- compare

def test_compare_runs_one_batch_and_opens_a_cell_in_the_playground():
    at = open_page(CMP, **W, steps=4, every=2, cells="sobolev-fluid,sobolev-elastic,tv")
    no_exception(at)
    at.button(key="cmp_run").click().run()
    no_exception(at)
    rec = at.session_state["cmp_records"][0]
    assert rec.status == "done" and rec.images.shape[0] == 3
    captions = [i.captions[0] for i in at.image]  # the default task inverts the ankle boot
    assert len(captions) == 4 and captions[0] == "reference image"
    assert all("relative feature error" in c for c in captions[1:])
    assert rec.labels == ["Sobolev fluid", "Sobolev elastic", "TV"]
    at.button(key="cmp_open_elastic_sobolev").click().run()
    no_exception(at)
    assert at.title[0].value == "Playground"
    assert at.radio(key="pg_scheme").value == "elastic"
    assert at.selectbox(key="pg_e_kind").value == "sobolev"
    assert at.slider(key="pg_e_size").value == 11


def test_compare_kernel_size_error_is_shown():
    at = open_page(CMP, **W, size=4)
    no_exception(at)
    assert any("odd" in e for e in errors(at))


# ----------------------------------------------------------------------------- other pages

# ----------------------------------------------------------------------------- navigation

def test_navigation_keeps_every_old_url_and_names_home():
    from dashboard.navigation import PAGES

    assert PAGES[0].title == "Home" and PAGES[0].url_path == ""
    old = ["Playground", "Compare_schemes", "Kernels_and_spectra", "Learn_demons",
           "Paper_presets"]  # the paths of Streamlit's file-based pages before
    assert [p.url_path for p in PAGES[1:6]] == old
    assert PAGES[-1].url_path == "Sweeps"
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
    return [shown(e.value) for e in getattr(at, kind)]


def test_defaults_are_the_tuned_preset_and_inversion_picks_a_middle_layer():
    at = open_page(PG, **W)
    assert at.radio(key="pg_scheme").value == "fluid-elastic"
    assert at.toggle(key="pg_octaves_on").value is True
    assert at.number_input(key="pg_steps").disabled  # the schedule sets steps and tau
    assert at.number_input(key="pg_step_size").disabled
    assert any("the octave schedule runs 200 steps" in c.value for c in at.sidebar.caption)
    at.radio(key="pg_task").set_value("inversion").run()
    no_exception(at)
    assert at.selectbox(key="pg_layer").value == "block2"
    assert at.number_input(key="pg_jitter").value == 0.0


def test_a_changed_setting_marks_the_result_as_stale():
    at = open_page(PG, **W, steps=4, every=2, target=7)
    at.button(key="pg_run").click().run()
    assert any(s.startswith("done") for s in _texts(at, "success"))
    at.selectbox(key="pg_target").set_value(9).run()
    no_exception(at)
    notes = _texts(at, "info")
    assert any("from previous settings: class 7" in n for n in notes), notes
    assert not _texts(at, "success")  # no green "done" under settings it does not belong to
    assert any("Downloads of the run shown" in c.value for c in at.caption)


@pytest.mark.parametrize("params, expected", [
    ({"step_size": 1e9, "scheme": "plain"}, "saturated"),
    ({"scheme": "plain", "tv_on": 1, "tv": 3.0, "tv_eps": 1e-6}, "unstable TV step"),
])
def test_degenerate_results_get_a_warning_instead_of_done(params, expected):
    at = open_page(PG, **W, steps=6, every=3, **params)
    at.button(key="pg_run").click().run()
    no_exception(at)
    warnings = _texts(at, "warning")
    assert any(expected in w for w in warnings), warnings
    assert not _texts(at, "success")
    saved = json.loads(at.session_state["pg_records"][0].json())["result"]["warnings"]
    assert any(expected in w for w in saved)


def test_divergence_at_the_first_step_leaves_no_stale_progress_bar():
    at = open_page(PG, **W, steps=40, every=5, scheme="elastic", step_size=1e300,
                   grad_norm="none")
    at.button(key="pg_run").click().run()
    no_exception(at)
    assert at.session_state["pg_records"][0].status == "diverged"
    assert not at.get("progress")
    assert any("diverged at step" in e for e in errors(at))
    assert any("No curve to draw" in i for i in _texts(at, "info"))


@pytest.mark.skipif(not OFFLINE, reason="needs the shipped offline weights")
def test_am_shows_probability_top3_and_the_independent_network():
    at = open_page(PG, steps=6, every=3)
    at.button(key="pg_run").click().run()
    no_exception(at)
    from dashboard.results import judge_for

    judge = judge_for(MODEL)
    table = next(m for m in _texts(at, "markdown") if m.startswith("| quantity"))
    assert f"class probability ({MODEL})" in table
    assert "top-3 of the model" in table and f"independent network ({judge})" in table
    verdicts = json.loads(at.session_state["pg_records"][0].json())["result"]["classified_as"]
    assert set(verdicts) == {MODEL, judge}
    assert all(len(v) == 3 for v in verdicts.values())


def test_inversion_shows_the_reference_next_to_the_pre_image_at_the_same_size():
    at = open_page(PG, **W, task="inversion", layer="block2", steps=4, every=2)
    at.button(key="pg_run").click().run()
    no_exception(at)
    captions = [i.captions[0] for i in at.main.image]  # sizes: tests/e2e/test_dashboard.py
    assert captions[0].startswith("pre-image") and captions[1] == "reference image"
    assert not at.sidebar.image


def test_urls_carry_the_sample_name_and_old_absolute_paths_still_work():
    sample = sample_paths(1)[0]
    at = open_page(PG, **W, task="inversion", layer="block2", image=sample)
    no_exception(at)
    assert not errors(at), errors(at)
    image = at.query_params.get("image")
    image = image[-1] if isinstance(image, list) else image
    assert image == f"fmnist/{Path(sample).name}" and str(ROOT) not in image
    again = open_page(PG, **W, task="inversion", layer="block2", image=image)
    assert again.selectbox(key="pg_image").value == image and not errors(again)


def test_a_link_with_an_uploaded_image_says_uploads_do_not_travel():
    at = open_page(PG, **W, task="inversion", layer="block2", image="upload")
    no_exception(at)
    assert any("cannot travel in a link" in e for e in errors(at)), errors(at)
    assert at.button(key="pg_run").disabled


def test_a_downloaded_png_restores_its_run():
    at = open_page(PG, **W, steps=3, every=1, scheme="elastic", e_kind="gaussian", seed=4)
    at.button(key="pg_run").click().run()
    png = at.session_state["pg_records"][0].png()
    fresh = open_page(PG)
    fresh.file_uploader[0].upload("preimage.png", png, "image/png").run()
    no_exception(fresh)
    assert fresh.radio(key="pg_scheme").value == "elastic"
    assert fresh.selectbox(key="pg_e_kind").value == "gaussian"
    assert fresh.number_input(key="pg_seed").value == 4
    plain = open_page(PG)
    from viz_core.images import png_bytes

    plain.file_uploader[0].upload("x.png", png_bytes(np.zeros((1, 8, 8))), "image/png").run()
    assert any("carries no run settings" in e for e in errors(plain))


def test_error_messages_speak_the_dashboards_language(monkeypatch, tmp_path):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))  # an empty cache: VGG19 is missing
    at = open_page(PG, model="vgg19", weights="pretrained")
    text = " ".join(errors(at))
    assert "not available offline" in text
    for word in ("allow_download", "--", "weights='random'", "/"):
        assert word not in text, (word, text)
    assert "choose another model" in text.lower()


def test_cuda_is_not_offered_without_a_gpu():
    import torch

    at = open_page(PG, **W)
    options = at.radio(key="pg_device").options
    assert ("cuda" in options) == torch.cuda.is_available()
    assert ("mps" in options) == torch.backends.mps.is_available()


def test_compare_robust_toggle_is_disabled_without_robust_weights():
    at = open_page(CMP, **W)
    if at.toggle(key="cmp_robust").disabled:
        assert any("No robust counterpart" in c.value for c in at.sidebar.caption)


def test_compare_runs_standard_and_robust_side_by_side(monkeypatch):
    from dashboard import results

    other = results.counterpart_for(MODEL)
    if other is None or not OFFLINE:  # no pair on this machine: a stand-in counterpart
        other = "fmnist_resnet"
        monkeypatch.setattr(results, "counterpart_for", lambda name: other)
    at = open_page(CMP, **W, task="am", layer="logits", steps=2, every=1, cells="tv,plain")
    at.toggle(key="cmp_robust").set_value(True).run()
    at.button(key="cmp_run").click().run()
    no_exception(at)
    recs = at.session_state["cmp_records"]
    assert [r.model_label.split(" ")[0] for r in recs] == [MODEL, other]
    assert len(at.image) == 4 and all(r.status == "done" for r in recs)


def test_the_robust_model_is_the_default_and_the_standard_one_a_click_away():
    from dashboard.results import counterpart_for

    if not OFFLINE or MODEL != "fmnist_vgg_robust":
        pytest.skip("the robust weights are not on this machine")
    assert counterpart_for(MODEL) == "fmnist_vgg" and counterpart_for("fmnist_vgg") == MODEL
    for page, key in ((PG, "pg_model"), (CMP, "cmp_model")):
        at = open_page(page)
        assert at.selectbox(key=key).value == MODEL
        assert any(o.split()[0] == "fmnist_vgg" for o in at.selectbox(key=key).options)
        assert "model" not in at.query_params  # the default stays out of the URL
        old = open_page(page, model="fmnist_vgg")  # a link from before keeps its model
        no_exception(old)
        assert old.selectbox(key=key).value == "fmnist_vgg" and not errors(old)
        assert old.query_params.get("model") in ("fmnist_vgg", ["fmnist_vgg"])
    at = open_page(PG)
    at.selectbox(key="pg_model").set_value("fmnist_vgg").run()  # one click
    no_exception(at)
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
    from dashboard.runs import RunRecord, stream

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

    from viz_core import engine

    drawn = []
    frames = iter([_Frame(15, 0.15), _Frame(20, 0.2)])
    monkeypatch.setattr(engine, "run", lambda *a, **k: frames)
    stream([], _Model(), rec, lambda r, f, full: drawn.append(f.step))
    assert drawn == [] and rec.step == 5 and rec.status == "stopped"
    assert next(frames).step == 20  # the engine was not asked for more frames


def test_figures_are_built_once_per_session_and_show_the_latest_run():
    at = open_page(PG, **W, steps=4, every=2)
    at.button(key="pg_run").click().run()
    figs = dict(at.session_state["_dashboard_figures"])
    curves = next(f for k, f in figs.items() if k[0] == "curves")
    at.number_input(key="pg_steps").set_value(6).run()
    at.button(key="pg_run").click().run()
    no_exception(at)
    again = next(f for k, f in at.session_state["_dashboard_figures"].items()
                 if k[0] == "curves")
    assert again is curves  # updated in place, not rebuilt
    spec = next(json.loads(c.proto.spec) for c in at.get("plotly_chart")
                if "data term D" in c.proto.spec)
    assert list(arr(spec["data"][0]["x"])) == [2, 4, 6]  # the second run's steps
