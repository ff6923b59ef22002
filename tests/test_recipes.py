"""Recipe techniques (cyclegan/models/recipe.py): every flag off by default leaves the official step; DiffAugment
reaches real and fake D inputs in both passes and passes gradients; the *_nearest generators; spectral norm, R1,
hinge, TTUR, the batch learning-rate rule, --init_from; --recipe fast expands to its flags. The average
(--ema_decay) and the loaders' EMA-first rule: test_ema.py."""
import copy
import json
import math
import random
import signal

import pytest
import torch

from cyclegan.models import CycleGANModel, create_model
from cyclegan.models.diffaug import DiffAugment, cutout, parse_policy, translation
from cyclegan.models.generators import define_G
from cyclegan.models.losses import gan_loss
from cyclegan.models.recipe import RECIPES, InitFromError, Recipe, recipe_flags
from cyclegan.models.regularizers import R1
from options.train_options import TrainOptions
from test_losses import make_opt, official_step

TINY_ARGS = ["--ngf", "4", "--ndf", "4", "--netG", "resnet_6blocks", "--gpu_ids", "-1", "--seed", "1",
             "--display_id", "0", "--pool_size", "0", "--load_size", "36", "--crop_size", "32"]


def train_opt(tmp_path, *extra):
    return TrainOptions().parse(["--dataroot", str(tmp_path), "--name", "r", "--checkpoints_dir", str(tmp_path),
                                 *TINY_ARGS, *map(str, extra)])


def batch(seed, n=2, size=32):
    g = torch.Generator().manual_seed(seed)
    return {"A": torch.rand(n, 3, size, size, generator=g) * 2 - 1,
            "B": torch.rand(n, 3, size, size, generator=g) * 2 - 1}


def build(opt, seed=0):
    torch.manual_seed(seed)
    model = create_model(opt)
    model.setup(opt, load=False)
    return model


def step(model, seed):
    random.seed(seed)
    model.set_input(batch(seed))
    model.optimize_parameters()


def raw_weights(model):
    return {f"{n}.{k}": v.detach().clone() for n, net in model.nets() for k, v in net.state_dict().items()}


# ---- off by default: the official step ----

def test_every_technique_is_off_by_default(tmp_path):
    opt = train_opt(tmp_path)
    assert (opt.recipe, opt.diffaug, opt.ema_decay, opt.spectral_norm, opt.lambda_r1, opt.lr_G, opt.lr_D,
            opt.lr_batch_rule, opt.init_from, opt.gan_mode, opt.raw_weights) == \
        ("official", "", 0.0, False, 0.0, None, None, "none", None, "lsgan", False)
    model = build(opt)
    assert model.recipe.augment(batch(0)["A"]) is not None and model.recipe.ema is None and model.recipe.r1 is None
    assert model.saved_nets() == model.nets()
    step(model, 0)
    assert "recipe" not in model.state_dict()
    assert not any("parametrizations" in k for k in model.netD_A.state_dict())


def test_default_flags_give_the_official_step_bit_for_bit(tmp_path):
    """A model built from the parsed defaults (every recipe flag present and off) steps exactly as one built
    from an options object that has never heard of them, draws the same random numbers, and matches the
    official step written out independently."""
    opt = train_opt(tmp_path, "--no-batched_passes")
    plain = make_opt(batched_passes=False, pool_size=0)
    models = []
    for o in (opt, plain):
        torch.manual_seed(0)
        models.append(CycleGANModel(o))
    nets = [copy.deepcopy(getattr(models[1], "net" + n)) for n in ("G_A", "G_B", "D_A", "D_B")]
    data = batch(3, n=1)
    states = []
    for m in models:
        torch.manual_seed(5)
        m.set_input(data)
        m.optimize_parameters()
        states.append(torch.get_rng_state())
    assert torch.equal(states[0], states[1])
    wa, wb = raw_weights(models[0]), raw_weights(models[1])
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    assert models[0].get_current_losses() == models[1].get_current_losses()
    ref = official_step(*nets, data["A"], data["B"])
    for k, v in models[0].get_current_losses().items():
        assert v == pytest.approx(ref[k], rel=1e-5, abs=1e-7), k


