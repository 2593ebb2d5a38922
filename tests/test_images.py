

def test_loading_says_what_it_changed_in_the_image(tmp_path):
    """A colour upload for a grey network, or the reverse, is converted with a notice, as a
    crop is (QA: a colour, non-square upload turned grey without a word)."""
    import numpy as np
    from PIL import Image

    from viz_core.images import load_image

    rgb = tmp_path / "colour.png"
    Image.fromarray((np.random.default_rng(0).random((40, 60, 3)) * 255).astype("uint8")) \
        .save(rgb)
    t, notes = load_image(str(rgb), 64, 1)
    assert t.shape == (1, 1, 64, 64)
    assert notes == ["colour converted to grey (the network takes one channel)",
                     "centre-cropped from 60x40 to a square"]
    grey = tmp_path / "grey.png"
    Image.fromarray(np.zeros((32, 32), "uint8")).save(grey)
    assert load_image(str(grey), 64, 1)[1] == []
    assert load_image(str(grey), 64, 3)[1] == [
        "grey image repeated in three channels (the network takes colour)"]
