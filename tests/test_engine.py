"""Engine: convergence for every scheme, batching, reproducibility, streaming, stopping,
divergence, octaves and jitter."""

import threading
import time

import numpy as np
import pytest
import torch

from viz_core.config import RunConfig
from viz_core.engine import run, run_to_end
from viz_core.errors import VizError
from viz_core.kernels import KernelSpec, build
from viz_core.transforms import Octave

S = KernelSpec("sobolev", None, 5)
G = KernelSpec("gaussian", None, 5)
SCHEMES = {
    "plain": {},
    "fluid-S": {"fluid": S},
    "elastic-S": {"elastic": S},
    "fluid-elastic-S": {"fluid": S, "elastic": S},
    "fluid-G": {"fluid": G},
    "elastic-G": {"elastic": G},
    "fluid-elastic-G": {"fluid": G, "elastic": G},
    "TV": {"tv": 0.05},
    "fluid-elastic-S+TV": {"fluid": S, "elastic": S, "tv": 0.05},
    "spectral": {"fluid": KernelSpec("spectral", 1.0)},
}


def am(**kw):
    base = dict(model="tiny", target=2, steps=40, step_size=4.0, seed=3)
    if kw.get("octaves"):  # the stages give the steps and tau (RunConfig refuses others)
        base.update(steps=sum(o.steps for o in kw["octaves"]), step_size=kw["octaves"][0].tau)
    base.update(kw)
    return RunConfig(**base)


def inv(**kw):
    base = dict(model="tiny", task="inversion", layer="conv2", steps=150, step_size=1.0, seed=3)
    base.update(kw)
    return RunConfig(**base)


@pytest.fixture(scope="module")
def reference():
    torch.manual_seed(7)
    x = torch.rand(1, 3, 8, 8)
    return torch.nn.functional.interpolate(x, size=32, mode="bilinear")


def _first_objective(model, cfgs, reference=None):
    from viz_core.objectives import make_objective

    obj = make_objective(model, [c.target_spec(model.spec.default_layer) for c in cfgs], reference)
    u = torch.stack([torch.full((3, 32, 32), 0.5)] * len(cfgs))
    g = torch.Generator().manual_seed(3)
    u = (u + 0.02 * torch.randn(u.shape, generator=g)).clamp(0, 1)
    return obj(u)


def test_am_raises_target_activation_for_every_scheme(tiny_model):
    cfgs = [am(name=k, **v) for k, v in SCHEMES.items()]
    res = run_to_end(cfgs, tiny_model, every=40)
    _, act0 = _first_objective(tiny_model, cfgs)
    act = res.final.activation
    for i, name in enumerate(SCHEMES):
        assert act[i] > act0[i] + 0.1, name


def test_inversion_lowers_loss_tenfold_for_every_scheme(tiny_model, reference):
    cfgs = [inv(name=k, **v) for k, v in SCHEMES.items()]
    res = run_to_end(cfgs, tiny_model, reference=reference, every=150)
    d0, _ = _first_objective(tiny_model, cfgs, reference)
    for i, name in enumerate(SCHEMES):
        assert res.final.objective[i] < d0[i].item() / 10, name


def test_batch_equals_separate_runs(tiny_model):
    # 10 steps: the forward pass of a batch and of one sample round differently in float32
    # (about 1e-7 at step 1); activation maximisation is not contractive, so over 40 steps
    # that rounding grows to 3e-2 in one scheme, whatever the engine does
    cfgs = [am(name=k, steps=10, **v) for k, v in list(SCHEMES.items())[:4]]
    batched = run_to_end(cfgs, tiny_model, every=10).final.images
    for i, c in enumerate(cfgs):
        alone = run_to_end(c, tiny_model, every=10).final.images[0]
        np.testing.assert_allclose(batched[i], alone, atol=1e-5)


def test_adam_batch_equals_separate_runs(tiny_model):
    cfgs = [am(name=k, optimizer="adam", step_size=3.0, steps=15, **v)
            for k, v in SCHEMES.items()]
    batched = run_to_end(cfgs, tiny_model, every=15).final.images
    for i, c in enumerate(cfgs):
        alone = run_to_end(c, tiny_model, every=15).final.images[0]
        np.testing.assert_allclose(batched[i], alone, atol=1e-5, err_msg=c.name)


