"""``demons-viz metrics``: per-scheme numbers (objective, activation, HF / coarse share, TV
of eq. 19, PSNR / SSIM) for a set of runs, with the paper's Sec. 4.1 claims checked."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from viz_core import engine
from viz_core.cli.common import (
    TASKS,
    add_device,
    add_threads,
    check_out,
    command_line,
    float_arg,
    int_arg,
    progress_bar,
    seed_arg,
    set_threads,
)
from viz_core.cli.contract import (
    add_contract_arguments,
    contract_of,
    given_contract,
    model_name,
)
from viz_core.cli.samples import recorded_samples, sample_configs, together
from viz_core.config import RunConfig
from viz_core.errors import VizError
from viz_core.evaluation.protocol import PAPER_KERNEL_SIZE, TV_LAMBDA
from viz_core.evaluation.reports import metric_notes, to_csv
from viz_core.evaluation.scheme_metrics import (
    paper_claims,
    scheme_metrics,
    scheme_metrics_markdown,
    standard_schemes,
    table_columns,
)
from viz_core.images import existing_image_file
from viz_core.machine import machine_description
from viz_core.schemes import scheme_label, scheme_of

HELP = ("per-scheme metrics (objective, activation, HF/coarse share, TV, PSNR/SSIM) for a "
        "set of runs")
DESCRIPTION = ("Run a set of configurations (run JSON files, or the standard scheme set: "
               "plain, fluid/elastic/fluid-elastic x Sobolev/Gaussian, TV) and print their "
               "metrics per scheme, with the paper's qualitative claims checked as numbers.")
#: The CSV's columns before and after the metrics (the metrics: every key of
#: :data:`viz_core.metrics.METRICS` with a value in some row).
ROW_KEYS = ["label", "scheme", "kernels", "task"]


def add_arguments(m: argparse.ArgumentParser) -> None:
    m.add_argument("configs", nargs="*", help="run JSON files (from visualize --json)")
    m.add_argument("--model", default="fmnist_vgg", help="zoo name, FILE.pt2, "
                   "package.module:factory, timm:NAME (as visualize --model)")
    add_contract_arguments(m)
    m.add_argument("--weights", help="'random' or a state_dict file (default: pretrained)")
    m.add_argument("--task", choices=TASKS, default="am")
    m.add_argument("--target", type=int_arg, help="class to maximise (default 0)")
    m.add_argument("--layer", help="layer (channel AM, or inversion; default: model's)")
    m.add_argument("--channel", type=int_arg)
    m.add_argument("--image", help="image to invert (task inversion)")
    m.add_argument("--steps", type=int_arg, default=160)
    m.add_argument("--step-size", type=float_arg, default=5.0)
    m.add_argument("--kernel-size", type=int_arg, default=PAPER_KERNEL_SIZE)
    m.add_argument("--tv", type=float_arg, default=TV_LAMBDA)
    m.add_argument("--jitter", type=float_arg, default=0.0)
    m.add_argument("--seed", type=seed_arg, default=0)
    add_device(m)
    add_threads(m)
    m.add_argument("--csv", help="write the table as CSV")
    m.add_argument("--json", help="write rows and claims as JSON")
    m.add_argument("--md", help="write the table, the claims and the command as Markdown")
    m.add_argument("--quiet", action="store_true")


def _configs(args: argparse.Namespace) -> list[RunConfig]:
    """The run JSON files given, or the standard scheme set on the flags' base run."""
    if args.configs:
        given = given_contract(args)
        if given:  # each run JSON carries its own model's contract (visualize --json)
            raise VizError(f"--{given[0].replace('_', '-')} applies to --model, not to run "
                           "JSON files (each holds its model's input contract)",
                           field=given[0])
        configs = []
        for p in args.configs:
            runs = RunConfig.load_all(p)  # a readable run JSON, or a list of them
            raw = json.loads(Path(p).read_text(encoding="utf-8", errors="replace"))
            n = recorded_samples(raw)
            if len(runs) == 1 and n > 1:  # visualize --samples N: its N seeds
                runs[0].name = runs[0].name or \
                    f"{scheme_label(scheme_of(runs[0]))} ({Path(p).stem})"
                configs += sample_configs(runs[0], n)
                continue
            for i, (c, d) in enumerate(zip(runs, raw if isinstance(raw, list) else [raw])):
                # the scheme, and the file (an export's run: its stored id) it came from
                where = Path(p).stem if len(runs) == 1 else \
                    RunConfig.stored_id(d) or f"#{i + 1}"
                c.name = c.name or f"{scheme_label(scheme_of(c))} ({where})"
            configs += runs
        return configs
    if args.task == "inversion" and not args.image:
        raise VizError("metrics --task inversion needs --image PATH", field="image")
    if args.image:
        existing_image_file(args.image)
    target = args.target if args.target is not None or args.channel is not None else 0
    base = RunConfig(model=model_name(args.model), weights=args.weights, task=args.task,
                     target=target if args.task == "am" else args.target, layer=args.layer,
                     channel=args.channel, image=args.image, steps=args.steps,
                     step_size=args.step_size, jitter=args.jitter, seed=args.seed,
                     device=args.device, every=args.steps,
                     extra=contract_of(args.model, args))
    base.validate()
    return standard_schemes(base, args.kernel_size, args.tv)


