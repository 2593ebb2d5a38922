"""Home page (AppTest): a gallery first (or a calm note), a guided demo whose steps open
their pages with the settings in the URL and run once."""

from __future__ import annotations

import json

import numpy as np
from PIL import Image

from dashboard import demo
from dashboard.navigation import PAGES


def _fake_gallery(folder) -> None:
    png = folder / "x.png"
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(png)
    am = [{"class": i, "name": f"class{i}", "png": str(png), "p_self": 0.9, "top3_self": [],
           "p_judge": 0.5 + i / 100, "judge_top1": f"class{i}", "recognised": i != 3}
          for i in range(10)]
    data = {"command": "python scripts/make_gallery.py --models a", "created": "now",
            "models": [{"model": "fmnist_vgg", "judge": "fmnist_resnet", "scheme": "tv",
                        "scheme_title": "total variation", "recognised": 9, "am": am}],
            "inversion": {"model": "fmnist_vgg", "image": "0_ankle_boot.png",
                          "reference_png": str(png),
                          "layers": [{"layer": "block2", "png": str(png), "psnr_db": 18.2,
                                      "feature_error": 0.12, "scheme": "tv",
                                      "scheme_title": "total variation"}]}}
    (folder / "gallery.json").write_text(json.dumps(data))


def test_home_lists_device_models_and_pages(dash):
    at = dash.open()
    dash.no_exception(at)
    assert not at.error
    text = " ".join(m.value for m in at.markdown) + " ".join(a.value for a in at.info) + \
        " ".join(a.value for a in at.success)
    assert "Device in use" in text
    links = [(p.proto.page, p.proto.label) for p in at.get("page_link")]
    # every page of the navigation but Home itself, in order, with its title and blurb
    assert links == [(info.url_path, f"**{info.title}**") for info in PAGES if info.url_path]
    captions = [c.value for c in at.caption]
    assert all(info.blurb and info.blurb in captions for info in PAGES if info.url_path)
    from viz_core.models import available_models

    table = at.dataframe[0].value  # the models, each with the state of its weights
    assert list(table["model"]) == [s.name for s in available_models()]
    assert set(table.loc[table["model"] == "fmnist_vgg_robust", "weights"]) == {"ready: offline"}


def test_missing_gallery_is_a_calm_note(dash, tmp_path, monkeypatch):
    monkeypatch.setattr(demo, "GALLERY", tmp_path)
    at = dash.open()
    dash.no_exception(at)
    assert not at.warning and not at.error
    assert any("make_gallery.py" in i.value for i in at.info)
    assert [b.label for b in at.button][:3] == [s.title for s in demo.demo_steps()]


def test_gallery_opens_the_page_with_probabilities(dash, tmp_path, monkeypatch):
    _fake_gallery(tmp_path)
    monkeypatch.setattr(demo, "GALLERY", tmp_path)
    at = dash.open()
    dash.no_exception(at)
    imgs = [str(e.proto) for e in at.image]
    assert sum("p = 0.90" in p for p in imgs) == 10
    assert any("18.2 dB" in p for p in imgs) and any("reference" in p for p in imgs)
    md = " ".join(m.value for m in at.markdown)
    assert "9 of 10 recognised" in md
    # the gallery comes before the text about the tool
    assert md.index("Class pre-images") < md.index("computes **pre-images**")


def test_demo_steps_use_the_gallery_and_open_their_pages(dash, tmp_path):
    _fake_gallery(tmp_path)
    g = demo.load_gallery(tmp_path)
    steps = demo.demo_steps(g)
    assert [s.page for s in steps] == ["compare", "playground", "kernels"]
    # the Playground step runs the gallery's model, class and scheme: its tuned preset
    from dashboard.settings.playground import (
        PLAYGROUND_CHOICES,
        playground_defaults,
        settings_to_config,
    )
    from dashboard.urlstate import decode, encode
    from viz_core.offline_presets import offline_config

    d = playground_defaults()  # through the link, as the Home page opens it
    linked, notices = decode(encode({**d, **steps[1].settings}, d), d, PLAYGROUND_CHOICES)
    assert not notices
    got = settings_to_config(linked).to_dict()
    want = offline_config("fmnist_vgg", "tv", "am", 9).to_dict()
    for k in ("model", "task", "target", "fluid", "elastic", "tv", "tv_eps", "step_size",
              "steps", "octaves", "jitter", "seed", "optimizer", "init_std", "class_score"):
        assert got[k] == want[k], k
    assert "total variation" in steps[1].caption
    state = {demo.autorun_key("pg_"): True}
    assert demo.take_autorun(state, "pg_") and not demo.take_autorun(state, "pg_")
    at = dash.open()
    at.button(key="home_demo2").click().run()
    dash.no_exception(at)
    assert at.title[0].value == "Kernels & spectra" and not at.warning
