"""Write the Home page's gallery: class pre-images per model, and an inversion across depth.

    python scripts/make_gallery.py --models fmnist_vgg_robust,fmnist_vgg

For every model, the ten class pre-images (activation maximization, eq. 4) of each candidate
scheme are computed with the tuned offline presets (:mod:`viz_core.offline_presets`, the
preset of the model's architecture for a robust variant), judged by an independent network
(the other architecture of the same kind, ``--judge`` to choose), and the scheme whose
pre-images that network recognises best is kept (``--scheme`` to fix it). The first model
also inverts a shipped sample (eq. 3) from each of its blocks, keeping the scheme with the
best PSNR per block. Writes PNGs and ``gallery.json`` (figures for the captions) to
``--out`` (default ``assets/gallery``). ``--step-scale 0.1`` makes a quick check run.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from viz_core.config import RunConfig  # noqa: E402
from viz_core.engine import load_reference, prepare_model, run_to_end  # noqa: E402
from viz_core.images import to_uint8  # noqa: E402
from viz_core.judging import classify, quantize  # noqa: E402
from viz_core.metrics import psnr  # noqa: E402
from viz_core.offline_nets import ROBUST_VARIANTS, base_arch  # noqa: E402
from viz_core.offline_presets import OFFLINE_SCHEMES, offline_batch  # noqa: E402
from viz_core.samples import default_sample  # noqa: E402
from viz_core.schemes import SCHEME_REGISTRY, scheme_key  # noqa: E402
from viz_core.transforms import Octave  # noqa: E402


def default_judge(model: str) -> str:
    """The other architecture of the same kind: vgg <-> resnet, robust stays robust."""
    swap = {"fmnist_vgg": "fmnist_resnet", "fmnist_resnet": "fmnist_vgg"}
    base = base_arch(model)
    other = swap.get(base, base)
    if model == base:
        return other
    return next((r for r, b in ROBUST_VARIANTS.items() if b == other), other)


def scaled(cfg: RunConfig, model: str, step_scale: float) -> RunConfig:
    """``cfg`` on ``model`` with every stage's steps scaled (a quick run for checks)."""
    octs = [Octave(o.scale, max(1, round(o.steps * step_scale)), o.tau) for o in cfg.octaves]
    out = dataclasses.replace(cfg, model=model, octaves=octs,
                              steps=sum(o.steps for o in octs) or cfg.steps,
                              every=max(1, sum(o.steps for o in octs)))
    out.name = cfg.name
    return out


def save_png(img: np.ndarray, path: Path) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    a = to_uint8(img)
    Image.fromarray(a).save(path)
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def class_preimages(model: str, judge: str, schemes: list[str], step_scale: float,
                    out: Path) -> dict:
    """Ten class pre-images per scheme; keep the scheme the judge recognises best."""
    # the model's own presets (robust variants maximise the class log-probability)
    configs = [scaled(c, model, step_scale)
               for c in offline_batch(model, "am", list(range(10)), schemes=schemes)]
    t0 = time.perf_counter()
    images = run_to_end(configs, keep_frames=False).frames[-1].images
    seconds = time.perf_counter() - t0
    own, other = prepare_model(configs[0]), prepare_model(dataclasses.replace(configs[0],
                                                                              model=judge))
    x = quantize(images)
    p_own = torch.softmax(classify(own, x), 1).numpy()
    p_judge = torch.softmax(classify(other, x), 1).numpy()
    targets = np.array([c.target for c in configs])
    hits = p_judge.argmax(1) == targets
    per = {s: np.arange(k * 10, (k + 1) * 10) for k, s in enumerate(schemes)}  # scheme-major
    score = {s: (int(hits[idx].sum()), float(p_judge[idx, targets[idx]].mean()))
             for s, idx in per.items()}
    best = max(schemes, key=lambda s: score[s])
    cells = []
    for i in per[best]:
        t = int(targets[i])
        top3 = np.argsort(-p_own[i])[:3]
        cells.append({
            "class": t, "name": own.classes[t],
            "png": save_png(images[i], out / model / f"am_{t}.png"),
            "p_self": round(float(p_own[i, t]), 4),
            "top3_self": [own.classes[j] for j in top3],
            "p_judge": round(float(p_judge[i, t]), 4),
            "judge_top1": own.classes[int(p_judge[i].argmax())],
            "recognised": bool(hits[i])})
    return {"model": model, "judge": judge, "scheme": best,
            "scheme_title": SCHEME_REGISTRY[best].title,
            "recognised": score[best][0], "scores": {s: v[0] for s, v in score.items()},
            "steps": configs[0].total_steps, "seconds": round(seconds, 1), "am": cells}