def test_configure_keeps_the_graph_step_off_for_a_lazy_r1_only(tmp_path):
    """BaseModel.configure alone decides: a lazy R1 (work that changes from step to step) keeps the captured step
    off with a one-line reason naming the flag; DiffAugment (device-side draws, as the temporal loss's) and the
    EMA (eager, after the step) do not."""
    from test_graph_step import cuda_config, on_cuda
    from cyclegan.models.graph_step import GraphStep
    for extra, off in (([], None), (["--lambda_r1", "1"], "--r1_every"),
                       (["--lambda_r1", "1", "--r1_every", "1"], None),
                       (["--diffaug", "translation", "--ema_decay", "0.9", "--spectral_norm"], None)):
        model = on_cuda(CycleGANModel(train_opt(tmp_path, *extra)))
        model.configure(cuda_config(cuda_graph=True))
        if off is None:
            assert isinstance(model.graph_step, GraphStep) and model.cuda_graph_off is None, extra
        else:
            assert model.graph_step is None and off in model.cuda_graph_off and "\n" not in model.cuda_graph_off


def test_the_ema_updates_once_per_step_through_the_graph_step(tmp_path, monkeypatch):
    """Warm-up, capture, replay and an eager smaller batch each count one step: the average follows the weights
    the graph step leaves (CPU stand-ins for torch.cuda, as in test_graph_step; a real capture needs a GPU)."""
    import contextlib
    from test_graph_step import fake_cuda
    from cyclegan.models.graph_step import GraphStep
    fake_cuda(monkeypatch, lambda graph, **kw: contextlib.nullcontext())
    model = build(train_opt(tmp_path, "--ema_decay", "0.9", "--diffaug", "translation", "--batch_size", "2"))
    model.graph_step = GraphStep(model, model.capture_spec(), warmup=1)  # on the CPU: configure would refuse
    for i, n in enumerate((2, 2, 2, 1)):  # warm-up, capture (+ its replay), replay, eager
        random.seed(i)
        model.set_input(batch(i, n=n))
        model.optimize_parameters()
        assert model.recipe.ema.updates == model.recipe.steps == i + 1
    assert model.graph_step.graph is not None


# ---- DiffAugment ----

def test_policy_parsing_and_errors():
    assert parse_policy("color,translation,cutout") == [("color", None), ("translation", 0.125), ("cutout", 0.5)]
    assert parse_policy("translation:0.0625") == [("translation", 0.0625)]
    assert parse_policy("") == parse_policy("none") == []
    for bad in ("rotate", "translation:2", "color:0.1", "cutout:x"):
        with pytest.raises(ValueError, match="--diffaug"):
            parse_policy(bad)
    with pytest.raises(SystemExit):
        TrainOptions().parse(["--dataroot", "x", "--gpu_ids", "-1", "--diffaug", "rotate"])


def test_translation_shifts_whole_images_with_zero_fill():
    torch.manual_seed(0)
    x = torch.rand(6, 3, 16, 16) + 0.5  # never zero, so the zero fill is visible
    y = translation(x, 0.25)
    for i in range(6):
        found = [(dy, dx) for dy in range(-4, 5) for dx in range(-4, 5)
                 if torch.equal(y[i], _shifted(x[i], dy, dx))]
        assert len(found) == 1, i
    assert (y == 0).any()


def _shifted(img, dy, dx):
    out = torch.zeros_like(img)
    h, w = img.shape[1:]
    ys, xs = slice(max(0, -dy), min(h, h - dy)), slice(max(0, -dx), min(w, w - dx))
    out[:, ys, xs] = img[:, max(0, dy):min(h, h + dy), max(0, dx):min(w, w + dx)]
    return out


def test_cutout_zeroes_one_square_at_most_and_keeps_the_rest():
    torch.manual_seed(1)
    x = torch.rand(8, 3, 16, 16) + 0.5
    y = cutout(x, 0.25)
    for i in range(8):
        hole = (y[i] == 0).all(0)
        assert 0 < hole.sum() <= 16 and torch.equal(y[i][:, ~hole], x[i][:, ~hole])
        rows, cols = hole.any(1).nonzero(), hole.any(0).nonzero()
        assert hole.sum() == len(rows) * len(cols)  # a rectangle (clipped at the border)