def test_adam_with_identity_kernels_is_plain_adam(tiny_model):
    from viz_core.objectives import make_objective

    tau = 2.0
    cfg = am(optimizer="adam", step_size=tau, steps=8, grad_norm="none",
             fluid=KernelSpec("identity"), elastic=KernelSpec("identity"))
    frames = list(run(cfg, tiny_model, every=1))
    objective = make_objective(tiny_model, [cfg.target_spec(tiny_model.spec.default_layer)])
    p = torch.from_numpy(frames[0].images.copy()).requires_grad_(True)
    opt = torch.optim.Adam([p], lr=tau / 255, betas=(0.9, 0.999), eps=1e-8)
    for f in frames[1:]:
        opt.zero_grad()
        objective(p)[0].sum().backward()
        opt.step()
        with torch.no_grad():
            p.clamp_(0, 1)
        np.testing.assert_allclose(f.images, p.detach().numpy(), atol=1e-6, rtol=0)
    # and it is not the demons rule
    demons = run_to_end(am(step_size=tau, steps=8, grad_norm="none"), tiny_model)
    assert np.abs(demons.final.images - frames[-1].images).max() > 1e-3


def test_adam_fluid_filters_the_direction_and_elastic_the_solution(tiny_model):
    # one step from the same start: Adam's first direction is sign(g) (|m_hat| = sqrt(v_hat))
    base = dict(optimizer="adam", step_size=5.0, steps=1, grad_norm="none")
    plain = run_to_end(am(**base), tiny_model).frames
    x0 = plain[0].images
    d = (x0 - plain[-1].images) * 255 / 5.0  # the direction of plain Adam, about sign(g)
    assert np.median(np.abs(d)) == pytest.approx(1.0, abs=1e-3)  # (eps matters where g ~ 0)
    fluid = run_to_end(am(fluid=G, **base), tiny_model).final.images
    elastic = run_to_end(am(elastic=G, **base), tiny_model).final.images
    kg = build(G)
    want_f = np.clip(x0 - 5.0 / 255 * kg.apply(torch.from_numpy(d).double()).numpy(), 0, 1)
    want_e = np.clip(kg.apply(torch.from_numpy(x0 - 5.0 / 255 * d).double()).numpy(), 0, 1)
    np.testing.assert_allclose(fluid, want_f, atol=1e-5)
    np.testing.assert_allclose(elastic, want_e, atol=1e-5)


def test_same_seed_same_result_other_seed_differs(tiny_model):
    kw = dict(fluid=S, elastic=G, jitter=2, octaves=[Octave(1.0, 10, 4), Octave(1.25, 10, 2)])
    a = run_to_end(am(**kw), tiny_model).final.images
    b = run_to_end(am(**kw), tiny_model).final.images
    c = run_to_end(am(seed=4, **kw), tiny_model).final.images
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


def test_frames_stream_every_k_and_octaves_resize(tiny_model):
    cfg = am(octaves=[Octave(1.0, 6, 4), Octave(1.5, 6, 2)], jitter=0.1)
    t0 = time.perf_counter()
    frames = list(run(cfg, tiny_model, every=3))
    wall = time.perf_counter() - t0
    assert [f.step for f in frames] == [0, 3, 6, 9, 12]
    assert frames[0].images.shape[-1] == 32 and frames[-1].images.shape[-1] == 48
    assert frames[-1].done and not frames[-2].done
    assert frames[-1].octave == 1
    assert all(np.isfinite(f.grad_norm).all() for f in frames)
    # elapsed is the run's own clock: it grows with every batch of steps and never
    # exceeds the wall time around the whole run
    elapsed = [f.elapsed for f in frames]
    assert 0 <= elapsed[0] and all(b > a for a, b in zip(elapsed, elapsed[1:]))
    assert elapsed[-1] <= wall