def inversion_depth(model: str, schemes: list[str], step_scale: float, out: Path,
                    image: str) -> dict:
    """Invert ``image`` from each block of ``model``; the best-PSNR scheme per block."""
    probe = prepare_model(scaled(offline_batch(model, "inversion", image=image,
                                               schemes=schemes[:1])[0], model, step_scale))
    blocks = [name for name in probe.layers if "." not in name and name != "logits"]
    ref = load_reference(RunConfig(model=model, task="inversion", image=image), probe)
    cells = []
    for layer in blocks:
        configs = [scaled(c, model, step_scale) for c in
                   offline_batch(model, "inversion", image=image, schemes=schemes, layer=layer)]
        frame = run_to_end(configs, keep_frames=False).frames[-1]
        q = psnr(torch.from_numpy(frame.images), ref.expand(len(configs), -1, -1, -1))
        i = int(np.nanargmax(q))
        cells.append({"layer": layer, "scheme": schemes[i],
                      "scheme_title": SCHEME_REGISTRY[schemes[i]].title,
                      "psnr_db": round(float(q[i]), 2),
                      "feature_error": round(float(frame.activation[i]), 4),
                      "png": save_png(frame.images[i],
                                      out / model / f"inv_{layer}.png")})
    return {"model": model, "image": Path(image).name,
            "reference_png": save_png(ref[0].numpy(),
                                      out / model / "inv_reference.png"),
            "layers": cells}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="fmnist_vgg,fmnist_resnet",
                    help="comma-separated offline models, best first")
    ap.add_argument("--judge", default="", help="model=judge pairs, comma-separated")
    ap.add_argument("--scheme", default="", help="fix the scheme instead of choosing it")
    ap.add_argument("--schemes", default=",".join(OFFLINE_SCHEMES),
                    help="candidate schemes (registry keys)")
    ap.add_argument("--image", default="", help="image to invert (default: a shipped sample)")
    ap.add_argument("--step-scale", type=float, default=1.0,
                    help="scale the presets' steps (0.1 for a quick check)")
    ap.add_argument("--out", default=str(ROOT / "assets" / "gallery"))
    args = ap.parse_args(argv)
    models = [m for m in args.models.split(",") if m]
    judges = dict(p.split("=") for p in args.judge.split(",") if p)
    schemes = [scheme_key(args.scheme)] if args.scheme else \
        [scheme_key(s) for s in args.schemes.split(",") if s]
    out = Path(args.out).resolve()
    manifest = {"command": "python scripts/make_gallery.py " + " ".join(
        sys.argv[1:] if argv is None else argv), "created": time.strftime("%Y-%m-%d %H:%M UTC",
                                                                         time.gmtime()),
        "models": []}
    for model in models:
        judge = judges.get(model) or default_judge(model)
        print(f"{model}: class pre-images, judged by {judge}", flush=True)
        entry = class_preimages(model, judge, schemes, args.step_scale, out)
        print(f"  best scheme {entry['scheme']}: {entry['recognised']} of 10 recognised",
              flush=True)
        manifest["models"].append(entry)
    print(f"{models[0]}: inversion across depth", flush=True)
    manifest["inversion"] = inversion_depth(models[0], schemes, args.step_scale, out,
                                            args.image or default_sample())
    (out / "gallery.json").write_text(json.dumps(manifest, indent=1) + "\n")
    print(f"wrote {out / 'gallery.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