def test_diffaugment_is_differentiable_and_draws_per_image():
    torch.manual_seed(2)
    x = torch.rand(4, 3, 16, 16).requires_grad_(True)
    y = DiffAugment("color,translation,cutout")(torch.cat([x, x]))
    y.square().sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    assert not torch.equal(y[:4], y[4:])  # the same images stacked twice get different draws


def test_diffaug_reaches_real_and_fake_in_both_passes_and_passes_gradients(tmp_path):
    """Every input of D_A, in G's pass and D's (batched [real; fake]), is augmented; with only the GAN terms,
    G_A still gets gradients through the augmentation."""
    for batched in ("--batched_passes", "--no-batched_passes"):
        opt = train_opt(tmp_path, "--diffaug", "color", "--lambda_A", "0", "--lambda_B", "0",
                        "--lambda_identity", "0", batched)
        model = build(opt)
        seen = []
        model.netD_A.register_forward_pre_hook(lambda mod, inp: seen.append(inp[0].detach().clone()))
        model.set_input(batch(4))
        model.forward_train()
        model.set_requires_grad([model.netD_A, model.netD_B], False)
        model.optimizer_G.zero_grad()
        model.backward_G()
        assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.netG_A.parameters()
                   if p.dim() > 1)
        model.set_requires_grad([model.netD_A, model.netD_B], True)
        model.backward_D_A()
        real, fake = model.real_B, model.fake_B.detach()
        assert len(seen) == (2 if batched == "--batched_passes" else 3)
        assert seen[0].shape == fake.shape and not torch.allclose(seen[0], fake)  # G's pass: D_A(aug(fake_B))
        d_inputs = torch.cat(seen[1:])
        assert d_inputs.shape[0] == 2 * real.shape[0]
        assert not torch.allclose(d_inputs[:2], real) and not torch.allclose(d_inputs[2:], fake)


# ---- generators, regularisers, losses, learning rates ----

@pytest.mark.parametrize("netG,size", [("resnet_6blocks_nearest", 32), ("resnet_9blocks_nearest", 32),
                                       ("unet_128_nearest", 128), ("unet_256_nearest", 256)])
def test_nearest_generators_keep_the_shape_and_use_no_transposed_conv(netG, size):
    G = define_G(3, 3, 4, netG, "instance")
    assert G(torch.rand(1, 3, size, size)).shape == (1, 3, size, size)
    assert not any(isinstance(m, torch.nn.ConvTranspose2d) for m in G.modules())
    official = define_G(3, 3, 4, netG.replace("_nearest", ""), "instance")
    with pytest.raises(RuntimeError):  # an official checkpoint does not silently load into the new layout
        G.load_state_dict(official.state_dict())


def test_spectral_norm_bounds_every_d_weight(tmp_path):
    model = build(train_opt(tmp_path, "--spectral_norm"))
    convs = [m for m in model.netD_A.modules() if isinstance(m, torch.nn.Conv2d)]
    assert convs and all(hasattr(m, "parametrizations") for m in convs)
    for _ in range(30):  # power iterations run in training-mode forwards
        model.netD_A(torch.rand(1, 3, 32, 32))
    for m in convs:
        sigma = torch.linalg.matrix_norm(m.weight.detach().flatten(1), ord=2).item()
        assert sigma == pytest.approx(1.0, rel=0.05)


def test_r1_penalty_of_a_linear_critic_and_its_lazy_clock():
    """D = 1x1 conv with weights w: d mean_patches(D(x)) / dx = w / (H W) at every pixel, so
    ||grad||^2 = |w|^2 / (H W) and R1 = gamma / 2 * that * every."""
    D = torch.nn.Conv2d(3, 1, 1, bias=False)
    x = torch.rand(2, 3, 8, 8, requires_grad=True)
    r1 = R1(gamma=4.0, every=3)
    got = r1.penalty(D(x), x).item()
    assert got == pytest.approx(4.0 / 2 * D.weight.square().sum().item() / 64 * 3, rel=1e-5)
    assert [r1.due(s) for s in range(7)] == [True, False, False, True, False, False, True]


