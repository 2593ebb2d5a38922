"""The same results on a CUDA GPU as on the CPU (skipped where no GPU is present).

The engine is device-agnostic (the update of eq. 18 is the same on either device), so a run
on the GPU must agree with the CPU run up to floating-point reordering. TF32 is switched off
here: with it, a convolution rounds its inputs to 10 mantissa bits and the two runs drift
apart by design, not by a bug. Activation maximization is chaotic besides: on the CPU, a
relative change of 1e-6 in fmnist_vgg's weights moves pixels by up to 0.1 after 20 steps
(fluid Sobolev: 3e-4 after 5 steps, 0.1 after 10), so runs are compared over their first
4 steps, where rounding differences stay below 1e-3.
"""

from __future__ import annotations

import pytest
import torch

from viz_core.config import RunConfig
from viz_core.datasets import DEFAULT_FMNIST_ROOT, load_fashion_mnist, to_model_input
from viz_core.engine import run_to_end
from viz_core.kernel_batch import apply_kernels
from viz_core.kernels import KernelSpec, build

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")

S = KernelSpec("sobolev", None, 5)
G = KernelSpec("gaussian", None, 5)
SCHEMES = {
    "plain": {},
    "fluid-S": {"fluid": S},
    "elastic-G": {"elastic": G},
    "fluid-elastic-S": {"fluid": S, "elastic": S},
    "TV": {"tv": 0.05},
    "spectral": {"fluid": KernelSpec("spectral", 1.0)},
    "sobolev-fft": {"fluid": KernelSpec("sobolev", 0.5, 0)},
}


@pytest.fixture(autouse=True)
def _no_tf32():
    before = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32)
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    yield
    torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = before


@pytest.mark.parametrize(
    "spec", [S, G, KernelSpec("sobolev", 0.5, 0), KernelSpec("sobolev", 0.3, 11)], ids=str)
@pytest.mark.parametrize("border", ["reflect", "zeros", "circular"])
def test_kernels_filter_the_same_on_both_devices(spec, border):
    x = torch.rand(3, 2, 24, 24, generator=torch.Generator().manual_seed(0))
    ks = [build(spec)] * 3
    cpu = apply_kernels(ks, x, border=border)
    gpu = apply_kernels(ks, x.cuda(), border=border)
    assert gpu.device.type == "cuda"
    torch.testing.assert_close(gpu.cpu(), cpu, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("name", list(SCHEMES))
def test_a_run_on_the_gpu_matches_the_cpu(name):
    cfgs = {dev: RunConfig(model="fmnist_vgg", target=7, steps=4, step_size=2.0, seed=1,
                           device=dev, **SCHEMES[name]) for dev in ("cpu", "cuda")}
    res = {dev: run_to_end(cfg, keep_frames=False).final for dev, cfg in cfgs.items()}
    assert res["cuda"].diverged == [None]  # one configuration, no divergence
    torch.testing.assert_close(torch.from_numpy(res["cuda"].images),
                               torch.from_numpy(res["cpu"].images), atol=2e-3, rtol=0)
    assert res["cuda"].activation[0] == pytest.approx(res["cpu"].activation[0], rel=1e-3)


def test_a_batch_on_the_gpu_equals_its_runs_one_by_one():
    cfgs = [RunConfig(model="fmnist_vgg", target=t, steps=4, step_size=2.0, seed=2,
                      device="cuda", **SCHEMES[n]) for t, n in ((1, "fluid-S"), (9, "TV"),
                                                               (4, "fluid-elastic-S"))]
    batch = run_to_end(cfgs, keep_frames=False).final
    for i, cfg in enumerate(cfgs):
        alone = run_to_end(cfg, keep_frames=False).final
        torch.testing.assert_close(torch.from_numpy(batch.images[i]),
                                   torch.from_numpy(alone.images[0]), atol=1e-3, rtol=0)


@pytest.mark.skipif(not DEFAULT_FMNIST_ROOT.is_dir(), reason="Fashion-MNIST not installed")
@pytest.mark.parametrize("name", ["fmnist_vgg", "fmnist_resnet_robust"])
def test_offline_models_classify_the_same_on_the_gpu(name):
    from viz_core.models import load_model

    images, labels = load_fashion_mnist("test")
    x = to_model_input(images[:500], 64)
    preds = {}
    for dev in ("cpu", "cuda"):
        m = load_model(name, device=dev)
        with torch.no_grad():
            preds[dev] = m.net(m.normalize(x.to(dev))).argmax(1).cpu()
    agree = (preds["cpu"] == preds["cuda"]).float().mean().item()
    assert agree >= 0.998, agree
    assert (preds["cuda"] == labels[:500]).float().mean().item() > 0.7


def test_adversarial_attack_runs_on_the_gpu():
    """PGD (training and the card's robustness check) keeps its tensors on the input's device."""
    from viz_core.adversarial import pgd_l2
    from viz_core.models import load_model

    m = load_model("fmnist_vgg", weights="random", device="cuda")
    x = torch.rand(8, 1, 64, 64, device="cuda")
    y = torch.arange(8, device="cuda")
    adv = pgd_l2(m.net, x, y, 0.3, 0.3, eps=1.0, steps=2, step_size=0.5,
                 gen=torch.Generator().manual_seed(0))
    assert adv.device.type == "cuda"
    norms = (adv - x).flatten(1).norm(dim=1)
    assert float(norms.max()) <= 1.0 + 1e-4 and float(adv.min()) >= 0 and float(adv.max()) <= 1


# plain and TV take fused_step's kernel-free route on a GPU (TV on reused work buffers,
# written in place inside the captured graph); the kernels take KernelBatch's
@pytest.mark.parametrize("name", ["fluid-elastic-S", "TV", "spectral", "sobolev-fft", "plain"])
def test_the_cuda_graph_step_equals_the_eager_step(name, monkeypatch):
    from viz_core import step_graph
    from viz_core.engine import run

    made = []
    real = step_graph.GraphedStep.__init__

    def spy(self, fn):
        made.append(self)
        real(self, fn)

    monkeypatch.setattr(step_graph.GraphedStep, "__init__", spy)
    cfg = RunConfig(model="fmnist_vgg", target=7, steps=12, step_size=2.0, seed=1,
                    device="cuda", every=4, **SCHEMES[name])
    graphed = list(run(cfg))
    assert made and made[0].graph is not None  # the stage was captured and replayed
    eager = list(run(cfg, static_step=False))
    assert [f.step for f in graphed] == [f.step for f in eager]
    for a, b in zip(graphed, eager):
        torch.testing.assert_close(torch.from_numpy(a.images), torch.from_numpy(b.images),
                                   atol=1e-4, rtol=0)
        torch.testing.assert_close(torch.from_numpy(a.grad_norm),
                                   torch.from_numpy(b.grad_norm), rtol=1e-3, atol=0)


def test_the_cuda_graph_step_catches_divergence():
    from viz_core.engine import run

    cfg = RunConfig(model="fmnist_vgg", target=7, steps=16, step_size=1e300, seed=1,
                    device="cuda", every=4, grad_norm="none", elastic=G)
    graphed = list(run(cfg))
    eager = list(run(cfg, static_step=False))
    assert graphed[-1].diverged == eager[-1].diverged
    assert graphed[-1].diverged[0] and "diverged at step" in graphed[-1].diverged[0]
    assert all(torch.isfinite(torch.from_numpy(f.images)).all() for f in graphed)
