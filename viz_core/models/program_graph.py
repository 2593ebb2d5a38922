"""What an exported program's graph says (``torch.export``, the ``.pt2`` source of
:mod:`viz_core.models.file_source`): the module whose output each node is (its inner
layers), the graph cut at a layer, the image input's shape and the sizes a dynamic program
takes, its batch, and the operations that run as in training.
"""

from __future__ import annotations

import torch

from viz_core.errors import VizError
from viz_core.models.loaded import clone_outputs

__all__ = ["check_input", "cut", "image_input", "input_shape", "module_outputs",
           "output_node", "size_range", "static_batch", "training_ops"]


def module_outputs(gm: torch.fx.GraphModule) -> dict[str, torch.fx.Node]:
    """Module path -> the last graph node computed inside that module, in the order the
    modules are entered (as ``named_modules()`` lists them)."""
    last: dict[str, torch.fx.Node] = {}
    for node in gm.graph.nodes:
        if node.op != "call_function":
            continue
        for path, _ in (node.meta.get("nn_module_stack") or {}).values():
            if path:
                last[path] = node
    return last


def returned(gm: torch.fx.GraphModule, n: int) -> str:
    """What a program returns that is not one tensor, in words ("a tuple of 2 tensors",
    "a dict of 2 tensors (keys 'a', 'b')"); ``n``: how many values its output holds."""
    spec = getattr(gm, "_out_spec", None)
    kind, context = getattr(spec, "type", None), getattr(spec, "context", None)
    values = f"{n} tensor{'' if n == 1 else 's'}"
    if kind is dict and context:
        return f"a dict of {values} (keys {', '.join(map(repr, context))})"
    if kind in (tuple, list):
        return f"a {kind.__name__} of {values}"
    return values


def output_node(gm: torch.fx.GraphModule, file: str = "the exported program"
                ) -> torch.fx.Node:
    """The graph value the program returns: the logits (class scores, eq. 4); a VizError
    saying what it returns when that is not one tensor."""
    out = next(n for n in gm.graph.nodes if n.op == "output")
    flat = torch.utils._pytree.tree_leaves(out.args[0])
    if len(flat) != 1 or not isinstance(flat[0], torch.fx.Node):
        raise VizError(f"{file} must return one tensor (the logits), but returned "
                       f"{returned(gm, len(flat))}: export a forward that returns the logits "
                       "alone", field="model")
    return flat[0]


def cut(gm: torch.fx.GraphModule, nodes: dict[str, torch.fx.Node]) -> torch.fx.GraphModule:
    """The program up to ``nodes``, returning ``{name: value}`` (copies, see clone_outputs)."""
    graph = torch.fx.Graph()
    values: dict = {}
    graph.graph_copy(gm.graph, values)
    graph.output({name: values[node] for name, node in nodes.items()})
    sub = torch.fx.GraphModule(gm, graph)
    sub.graph.eliminate_dead_code()
    sub.recompile()
    return clone_outputs(sub)


def _static(d: object) -> int | None:
    """A recorded size, or None when it is symbolic (a dynamic dimension; ``int()`` of one
    would specialise it to its example value)."""
    if isinstance(d, torch.SymInt):
        return None
    try:
        return int(d)  # type: ignore[call-overload]
    except (TypeError, ValueError, RuntimeError):
        return None


def image_input(gm: torch.fx.GraphModule) -> torch.Tensor | None:
    """The recorded (fake) tensor of the program's first tensor input, or None."""
    for node in gm.graph.nodes:
        val = node.meta.get("val") if node.op == "placeholder" else None
        if isinstance(val, torch.Tensor):
            return val
    return None