def test_hinge_loss_by_hand():
    pred = torch.tensor([-2.0, -0.5, 0.5, 2.0])
    loss = gan_loss("hinge")
    assert loss(pred, True).item() == pytest.approx((3 + 1.5 + 0.5 + 0) / 4)
    assert loss(pred, False).item() == pytest.approx((0 + 0.5 + 1.5 + 3) / 4)
    assert loss(pred, True, for_generator=True).item() == pytest.approx(0.0)
    assert loss(pred + 1, True, for_generator=True).item() == pytest.approx(-1.0)


def test_ttur_and_the_batch_learning_rate_rule(tmp_path):
    m = build(train_opt(tmp_path, "--lr_G", "1e-4", "--lr_D", "4e-4"))
    assert [o.param_groups[0]["lr"] for o in m.optimizers] == [1e-4, 4e-4]
    m = build(train_opt(tmp_path, "--batch_size", "4", "--lr_batch_rule", "sqrt"))
    assert [o.param_groups[0]["lr"] for o in m.optimizers] == [pytest.approx(4e-4)] * 2
    m = build(train_opt(tmp_path, "--batch_size", "4"))
    assert [o.param_groups[0]["lr"] for o in m.optimizers] == [2e-4, 2e-4]  # official: no rule


def test_batch_above_one_trains_with_instance_norm(tmp_path):
    m = build(train_opt(tmp_path, "--batch_size", "4", "--lr_batch_rule", "sqrt"))
    before = raw_weights(m)
    random.seed(0)
    m.set_input(batch(0, n=4))
    m.optimize_parameters()
    assert m.batched and all(math.isfinite(v) for v in m.get_current_losses().values())
    assert any(not torch.equal(before[k], v) for k, v in raw_weights(m).items())


def test_init_from_a_run_folder_or_files(tmp_path):
    src = build(train_opt(tmp_path, "--ema_decay", "0.5"))
    step(src, 0)
    src.save_networks("latest")
    run = tmp_path / "r"
    m = build(train_opt(tmp_path, "--init_from", run), seed=7)
    for name in ("G_A", "G_B"):  # a folder: its averaged generators first
        want = src.recipe.ema.nets[name].state_dict()
        assert all(torch.equal(v, want[k]) for k, v in getattr(m, "net" + name).state_dict().items())
    m = build(train_opt(tmp_path, "--init_from", f"G_B={run / 'latest_net_G_B.pth'}", "--ema_decay", "0.9"), seed=7)
    assert all(torch.equal(v, src.netG_B.state_dict()[k]) for k, v in m.netG_B.state_dict().items())
    assert all(torch.equal(v, m.netG_B.state_dict()[k]) for k, v in m.recipe.ema.nets["G_B"].state_dict().items())
    with pytest.raises(InitFromError, match="--init_from"):
        build(train_opt(tmp_path, "--init_from", tmp_path / "nothing.pth"))
    with pytest.raises(InitFromError, match="do not fit this network"):
        build(train_opt(tmp_path, "--init_from", run, "--ngf", "8"))


# ---- --recipe ----

def test_recipe_fast_expands_to_its_documented_flags_and_typed_flags_win(tmp_path):
    from conftest import REPO
    fast = RECIPES["fast"]
    assert fast, "the fast recipe sets flags"
    opt = train_opt(tmp_path, "--recipe", "fast")
    assert all(getattr(opt, k) == v for k, v in fast.items())
    docs = (REPO / "docs" / "recipes.md").read_text() + (REPO / "README.md").read_text()
    assert " ".join(recipe_flags("fast")) in docs
    key, value = next(iter(fast.items()))
    other = {bool: lambda v: not v, float: lambda v: v / 2, int: lambda v: v + 1,
             str: lambda v: "official-ish"}[type(value)](value)
    typed = [f"--{key}" if other is True else f"--no-{key}" if other is False else f"--{key}", str(other)]
    typed = typed[:1] if isinstance(other, bool) else typed
    if key == "diffaug":
        typed, other = ["--diffaug", ""], ""
    assert getattr(train_opt(tmp_path, "--recipe", "fast", *typed), key) == other