def test_stop_between_steps_keeps_last_image(tiny_model):
    stop = threading.Event()
    frames = []
    for f in run(am(steps=1000), tiny_model, stop=stop, every=5):
        frames.append(f)
        if f.step >= 10:
            stop.set()
    assert frames[-1].stopped and frames[-1].step == 10
    assert np.isfinite(frames[-1].images).all()


def test_generator_can_be_closed(tiny_model):
    gen = run(am(steps=1000), tiny_model, every=1)
    next(gen)
    assert next(gen).step == 1
    gen.close()  # no exception, no further work
    with pytest.raises(StopIteration):
        next(gen)


def test_divergence_is_caught_and_last_finite_image_kept(tiny_model, monkeypatch):
    import viz_core.engine as engine

    real = engine.SchemeBank.step
    calls = {"n": 0}

    def poisoned(self, u, g, step, *a):
        out = real(self, u, g, step, *a)
        calls["n"] += 1
        if step >= 7:  # a step size blow-up: NaN from step 8 on for sample 1
            out[1] = float("nan")
        return out

    monkeypatch.setattr(engine.SchemeBank, "step", poisoned)
    frames = list(run([am(), am(fluid=S)], tiny_model, every=5))
    last = frames[-1]
    assert last.diverged[0] is None
    assert "step 8" in last.diverged[1] and "NaN" in last.diverged[1]
    assert np.isfinite(last.images).all()
    # sample 1 froze at the pre-image of its last frame before the failure (step 5)
    np.testing.assert_array_equal(last.images[1], frames[2].images[1])
    np.testing.assert_array_equal(last.images[1], frames[1].images[1])
    assert frames[1].step == 5 and not frames[1].diverged[1]
    assert np.isfinite(last.objective).all()
    # the frozen sample reports the numbers of its last frame before the failure, not the
    # start values
    assert np.isfinite(last.grad_norm).all() and (last.grad_norm > 0).all()