def input_shape(gm: torch.fx.GraphModule, file: str) -> tuple[int | None, int | None]:
    """(channels, size) of the program's image input as the graph records it (None where
    a dimension is dynamic or nothing is recorded); a VizError for an input that is not an
    (N, C, H, W) image or not square (the tool visualises H x H images)."""
    val = image_input(gm)
    if val is None:
        return None, None
    dims = [_static(d) for d in val.shape]
    if len(dims) != 4:
        shape = ", ".join("N" if d is None else str(d) for d in dims)
        raise VizError(f"{file} takes inputs of shape ({shape}), not images "
                       "(N, C, H, W): export a network that takes images", field="model")
    c, h, w = dims[1:]
    if h is not None and w is not None and h != w:
        raise VizError(f"{file} takes {h}x{w} images; the tool needs square inputs (HxH): "
                       "export it at a square size", field="model")
    if h is None and w is None:  # a dynamic size: the one it was exported with
        h = _hint(val.shape[2])
    return c, (h if h is not None else w)


def static_batch(gm: torch.fx.GraphModule) -> int | None:
    """The batch size a program's image input was exported with, None when dynamic."""
    val = image_input(gm)
    return _static(val.shape[0]) if val is not None and val.ndim == 4 else None


def size_range(program, gm: torch.fx.GraphModule) -> tuple[int, int] | None:
    """(smallest, largest) image side the program accepts: its recorded side twice, or the
    range of its dynamic height; None when the graph does not say."""
    val = image_input(gm)
    if val is None or val.ndim != 4:
        return None
    side = val.shape[2]
    if not isinstance(side, torch.SymInt):
        return int(side), int(side)
    try:
        vr = program.range_constraints[side.node.expr]
        return int(vr.lower), int(vr.upper)
    except (AttributeError, KeyError, TypeError, ValueError, OverflowError):
        return None  # an unbounded range (int() of infinity) or none recorded


def check_input(program, gm: torch.fx.GraphModule, file: str, channels: int | None,
                input_size: int | None) -> None:
    """A VizError when ``channels`` or ``input_size`` (None: not given) is not what the
    program takes: its recorded channel count, its recorded size or dynamic range."""
    recorded = input_shape(gm, file)[0]
    if channels and recorded is not None and channels != recorded:
        plural = "" if recorded == 1 else "s"
        raise VizError(f"{file} takes {recorded}-channel inputs, not {channels}: use "
                       f"{recorded} channel{plural} or export the program for "
                       f"{channels}-channel inputs", field="channels")
    sizes = size_range(program, gm)
    if input_size and sizes is not None and not sizes[0] <= input_size <= sizes[1]:
        fixed = sizes[0] == sizes[1]
        takes = (f"{sizes[0]}x{sizes[0]} inputs" if fixed else
                 f"sizes {sizes[0]} to {sizes[1]} (exported with a dynamic size)")
        choose = "use that size" if fixed else "choose a size in that range"
        raise VizError(f"{file} takes {takes}, not {input_size}x{input_size}: {choose} or "
                       "export the program for the size you need", field="input_size")


def _hint(d: object) -> int | None:
    """The example value of a dynamic dimension (the size the program was exported with),
    or None when the graph does not record it."""
    try:
        hint = d.node.hint  # type: ignore[attr-defined]
        return None if hint is None else int(hint)
    except (AttributeError, TypeError, ValueError):
        return None


def training_ops(gm: torch.nn.Module) -> list[str]:
    """The operations of an exported graph that run as in training (``net.train()`` at
    export): dropout that drops, batch normalisation from the batch's statistics. Each
    pass then computes another function of the input.

    >>> net = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.BatchNorm2d(2),
    ...                           torch.nn.Dropout(0.5))
    >>> x = (torch.zeros(1, 1, 8, 8),)
    >>> training_ops(torch.export.export(net.train(), x).module())
    ['batch norm', 'dropout']
    >>> training_ops(torch.export.export(net.eval(), x).module())
    []
    """
    found = set()
    for node in gm.graph.nodes:
        name = str(node.target) if node.op == "call_function" else ""
        if "dropout" in name:
            on = node.args[2] if len(node.args) > 2 else node.kwargs.get("train")
            if on is True:
                found.add("dropout")
        elif "batch_norm" in name and "no_training" not in name:
            at = 3 if "no_stats" in name else 5
            on = node.args[at] if len(node.args) > at else node.kwargs.get("training")
            if on is True:
                found.add("batch norm")
    return sorted(found)