def test_resume_and_test_see_the_saved_recipe(tmp_path):
    from options.base_options import save_options
    opt = train_opt(tmp_path, "--recipe", "fast", "--ema_decay", "0.5")
    (tmp_path / "r").mkdir()
    save_options(opt, tmp_path / "r", "train", echo=False)
    saved = json.loads((tmp_path / "r" / "train_opt.json").read_text())
    assert saved["recipe"] == "fast" and saved["ema_decay"] == 0.5
    resumed = train_opt(tmp_path, "--continue_train")  # no --recipe typed: the run's recipe and overrides
    assert resumed.recipe == "fast" and resumed.ema_decay == 0.5
    assert all(getattr(resumed, k) == getattr(opt, k) for k in RECIPES["fast"])
    assert train_opt(tmp_path, "--continue_train", "--ema_decay", "0.25").ema_decay == 0.25


def test_recipe_fast_with_the_temporal_loss(tmp_path):
    """--recipe fast beside --lambda_temporal (issue 25): both apply, the step trains with the temporal terms and
    DiffAugment, and the averages follow."""
    opt = train_opt(tmp_path, "--recipe", "fast", "--lambda_temporal", "0.5", "--ema_decay", "0.9")
    assert opt.lambda_temporal == 0.5 and opt.ema_decay == 0.9 and all(getattr(opt, k) == v for k, v in RECIPES["fast"].items())
    model = build(opt)
    step(model, 0)
    losses = model.get_current_losses()
    assert losses["temporal_A"] > 0 and losses["temporal_B"] > 0 and all(math.isfinite(v) for v in losses.values())
    assert model.recipe.ema.updates == 1 and isinstance(model.recipe.augment, DiffAugment)


def test_recipe_object_is_inert_at_test_time():
    r = Recipe(make_opt(diffaug="color", ema_decay=0.9, lambda_r1=1.0), {"G_A": torch.nn.Linear(1, 1)}, train=False)
    x = torch.rand(2, 3)
    assert r.augment(x) is x and r.ema is None and r.r1 is None and r.state_dict() is None


# ---- end to end: train, SIGKILL, resume exactly, test ----

@pytest.mark.slow
def test_new_generator_and_techniques_train_resume_exactly_and_test(tiny_dataset, tmp_path):
    """resnet_6blocks_nearest with EMA, DiffAugment, lazy R1 and spectral norm: a run SIGKILLed after its
    3rd save and resumed ends with the raw and the averaged weights of an uninterrupted run; cyclegan-test
    then translates with the averaged generators."""
    import subprocess
    import sys
    from conftest import REPO, run_env
    from test_resume import cmd, run_to_end, start_and_signal
    extra = ["--netG", "resnet_6blocks_nearest", "--ema_decay", "0.9", "--diffaug", "color,translation,cutout:0.25",
             "--lambda_r1", "0.1", "--r1_every", "2", "--spectral_norm"]
    ck = tmp_path / "ck"
    run_to_end(cmd(tiny_dataset, ck, "full", *extra))
    rc, _, _ = start_and_signal(cmd(tiny_dataset, ck, "killed", *extra), "saved the latest model", 3, signal.SIGKILL)
    assert rc != 0
    resumed = run_to_end(cmd(tiny_dataset, ck, "killed", "--continue_train", *extra))
    assert "resumed from" in resumed.stdout
    for name in ("G_A", "G_B", "G_A_ema", "G_B_ema", "D_A"):
        a = torch.load(ck / "full" / f"latest_net_{name}.pth")
        b = torch.load(ck / "killed" / f"latest_net_{name}.pth")
        assert max((a[k] - b[k]).abs().max().item() for k in a) <= 1e-6, name
    saved = json.loads((ck / "full" / "train_opt.json").read_text())
    assert saved["netG"] == "resnet_6blocks_nearest" and saved["ema_decay"] == 0.9
    p = subprocess.run([sys.executable, "-m", "cyclegan.test", "--dataroot", str(tiny_dataset), "--name", "full",
                        "--checkpoints_dir", str(ck), "--results_dir", str(tmp_path / "res"), "--gpu_ids", "-1"],
                       cwd=REPO, env=run_env(), capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-2000:]
    assert "latest_net_G_A_ema.pth" in p.stdout and (tmp_path / "res" / "full" / "test_latest" / "index.html").is_file()


