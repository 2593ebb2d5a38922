"""``demons-viz models`` (viz_core.cli.models): the zoo and one model's catalogue."""

import json

from viz_core.cli import main


def test_models_lists_zoo(capsys):
    assert main(["models", "--json"]) == 0
    names = [r["name"] for r in json.loads(capsys.readouterr().out)]
    assert {"vgg19", "resnet50", "densenet121", "fmnist_vgg"} <= set(names)
    assert main(["models", "vgg19", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["aliases"]["block5_conv1"] == "features.29"


def test_models_text_output_names_layers(capsys):
    assert main(["models", "fmnist_vgg"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("fmnist_vgg:") and "    block4" in out
    assert main(["models"]) == 0
    assert "layers of one model: demons-viz models NAME" in capsys.readouterr().out
