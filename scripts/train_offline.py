#!/usr/bin/env python
"""Train the offline Fashion-MNIST models of the zoo (fmnist_vgg, fmnist_resnet).

Images are upsampled once to 64x64 (bilinear, the same `to_model_input` the zoo uses),
kept in memory, and augmented per batch with a random affine (scale, translation,
small rotation, horizontal flip) through `affine_grid`/`grid_sample`. Writes
``<out>/<name>.pt`` (float32 state_dict) and the model card ``<out>/<name>.json``.

Adversarial training (``--adv-eps``): each batch is replaced by its L2 PGD adversary
(Madry et al. 2018) within a ball of radius ``eps`` in [0, 1] pixel units at 64x64, found with
``--adv-steps`` steps of size ``--adv-step-size`` from a random start. Robust classifiers have
perceptually aligned gradients (Tsipras et al. 2019, Santurkar et al. 2019), which makes their
pre-images recognisable. The card records the attack and the accuracy under PGD-20.

Examples:
  python scripts/train_offline.py --model fmnist_vgg --epochs 20
  python scripts/train_offline.py --model fmnist_vgg --name fmnist_vgg_robust \
      --init assets/models/fmnist_vgg.pt --adv-eps 2.5 --adv-steps 3 --epochs 4 --lr 0.05
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import shlex
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from tqdm import tqdm

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from viz_core.adversarial import pgd_l2, robust_accuracy  # noqa: E402
from viz_core.datasets import (  # noqa: E402
    DEFAULT_FMNIST_ROOT,
    FMNIST_CLASSES,
    load_fashion_mnist,
    to_model_input,
)
from viz_core.devices import resolve_device  # noqa: E402
from viz_core.errors import VizError  # noqa: E402
from viz_core.offline_nets import (  # noqa: E402
    OFFLINE_ARCHS,
    build_offline_net,
    offline_default_layer,
    offline_layers,
)

INPUT_SIZE = 64


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", choices=sorted(OFFLINE_ARCHS), default="fmnist_vgg",
                   help="architecture")
    p.add_argument("--name", default="", help="name of the weights and card (default: --model)")
    p.add_argument("--adv-eps", type=float, default=0.0,
                   help="L2 budget of PGD adversarial training in [0,1] pixel units at 64x64 "
                        "(0: standard training)")
    p.add_argument("--adv-steps", type=int, default=3, help="PGD steps per training batch")
    p.add_argument("--adv-step-size", type=float, default=0.0,
                   help="PGD step size (default 2.5 * eps / steps)")
    p.add_argument("--eval-attack-steps", type=int, default=20,
                   help="PGD steps of the robustness check on the card")
    p.add_argument("--data-dir", default=str(DEFAULT_FMNIST_ROOT),
                   help="folder with the four Fashion-MNIST IDX files (gzipped or not)")
    p.add_argument("--out", default=str(ROOT / "assets" / "models"))
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--lr", type=float, default=0.1, help="peak learning rate (OneCycle, SGD)")
    p.add_argument("--weight-decay", type=float, default=5e-4)
    p.add_argument("--label-smoothing", type=float, default=0.1)
    p.add_argument("--max-scale", type=float, default=0.12, help="random zoom +-")
    p.add_argument("--max-shift", type=float, default=0.12, help="translation, fraction of width")
    p.add_argument("--max-rotate", type=float, default=8.0, help="rotation, degrees +-")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--device", default="cpu",
                   help="cpu, cuda or auto (cuda when present); random draws stay on the CPU "
                        "generator, so a seed gives the same batches and augmentations on both")
    p.add_argument("--limit", type=int, default=0, help="use only N training images (smoke test)")
    p.add_argument("--checkpoint", default="", help="checkpoint path (default: <out>/<name>.ckpt)")
    p.add_argument("--resume", action="store_true", help="continue from the checkpoint")
    p.add_argument("--keep-checkpoint", action="store_true",
                   help="keep the checkpoint file after a successful run")
    p.add_argument("--init", default="",
                   help="start from these weights (a state_dict file) instead of random init")
    return p.parse_args(argv)


def augment(x: torch.Tensor, gen: torch.Generator, args: argparse.Namespace) -> torch.Tensor:
    """Random affine (zoom, shift, rotation, h-flip) of a batch (N,1,H,W), zero padding."""
    n = x.shape[0]

    def u(lo: float, hi: float) -> torch.Tensor:
        return (lo + (hi - lo) * torch.rand(n, generator=gen)).to(x.device)

    scale = u(1 - args.max_scale, 1 + args.max_scale)
    angle = u(-args.max_rotate, args.max_rotate) * math.pi / 180
    flip = torch.where(torch.rand(n, generator=gen) < 0.5, -1.0, 1.0).to(x.device)
    tx, ty = (u(-args.max_shift, args.max_shift) * 2 for _ in range(2))
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack([
        torch.stack([cos * flip, -sin, tx], 1),
        torch.stack([sin * flip, cos, ty], 1),
    ], 1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


@torch.no_grad()
def evaluate(net: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, mean: float, std: float,
             batch: int = 500) -> float:
    net.eval()
    correct = 0
    for i in range(0, len(x), batch):
        xb = (x[i:i + batch].float() - mean) / std
        correct += (net(xb.contiguous(memory_format=torch.channels_last)).argmax(1)
                    == y[i:i + batch]).sum().item()
    return correct / len(x)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    gen = torch.Generator().manual_seed(args.seed + 1)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    name = args.name or args.model
    try:
        device = resolve_device(args.device)
    except VizError as exc:
        raise SystemExit(f"error: {exc}") from None
    adv_step = args.adv_step_size or 2.5 * args.adv_eps / max(args.adv_steps, 1)
    ckpt_path = Path(args.checkpoint) if args.checkpoint else out / f"{name}.ckpt"

    xtr_u8, ytr = load_fashion_mnist("train", args.data_dir)
    xte_u8, yte = load_fashion_mnist("test", args.data_dir)
    if args.limit:
        xtr_u8, ytr = xtr_u8[: args.limit], ytr[: args.limit]
    xtr = torch.cat([to_model_input(xtr_u8[i:i + 5000], INPUT_SIZE).half()
                     for i in range(0, len(xtr_u8), 5000)])
    xte = to_model_input(xte_u8, INPUT_SIZE)
    mean, std = xtr.float().mean().item(), xtr.float().std().item()
    xtr, ytr, xte, yte = xtr.to(device), ytr.to(device), xte.to(device), yte.to(device)
    print(f"train {tuple(xtr.shape)} test {tuple(xte.shape)} mean {mean:.4f} std {std:.4f}",
          flush=True)

    net = build_offline_net(args.model)
    if args.init:
        net.load_state_dict(torch.load(args.init, weights_only=True, map_location="cpu"))
    net = net.to(device, memory_format=torch.channels_last)
    n_params = sum(p.numel() for p in net.parameters())
    steps_per_epoch = len(xtr) // args.batch_size
    decay, no_decay = [], []
    for p in net.parameters():
        (decay if p.ndim > 1 else no_decay).append(p)
    opt = torch.optim.SGD([{"params": decay, "weight_decay": args.weight_decay},
                           {"params": no_decay, "weight_decay": 0.0}],
                          lr=args.lr, momentum=0.9, nesterov=True)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, epochs=args.epochs,
                                                steps_per_epoch=steps_per_epoch, pct_start=0.2)
    start_epoch, elapsed, history = 0, 0.0, []
    if args.resume and ckpt_path.exists():
        ck = torch.load(ckpt_path, weights_only=True, map_location=device)
        net.load_state_dict(ck["model"])
        opt.load_state_dict(ck["opt"])
        sched.load_state_dict(ck["sched"])
        gen.set_state(ck["gen"].cpu())
        torch.set_rng_state(ck["rng"].cpu())
        start_epoch, elapsed, history = ck["epoch"], ck["elapsed"], ck["history"]
        print(f"resumed from {ckpt_path} at epoch {start_epoch}", flush=True)
    print(f"{args.model}: {n_params} parameters, {steps_per_epoch} steps/epoch", flush=True)

    for epoch in range(start_epoch, args.epochs):
        t0 = time.time()
        net.train()
        perm = torch.randperm(len(xtr), generator=gen).to(device)
        total_loss = 0.0
        bar = tqdm(range(steps_per_epoch), desc=f"epoch {epoch + 1}/{args.epochs}",
                   mininterval=10, file=sys.stdout)
        for step in bar:
            idx = perm[step * args.batch_size:(step + 1) * args.batch_size]
            xb = augment(xtr[idx].float(), gen, args)
            if args.adv_eps > 0:
                xb = pgd_l2(net, xb, ytr[idx], mean, std, args.adv_eps, args.adv_steps,
                            adv_step, gen)
            xb = ((xb - mean) / std).contiguous(memory_format=torch.channels_last)
            loss = F.cross_entropy(net(xb), ytr[idx], label_smoothing=args.label_smoothing)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total_loss += loss.item()
            if step % 20 == 0:
                bar.set_postfix(loss=f"{loss.item():.3f}")
        elapsed += time.time() - t0
        acc = evaluate(net, xte, yte, mean, std)
        history.append({"epoch": epoch + 1, "loss": total_loss / steps_per_epoch,
                        "test_accuracy": acc, "seconds": round(time.time() - t0, 1)})
        print(f"epoch {epoch + 1}: loss {total_loss / steps_per_epoch:.4f} test acc {acc:.4f} "
              f"({time.time() - t0:.0f}s, total {elapsed:.0f}s)", flush=True)
        torch.save({"model": net.state_dict(), "opt": opt.state_dict(),
                    "sched": sched.state_dict(), "gen": gen.get_state(),
                    "rng": torch.get_rng_state(), "epoch": epoch + 1, "elapsed": elapsed,
                    "history": history}, ckpt_path)

    net = net.to(memory_format=torch.contiguous_format).eval()
    state = {k: v.detach().float().cpu().contiguous().clone() if v.is_floating_point()
             else v.detach().cpu().contiguous().clone() for k, v in net.state_dict().items()}
    weights_path = out / f"{name}.pt"
    torch.save(state, weights_path)
    test_acc = evaluate(net, xte, yte, mean, std)
    subset_acc = evaluate(net, xte[:1000], yte[:1000], mean, std)
    card = {
        "name": name,
        "base_architecture": args.model,
        "architecture": type(net).__name__,
        "architecture_module": "viz_core.offline_nets",
        "description": (net.__doc__ or "").strip().splitlines()[0],
        "parameters": n_params,
        "input_size": INPUT_SIZE,
        "channels": 1,
        "preprocessing": "28x28 uint8 -> /255 -> bilinear resize to 64x64 -> (x - mean) / std",
        "mean": [round(mean, 4)],
        "std": [round(std, 4)],
        "classes": FMNIST_CLASSES,
        "layers": offline_layers(args.model),
        "default_layer": offline_default_layer(args.model),
        "test_accuracy": round(test_acc, 4),
        "subset_accuracy": round(subset_acc, 4),
        "subset": "first 1000 images of the Fashion-MNIST test split",
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "optimizer": f"SGD nesterov momentum 0.9, OneCycle max_lr {args.lr}, "
                     f"weight decay {args.weight_decay}, label smoothing {args.label_smoothing}",
        "augmentation": f"zoom +-{args.max_scale}, shift +-{args.max_shift} of width, "
                        f"rotation +-{args.max_rotate} deg, horizontal flip",
        "history": history,
        "command": "python scripts/train_offline.py " + shlex.join(sys.argv[1:] if argv is None
                                                                   else argv),
        "seed": args.seed,
        "train_seconds": round(elapsed, 1),
        "threads": args.threads,
        "device": (torch.cuda.get_device_name(device) if device.type == "cuda"
                   else f"CPU ({platform.processor() or platform.machine()})"),
        "torch_version": torch.__version__,
        "platform": platform.platform(),
        "weights_file": weights_path.name,
        "weights_bytes": weights_path.stat().st_size,
        "dataset": "Fashion-MNIST (Zalando Research, MIT licence)",
    }
    if args.adv_eps > 0:
        t_rob = time.time()
        rob = robust_accuracy(net, xte[:1000], yte[:1000], mean, std, args.adv_eps,
                              args.eval_attack_steps)
        card["adversarial_training"] = {
            "attack": f"L2 PGD, {args.adv_steps} steps of size {adv_step:.4g}, random start",
            "budget_l2": args.adv_eps,
            "budget_units": "L2 norm in [0,1] pixel units of the 64x64 input "
                            f"(about {args.adv_eps * 28 / 64:.2f} at 28x28)",
            "robust_accuracy": round(rob, 4),
            "robust_attack": f"L2 PGD-{args.eval_attack_steps} at eps {args.adv_eps}, step "
                             f"{2.5 * args.adv_eps / args.eval_attack_steps:.4g}, random start",
            "robust_subset": card["subset"],
            "robust_eval_seconds": round(time.time() - t_rob, 1),
        }
    if args.init:
        card["init"] = f"fine-tuned from {Path(args.init).name}"
    (out / f"{name}.json").write_text(json.dumps(card, indent=2) + "\n")
    if not args.keep_checkpoint:
        ckpt_path.unlink(missing_ok=True)
    print(f"saved {weights_path} ({weights_path.stat().st_size / 1e6:.2f} MB), "
          f"test accuracy {test_acc:.4f}, subset {subset_acc:.4f}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