@pytest.mark.parametrize("netG", ["resnet_6blocks", "unet_128"])
def test_bilinear_upsample_init_starts_without_a_checkerboard_in_the_official_layout(netG, tmp_path):
    from cyclegan.models.upsample import bilinear_init_
    G = bilinear_init_(define_G(3, 3, 8, netG, "instance"))
    assert G.state_dict().keys() == define_G(3, 3, 8, netG, "instance").state_dict().keys()
    for m in G.modules():
        if isinstance(m, torch.nn.ConvTranspose2d):  # a flat input gives a flat output (away from the border)
            y = torch.nn.functional.conv_transpose2d(torch.ones(1, m.in_channels, 8, 8), m.weight, None, 2,
                                                     m.padding, m.output_padding)[..., 2:-2, 2:-2]
            assert (y.amax((2, 3)) - y.amin((2, 3))).abs().max() < 1e-5 and y.abs().max() > 0
    m = build(train_opt(tmp_path, "--upsample_init", "bilinear", "--ema_decay", "0.9"))
    w = [x.weight for x in m.netG_A.modules() if isinstance(x, torch.nn.ConvTranspose2d)][0]
    assert torch.allclose(w[0, 0] / w[0, 0, 1, 1], torch.tensor([[0.25, 0.5, 0.25], [0.5, 1, 0.5], [0.25, 0.5, 0.25]]))
    assert torch.equal(w, [x.weight for x in m.recipe.ema.nets["G_A"].modules()
                           if isinstance(x, torch.nn.ConvTranspose2d)][0])  # the average starts from it


def test_recipe_fast_above_the_crop_it_won_at_stands_for_the_measured_best(tmp_path, capsys):
    """--recipe fast is fast's flags up to 64 px crops and the official settings above (measured best at 128 px);
    typed flags still win, and a resumed run keeps the flags it was started with."""
    from options.base_options import save_options
    from options.train_options import TrainOptions
    base = ["--dataroot", str(tmp_path), "--gpu_ids", "-1", "--checkpoints_dir", str(tmp_path), "--name", "r"]
    small = TrainOptions().parse([*base, "--recipe", "fast", "--crop_size", "64"])
    assert "official recipe's settings" not in capsys.readouterr().err
    assert all(getattr(small, k) == v for k, v in RECIPES["fast"].items())
    big = TrainOptions().parse([*base, "--recipe", "fast", "--crop_size", "128"])
    err = capsys.readouterr().err
    assert "--recipe fast at --crop_size 128: the official recipe's settings" in err
    assert "--diffaug translation --netD n_layers --n_layers_D 2" in err  # how to get fast's flags anyway
    official = TrainOptions().parse([*base, "--crop_size", "128"])
    assert "official recipe's settings" not in capsys.readouterr().err
    assert big.recipe == "fast" and all(getattr(big, k) == getattr(official, k) for k in RECIPES["fast"])
    typed = TrainOptions().parse([*base, "--recipe", "fast", "--crop_size", "128", "--diffaug", "translation"])
    assert typed.diffaug == "translation" and typed.netD == official.netD
    # a run started at 64 px keeps fast's flags when resumed, whatever crop the resume parses first
    (tmp_path / "r").mkdir()
    save_options(small, tmp_path / "r", "train", echo=False)
    resumed = TrainOptions().parse([*base, "--continue_train"])
    assert resumed.recipe == "fast" and all(getattr(resumed, k) == v for k, v in RECIPES["fast"].items())
    # and a run that trained fast's flags at 128 px (before this rule) resumes with them, without the note
    (tmp_path / "r" / "train_opt.json").unlink()
    old = TrainOptions().parse([*base, "--recipe", "fast", "--crop_size", "128", "--netD", "n_layers",
                                "--n_layers_D", "2", "--diffaug", "translation"])
    save_options(old, tmp_path / "r", "train", echo=False)
    capsys.readouterr()
    resumed = TrainOptions().parse([*base, "--continue_train", "--crop_size", "128"])
    assert resumed.crop_size == 128 and all(getattr(resumed, k) == v for k, v in RECIPES["fast"].items())
    assert "official recipe's settings" not in capsys.readouterr().err
