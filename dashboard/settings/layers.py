"""Which layer an inversion starts from when the user has not chosen one: the middle block
of the model's layer catalogue (Sec. 3.2: inversion from there stays recognisable, from
the deepest block it does not). No Streamlit here."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["default_layer", "middle_layer"]


def middle_layer(layers: Sequence[str], fallback: str) -> str:
    """The middle block of a layer catalogue (``block2`` of four VGG blocks): inversion
    from there stays recognisable, from the deepest block it does not (Sec. 3.2). A
    network of fewer than three top-level blocks (``features`` and ``classifier``) counts
    the children of its first block instead: ``features`` is the deepest feature map.

    >>> middle_layer(["block1", "block2", "block3", "block4", "logits"], "logits")
    'block2'
    >>> middle_layer(["features", *(f"features.{i}" for i in range(9)), "classifier",
    ...               "logits"], "logits")
    'features.4'
    >>> middle_layer(["logits"], "logits")
    'logits'
    """
    blocks = [lay for lay in layers if "." not in lay and lay != "logits"]
    if len(blocks) < 3:
        kids = [lay for lay in layers
                if blocks and lay.startswith(blocks[0] + ".") and lay.count(".") == 1]
        blocks = kids if len(kids) >= 3 else blocks
    return blocks[(len(blocks) - 1) // 2] if blocks else fallback


def default_layer(model: str) -> str | None:
    """A zoo model's default layer (what a configuration without a layer runs), None for
    other models.

    >>> default_layer("fmnist_resnet"), default_layer("my_net.pt2")
    ('layer4', None)
    """
    from viz_core import zoo

    try:
        return zoo.get_spec(model).default_layer
    except Exception:  # noqa: BLE001 - not a zoo model (a program, an import string)
        return None
