"""Shared helpers of the benchmark scripts: timing, machine description, Markdown tables.

Every script prints its tables and writes ``results/bench_<name>_<device>.md`` with the
command and the machine. Timings are medians over repeats within one run; nothing here
asserts on time.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# the repository first, before bench/ itself, even when PYTHONPATH names it already:
# ``import dashboard`` is the package, never bench/dashboard.py (the AppTest benchmark)
if str(ROOT) in sys.path:
    sys.path.remove(str(ROOT))
sys.path.insert(0, str(ROOT))

# The runs a benchmark makes (pages in a server it starts, AppTest, the library) go to a run
# store of its own, not to the History of whoever runs it; set DEMONS_VIZ_STORE to keep them.
if not os.environ.get("DEMONS_VIZ_STORE"):
    os.environ["DEMONS_VIZ_STORE"] = str(
        Path(tempfile.mkdtemp(prefix="demons-viz-bench-")) / "runs.sqlite")

import torch  # noqa: E402

from viz_core.machine import machine_description  # noqa: E402

RESULTS = ROOT / "results"
_CLOCK = {"fn": time.perf_counter, "name": "wall"}


def now() -> float:
    """The benchmark clock: wall time, or this process's CPU time (``--clock cpu``: robust
    against other jobs on a shared machine; use it with ``--threads 1``, where CPU time is
    compute time and not spin-waiting)."""
    return _CLOCK["fn"]()


def base_parser(description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu",
                   help="cpu or cuda (where present)")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: default)")
    p.add_argument("--repeats", type=int, default=3, help="timed repeats (median reported)")
    p.add_argument("--out", default=str(RESULTS), help="folder for bench_*.md ('' = none)")
    p.add_argument("--clock", choices=["wall", "cpu"], default="wall",
                   help="wall time, or process CPU time (with --threads 1 on a busy machine)")
    p.add_argument("--suffix", default="", help="appended to the output file name")
    return p


def setup(args: argparse.Namespace) -> torch.device:
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.clock == "cpu":
        if args.device == "cuda":
            raise SystemExit("error: --clock cpu measures CPU time; use wall on a GPU")
        _CLOCK.update(fn=time.process_time, name="cpu")
    from viz_core.devices import resolve_device
    from viz_core.errors import VizError

    try:
        device = resolve_device(args.device)
    except VizError as exc:
        raise SystemExit(f"error: {exc}") from None
    torch.backends.cudnn.benchmark = device.type == "cuda"
    return device


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _cell(v: object) -> str:
    if isinstance(v, float):
        return f"{v:.3f}" if abs(v) < 100 else f"{v:.1f}"
    return str(v)


def md_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A benchmark table: floats with 3 decimals (1 from 100 on)."""
    from viz_core.tables import markdown_table

    return markdown_table(headers, rows, _cell)


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return "CPU"


def report(name: str, title: str, sections: Sequence[tuple[str, str]], args,
           device: torch.device, notes: Sequence[str] = ()) -> str:
    """Print and (unless ``--out ''``) write ``bench_<name>_<device>.md``."""
    cmd = "python " + shlex.join([f"bench/{Path(sys.argv[0]).name}", *sys.argv[1:]])
    text = [f"# {title} ({device_name(device)})", "",
            f"Command: `{cmd}`", "",
            f"Machine: {machine_description()}; device {device_name(device)}; clock: "
            f"{'process CPU time' if _CLOCK['name'] == 'cpu' else 'wall time'}; 1-min load "
            f"average at the end {_load()}; "
            f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.", ""]
    for head, table in sections:
        text += [f"## {head}", "", table, ""]
    text += [f"* {n}" for n in notes]
    out = "\n".join(text).rstrip() + "\n"
    print(out)
    if args.out:
        folder = Path(args.out)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"bench_{name}_{device.type}{args.suffix}.md"
        path.write_text(out, encoding="utf-8")
        print(f"wrote {path}")
    return out


def _load() -> str:
    try:
        import os

        return f"{os.getloadavg()[0]:.2f}"
    except (OSError, AttributeError):
        return "n/a"


STEPS = {"vgg19": 2, "resnet50": 3, "fmnist_vgg": 20}


def default_steps(name: str, model, requested: int = 0) -> int:
    """Steps per timed run: ``requested`` if given, else a per-model default that keeps a
    run short on a CPU (few at 224 px, more for the 64 px offline model)."""
    return requested or STEPS.get(name, 5 if model.spec.input_size > 100 else 20)


def am_base(model_name: str, layer: str, steps: int, device: torch.device, **kw):
    """A channel activation-maximization configuration (channel 0 of ``layer``)."""
    from viz_core.config import RunConfig

    return RunConfig(model=model_name, weights="random", task="am", layer=layer, channel=0,
                     steps=steps, every=steps, step_size=5.0, device=device.type, **kw)


def engine_step_time(configs, model, steps: int, every: int | None = None,
                     consume: Callable[[object], None] | None = None) -> float:
    """Seconds per engine step: time from the step-0 frame to the final frame / steps."""
    from viz_core.engine import run

    first = last = None
    for f in run(configs, model, every=every or steps):
        if first is None:
            first = now()
        if consume is not None:
            consume(f)
        last = now()
    return (last - first) / steps


def bare_step(model, layer: str, batch: int, device: torch.device,
              channel: int = 0) -> Callable[[], None]:
    """One bare forward+backward through the network truncated at ``layer`` w.r.t. the
    input, as the engine does it (same feature module, same normalisation)."""
    spec = model.spec
    net = model.features(layer)
    x0 = torch.rand(batch, spec.channels, spec.input_size, spec.input_size, device=device)

    def step() -> None:
        x = x0.detach().requires_grad_(True)
        with torch.enable_grad():
            out = net(model.normalize(x))
            act = out[:, channel].flatten(1).mean(1) if out.ndim == 4 else out[:, channel]
            torch.autograd.grad((-act).sum(), x)

    return step