def _group(configs: list[RunConfig]) -> list[list[RunConfig]]:
    """Split configurations into batches the engine accepts (same model, task, layer...)."""
    groups: list[list[RunConfig]] = []
    for c in configs:
        for g in groups:
            if c.seed != g[0].seed and not together([g[0], c]):
                continue  # other seeds run apart, as visualize --samples runs them
            try:
                engine.check_batchable(g + [c])
            except VizError:
                continue
            g.append(c)
            break
        else:
            groups.append([c])
    return groups


#: The fields that pose a run's problem (what is visualised); schemes differ in the rest.
PROBLEM_FIELDS = ("model", "weights", "task", "target", "class_score", "layer", "channel",
                  "unit", "image", "objective", "p")


def problem_differences(configs: list[RunConfig]) -> list[str]:
    """The :data:`PROBLEM_FIELDS` in which ``configs`` differ (none: one problem)."""
    dicts = [c.to_dict() for c in configs]
    return [k for k in PROBLEM_FIELDS if len({json.dumps(d.get(k)) for d in dicts}) > 1]


def run(args: argparse.Namespace) -> int:
    """Run a set of configurations and print per-scheme metrics and the paper's claims."""
    set_threads(args.threads)
    csv_out, json_out, md_out = (
        check_out(args.csv, field="csv"), check_out(args.json, field="json"),
        check_out(args.md, field="md"))
    configs = _configs(args)
    by_config: dict[int, dict] = {}
    groups = _group(configs)  # each runs as one batch: its steps count once
    with progress_bar(sum(g[0].total_steps for g in groups), "metrics", args.quiet) as bar:
        for group in groups:
            c0 = group[0]
            model = engine.prepare_model(c0)
            ref = engine.load_reference(c0, model) if c0.task == "inversion" else None
            res = engine.run_to_end(group, model, reference=ref, keep_frames=False,
                                    every=max(1, c0.total_steps // 10),
                                    progress=_advance(bar))
            by_config.update({id(c): r for c, r in
                              zip(group, scheme_metrics(res.final, group, ref))})
    rows = [by_config[id(c)] for c in configs]  # in the order given
    print(scheme_metrics_markdown(rows))
    differ = problem_differences(configs)
    if differ:  # the claims compare schemes on one problem: not across problems
        print(f"warning: these runs differ in {', '.join(differ)}: their metrics are not "
              f"one problem under several schemes, so the paper's claims are not checked",
              file=sys.stderr)
    claims = [] if differ else paper_claims(rows)
    if claims:
        print()
        for c in claims:
            print(c)
    if csv_out is not None:
        columns = [*ROW_KEYS, *table_columns(rows), "diverged"]
        csv_out.write_text(to_csv(rows, columns), encoding="utf-8")
    if json_out is not None:
        json_out.write_text(json.dumps({"rows": rows, "claims": claims}, indent=2,
                                       default=str) + "\n", encoding="utf-8")
    if md_out is not None:
        text = ["# Scheme metrics", "", f"Command: `{command_line(args)}`", "",
                f"Machine: {machine_description()}.", "",
                scheme_metrics_markdown(rows), "",
                metric_notes(rows) + ".", ""]
        text += [f"* {c}" for c in claims]
        md_out.write_text("\n".join(text) + "\n", encoding="utf-8")
    return 3 if any(r.get("diverged") for r in rows) else 0


def _advance(bar):
    """A progress callback that moves ``bar`` by the steps done since its last call."""
    last = 0

    def progress(f) -> None:
        nonlocal last
        bar.update(f.step - last)
        last = f.step

    return progress
