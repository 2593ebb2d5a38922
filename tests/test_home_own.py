"""Home as a demo person meets it (QA): bringing one's own network is said on the page (the
three routes), the team's models of demons-viz.toml are in the Models table with their
classes and source (read from the file, no network opened), and the gallery explains its
words once (the scheme in plain words, robust training, the judge named once above the
pictures, the flat image's PSNR beside the inversions' dB)."""

from __future__ import annotations

from dashboard import demo

TOML = """[[model]]
name = "qa_tiny"
source = "qa_module_not_imported_by_home:make_net"
input_size = 32
channels = 1
mean = [0.5]
std = [0.25]
classes = ["Apple", "Banana", "Cherry"]

[[model]]
name = "qa_program"
source = "nets/qa.pt2"
"""


def _text(at) -> str:
    return " ".join([m.value for m in at.markdown] + [c.value for c in at.caption]
                    + [w.value for w in at.warning])


def test_home_says_how_to_bring_your_own_network(dash):
    at = dash.open()
    dash.no_exception(at)
    assert "Your own network" in [h.value for h in at.subheader]
    text = _text(at)
    for word in (".pt2", "upload", "demons-viz.toml", "DEMONS_VIZ_MODELS", "from_module"):
        assert word.lower() in text.lower(), word


def test_the_teams_models_are_in_the_models_table(dash, tmp_path, monkeypatch):
    (tmp_path / "nets").mkdir()
    (tmp_path / "nets" / "qa.classes.txt").write_text("a\nb\nc\nd\n")  # beside the program
    toml = tmp_path / "demons-viz.toml"
    toml.write_text(TOML)
    monkeypatch.setenv("DEMONS_VIZ_MODELS", str(toml))
    at = dash.open()
    dash.no_exception(at)
    table = at.dataframe[0].value
    rows = table.set_index("model")
    assert rows.loc["qa_tiny", "classes"] == "3" and rows.loc["qa_tiny", "input"] == "32x32x1"
    assert rows.loc["qa_tiny", "source"] == "team"
    assert rows.loc["qa_program", "classes"] == "4"
    assert rows.loc["qa_program", "source"] == "team"
    assert rows.loc["fmnist_vgg", "classes"] == "10 · Fashion-MNIST"
    assert rows.loc["vgg19", "classes"] == "1000 · ImageNet"
    assert rows.loc["vgg19", "note"] == "in the paper"
    assert rows.loc["fmnist_lenet_judge", "note"] == "judge"
    assert ("Your team's: qa_tiny (from qa_module_not_imported_by_home:make_net), "
            "qa_program (from qa.pt2)") in _text(at)


def test_a_broken_team_file_is_said_and_the_zoo_still_listed(dash, tmp_path, monkeypatch):
    toml = tmp_path / "demons-viz.toml"
    toml.write_text("[[model]]\nname = 'x'\n")  # no source
    monkeypatch.setenv("DEMONS_VIZ_MODELS", str(toml))
    at = dash.open()
    dash.no_exception(at)
    assert any("needs a name and a source" in w.value for w in at.warning)
    assert "fmnist_vgg" in list(at.dataframe[0].value["model"])


def test_the_gallery_explains_its_words_once(dash):
    g = demo.load_gallery()  # the committed one
    assert g is not None
    at = dash.open()
    dash.no_exception(at)
    captions = [str(e.proto) for e in at.image]
    judge = g["models"][0]["judge"]
    assert not any(f"{judge}:" in c for c in captions)  # named once, above the pictures
    text = _text(at)
    assert judge in text and "adversarially trained" in text
    best = g["models"][0]
    assert demo.scheme_words(best["scheme"]) in text
    floor = demo.flat_floor_db(g["inversion"]["model"])
    assert floor is not None and 9 < floor < 12
    assert f"a flat grey image scores {floor:.1f} dB" in text


def test_scheme_words_and_the_flat_floor():
    assert demo.scheme_words("fluid_spectral").startswith("each step's change is stripped of "
                                                          "fine detail")
    assert demo.scheme_words("fluid_spectral").endswith(": fluid demons, spectral")
    assert demo.scheme_words("unknown scheme") == "unknown scheme"
    # read from the committed depth results, the mean over the shipped samples
    assert round(demo.flat_floor_db("fmnist_resnet_robust"), 1) == 10.2
    assert demo.flat_floor_db("no_such_model") is None
    assert demo.training_words("fmnist_resnet_robust") == " (robust)"
    assert demo.training_words("fmnist_resnet") == " (standard training)"