def test_frames_report_the_gradient_norm_and_objective_of_the_last_step(tiny_model):
    from viz_core.objectives import make_objective

    cfg = am(steps=4)
    frames = list(run(cfg, tiny_model, every=1))
    objective = make_objective(tiny_model, [cfg.target_spec(tiny_model.spec.default_layer)])
    for before, after in zip(frames[:-1], frames[1:]):
        x = torch.from_numpy(before.images).requires_grad_(True)
        d, act = objective(x)
        (g,) = torch.autograd.grad(d.sum(), x)
        np.testing.assert_allclose(after.grad_norm, g.flatten(1).norm(dim=1), rtol=1e-4)
        if not after.done:
            np.testing.assert_allclose(after.objective, d.detach(), rtol=1e-4, atol=1e-6)
    # the final frame's D and activation are those of its own pictures (the numbers a
    # user reads beside them; a step's are of its jittered input, before its update)
    assert frames[-1].done
    d, act = objective(torch.from_numpy(frames[-1].images))
    np.testing.assert_allclose(frames[-1].objective, d.detach(), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(frames[-1].activation, act.detach(), rtol=1e-4, atol=1e-6)


def test_the_final_activation_is_the_pictures_own_with_jitter(tiny_model):
    """With jitter every step's forward pass sees a shifted picture: the final frame's
    activation is measured on the picture itself, unshifted."""
    from viz_core.objectives import make_objective

    cfg = am(steps=6, jitter=2)
    last = list(run(cfg, tiny_model, every=3))[-1]
    objective = make_objective(tiny_model, [cfg.target_spec(tiny_model.spec.default_layer)])
    _, act = objective(torch.from_numpy(last.images))
    np.testing.assert_allclose(last.activation, act.detach(), rtol=1e-4, atol=1e-6)


def test_unbatchable_configs_are_refused(tiny_model):
    with pytest.raises(VizError, match="share"):
        list(run([am(), am(jitter=3)], tiny_model))


def test_bad_target_is_refused(tiny_model):
    with pytest.raises(VizError, match="class index"):
        list(run(am(target=99), tiny_model))
    with pytest.raises(VizError, match="channel"):
        list(run(am(target=None, layer="conv1", channel=50), tiny_model))
    with pytest.raises(VizError, match="jitter"):
        list(run(am(jitter=40), tiny_model))


def test_channel_and_unit_objectives(tiny_model):
    res = run_to_end([am(target=None, layer="conv2", channel=3),
                      am(target=None, layer="conv2", channel=3, unit=(4, 5))], tiny_model)
    assert res.final.activation.shape == (2,)
    assert np.isfinite(res.final.activation).all()


def test_mixed_batch_of_channel_mean_and_unit_targets(tiny_model):
    # regression: in a batch mixing a channel mean and a single unit, the channel-mean
    # sample used to optimise the centre unit of its map
    from viz_core.objectives import Target, make_objective

    mean_t = Target("am", "conv2", 3, None)
    unit_t = Target("am", "conv2", 5, (2, 6))
    torch.manual_seed(5)
    u = torch.rand(2, 3, 32, 32)
    mixed, _ = make_objective(tiny_model, [mean_t, unit_t])(u)
    phi = tiny_model.features("conv2")(tiny_model.normalize(u))
    torch.testing.assert_close(mixed[0], -phi[0, 3].mean())
    torch.testing.assert_close(mixed[1], -phi[1, 5, 2, 6])
    alone = [make_objective(tiny_model, [t])(u[i:i + 1])[0][0]
             for i, t in enumerate((mean_t, unit_t))]
    torch.testing.assert_close(mixed, torch.stack(alone))


def test_class_log_probability_score_is_log_softmax_and_mixes_with_logits(tiny_model):
    from viz_core.objectives import Target, make_objective

    torch.manual_seed(6)
    u = torch.rand(3, 3, 32, 32)
    logits = tiny_model.features("logits")(tiny_model.normalize(u))
    targets = [Target("am", "logits", 2, score="log_prob"), Target("am", "logits", 4),
               Target("am", "logits", 1, score="log_prob")]
    d, act = make_objective(tiny_model, targets)(u)
    lp = torch.log_softmax(logits, 1)
    torch.testing.assert_close(d, -torch.stack([lp[0, 2], logits[1, 4], lp[2, 1]]))
    assert (act[[0, 2]] < 0).all()
    with pytest.raises(VizError, match="classes"):
        make_objective(tiny_model, [Target("am", "conv2", 3, score="log_prob")])
    with pytest.raises(VizError, match="class_score"):
        am(class_score="softmax").validate()
    with pytest.raises(VizError, match="log-probability"):
        am(target=None, layer="conv2", channel=3, class_score="log_prob").validate()


def test_log_probability_pushes_the_other_classes_down(tiny_model):
    # the logit of the target rises under both scores; only the log-probability also
    # lowers the rival classes, so the target's probability ends higher
    runs = {s: run_to_end(am(class_score=s, steps=30), tiny_model) for s in ("logit", "log_prob")}
    probs, rivals = {}, {}
    for s, r in runs.items():
        x = torch.as_tensor(r.final.images)
        logits = tiny_model.features("logits")(tiny_model.normalize(x))[0]
        probs[s] = torch.softmax(logits, 0)[2]
        rivals[s] = torch.cat([logits[:2], logits[3:]]).logsumexp(0)
    assert rivals["log_prob"] < rivals["logit"]  # the rival classes are pushed down
    assert probs["log_prob"] > probs["logit"]
    assert RunConfig.from_json(am(class_score="log_prob").to_json()).class_score == "log_prob"


def test_models_implement_the_feature_model_protocol(tiny_model):
    from viz_core import models
    from viz_core.objectives import FeatureModel

    assert isinstance(tiny_model, FeatureModel)
    assert isinstance(models.load_model("fmnist_vgg", "random"), FeatureModel)
    assert not isinstance(object(), FeatureModel)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_no_host_sync_on_steps_that_yield_nothing():
    import traceback

    from viz_core import models

    model = models.load_model("fmnist_vgg", weights="random", device="cuda")
    cfgs = [am(model="fmnist_vgg", fluid=S, elastic=S, tv=0.01, jitter=2, steps=30),
            am(model="fmnist_vgg", fluid=G, jitter=2, steps=30, target=4)]
    gen = run(cfgs, model, every=10)
    next(gen)  # the first frame
    next(gen)  # the octave's set-up (step sizes copied to the GPU once) and frame 10 synchronise
    torch.cuda.set_sync_debug_mode("error")
    try:
        with pytest.raises(RuntimeError) as err:  # steps 11..20, then frame 20 syncs
            next(gen)
    finally:
        torch.cuda.set_sync_debug_mode("default")
    names = [f.name for f in traceback.extract_tb(err.value.__traceback__)]
    assert "frame" in names, names  # the first synchronisation is the frame's copy to host


def test_adam_moments_carry_over_between_stages_at_the_same_scale(tiny_model):
    # two stages at scale 1.0 with the same step size are one Adam run of their total steps;
    # restarting the moments at the stage boundary would make the second stage's first
    # steps bias-corrected from zero and change the result
    kw = dict(optimizer="adam", step_size=6.0, fluid=S, every=20)
    one = run_to_end(am(steps=20, **kw), tiny_model, keep_frames=False).final
    two = run_to_end(am(octaves=[Octave(1.0, 10, 6.0), Octave(1.0, 10, 6.0)], **kw),
                     tiny_model, keep_frames=False).final
    np.testing.assert_allclose(two.images, one.images, atol=1e-6)


def test_adam_moments_restart_where_the_canvas_changes_size(tiny_model, monkeypatch):
    import viz_core.engine as engine

    made = []
    real = engine.Adam.__init__

    def spy(self, u, *a):
        made.append(tuple(u.shape))
        real(self, u, *a)

    monkeypatch.setattr(engine.Adam, "__init__", spy)
    octs = [Octave(1.0, 3, 4.0), Octave(1.0, 3, 2.0), Octave(1.2, 3, 2.0)]
    run_to_end(am(optimizer="adam", octaves=octs, every=9), tiny_model, keep_frames=False)
    assert [s[-1] for s in made] == [32, 38]  # one state for the two 1.0 stages, one at 1.2


@pytest.mark.parametrize("names", [["plain", "fluid-elastic-S"], ["TV", "spectral"],
                                   ["fluid-elastic-S+TV", "elastic-G"]])
def test_the_static_in_place_step_equals_the_eager_step(tiny_model, reference, names):
    # the step a CUDA graph replays (static_step) does the same arithmetic as the eager one
    for cfg in ([am(every=7, **SCHEMES[k]) for k in names],
                [inv(steps=20, every=7, **SCHEMES[k]) for k in names]):
        a = list(run(cfg, tiny_model, reference=reference, static_step=True))
        b = list(run(cfg, tiny_model, reference=reference, static_step=False))
        assert [f.step for f in a] == [f.step for f in b]
        for fa, fb in zip(a, b):
            np.testing.assert_allclose(fa.images, fb.images, atol=1e-6)
            np.testing.assert_allclose(fa.objective, fb.objective, rtol=1e-5)
            np.testing.assert_allclose(fa.grad_norm, fb.grad_norm, rtol=1e-5)


def test_the_static_step_catches_divergence_and_then_steps_eagerly(tiny_model, monkeypatch):
    import viz_core.engine as engine

    real = engine.SchemeBank.step
    calls = {"n": 0}

    def poisoned(self, u, g, step, *a):
        out = real(self, u, g, step, *a)
        calls["n"] += 1
        if calls["n"] >= 8:  # NaN from the 8th update on for sample 1
            out[1] = float("nan")
        return out

    monkeypatch.setattr(engine.SchemeBank, "step", poisoned)
    frames = list(run([am(), am(fluid=S)], tiny_model, every=5, static_step=True))
    last = frames[-1]
    assert last.step == 40 and last.diverged[0] is None
    assert "step 8" in last.diverged[1]
    np.testing.assert_array_equal(last.images[1], frames[1].images[1])
    assert np.isfinite(last.images).all()
    assert not np.array_equal(last.images[0], frames[2].images[0])  # sample 0 went on
