"""timm networks by name (``timm:resnet50``, ``timm:convnext_tiny``,
``timm:vit_small_patch16_224``), in the optional ``[timm]`` extra.

The layer catalogue is timm's ``feature_info`` (the stages timm itself exposes as feature
maps), and every ``named_modules()`` name resolves. A vision transformer's blocks output
token sequences; their patch tokens are reshaped to the patch grid (:class:`TokenGrid`), so
a channel of a block is visualised like a CNN channel (eq. 4). Pretrained weights come only
from local files: ``demons-viz models download timm:NAME`` or the Hugging Face cache
(safetensors, read without pickle); nothing is downloaded here. ``weights="random"`` works
offline.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

from viz_core.errors import VizError
from viz_core.models.loaded import LoadedModel, TokenGrid
from viz_core.models.module_source import from_module
from viz_core.models.zoo_source import load_state, read_state_dict

__all__ = ["load_timm", "timm_cached_weights", "timm_module", "timm_weights_file"]


def timm_module():
    """The ``timm`` package, or a VizError naming the extra to install."""
    try:
        import timm
    except ImportError:
        raise VizError("timm models need the optional extra: pip install 'demons-viz[timm]'",
                       field="model") from None
    return timm


def timm_weights_file(name: str) -> Path:
    """Where ``demons-viz models download timm:NAME`` puts the weights (torch hub cache)."""
    return Path(torch.hub.get_dir()) / "checkpoints" / "timm" / f"{name}.safetensors"


def timm_cached_weights(name: str) -> Path | None:
    """A local safetensors file with ``name``'s pretrained weights, or None."""
    own = timm_weights_file(name)
    if own.is_file():
        return own
    timm = timm_module()
    cfg = timm.models.get_pretrained_cfg(name)
    hub_id = getattr(cfg, "hf_hub_id", None) if cfg is not None else None
    if not hub_id:
        return None
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return None
    repo, _, revision = hub_id.partition("@")
    found = try_to_load_from_cache(repo, "model.safetensors", revision=revision or None)
    return Path(found) if isinstance(found, str) and Path(found).is_file() else None


def _imagenet_classes(n: int) -> list[str] | None:
    if n != 1000:
        return None
    import torchvision

    return list(torchvision.models.ResNet50_Weights.DEFAULT.meta["categories"])


def load_timm(name: str, weights: str | os.PathLike | None = None,
              device: str | torch.device = "cpu", seed: int = 0,
              classes: list[str] | None = None) -> LoadedModel:
    """A timm model: pretrained from a local file (``weights`` None/"default"), random with
    ``seed`` (``"random"``), or from a state_dict file."""
    timm = timm_module()
    if name not in timm.list_models():
        import difflib

        close = difflib.get_close_matches(name, timm.list_models(), n=3)
        hint = f" Did you mean {', '.join('timm:' + c for c in close)}?" if close else ""
        raise VizError(f"unknown timm model {name!r}.{hint}", field="model")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = timm.create_model(name, pretrained=False)
    mode = weights or "default"
    if mode == "random":
        label, pretrained = f"timm:{name} (RANDOM weights, seed {seed})", False
    else:
        if mode == "default":
            path = timm_cached_weights(name)
            if path is None:
                raise VizError(f"pretrained weights for timm:{name} are not in the local "
                               f"cache. Run `demons-viz models download timm:{name}`, or use "
                               "weights='random'.", field="weights")
        else:
            path = Path(mode)
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            state = load_file(str(path))
        else:
            state = read_state_dict(path)
        load_state(net, state, str(path))
        label, pretrained = f"timm:{name} (weights from {path.name})", True
    net = net.eval().requires_grad_(False)
    data = timm.data.resolve_model_data_config(net)
    channels, height, width = data["input_size"]
    if height != width:
        raise VizError(f"timm:{name} takes {height}x{width} inputs; only square inputs are "
                       "supported", field="model")
    catalogue = [f["module"] for f in getattr(net, "feature_info", []) if f.get("module")]
    tokens = None
    grid = getattr(getattr(net, "patch_embed", None), "grid_size", None)
    if grid is not None:  # a vision transformer: patch tokens -> the patch grid
        tokens = TokenGrid(int(getattr(net, "num_prefix_tokens", 0)), int(grid[0]),
                           int(grid[1]))
    n = int(getattr(net, "num_classes", 0) or 0)
    return from_module(net, input_size=int(height), channels=int(channels),
                       mean=data["mean"], std=data["std"],
                       classes=classes or _imagenet_classes(n), name=f"timm:{name}",
                       device=device, pretrained=pretrained, tokens=tokens, layers=catalogue,
                       default_layer=catalogue[-1] if catalogue else "logits",
                       description=f"timm {name}", label=label, keep=False)
