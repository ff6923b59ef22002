"""The temporal consistency loss (cyclegan/models/temporal.py): zero for a network that commutes with the motion (a
per-pixel map), positive for one that does not; the CycleGAN step is unchanged with --lambda_temporal 0 and adds the
loss with it; fast NST saves it in its options and resumes exactly; a short training with it lowers the warping
error of the network on a generated pan."""
import json
import subprocess
import sys

import pytest
import torch

from conftest import REPO, make_images, run_env, smooth_image
from test_losses import make_opt
from test_resume import sigkill_and_resume_diff
from cyclegan.models import CycleGANModel
from cyclegan.models.temporal import moved_views, random_motion, temporal_loss, valid_mask, warp
from cyclegan.nst.transformer import TransformerNet

STILL = dict(brightness=0.0, noise=0.0)  # the motion alone


def photos(n=2, size=48):
    g = torch.Generator().manual_seed(5)
    x = torch.cat([smooth_image(i, size, size) for i in range(n)])
    return (0.8 * x + 0.2 * torch.rand(x.shape, generator=g)).clamp(0, 1)


def colour_matrix(x):
    m = torch.tensor([[0.5, 0.3, 0.1], [0.1, 0.6, 0.2], [0.2, 0.1, 0.4]])
    return torch.einsum("ij,njhw->nihw", m, x)


def test_zero_for_a_per_pixel_map_positive_for_a_strided_network():
    x = photos()
    linear = temporal_loss(colour_matrix, x, generator=torch.Generator().manual_seed(0), **STILL)
    curve = temporal_loss(lambda t: t ** 2, x, generator=torch.Generator().manual_seed(0), **STILL)
    torch.manual_seed(0)
    with torch.no_grad():
        net = temporal_loss(TransformerNet(8, 1), x, generator=torch.Generator().manual_seed(0), **STILL)
    assert float(linear) < 1e-10  # linear per-pixel maps commute with bilinear resampling exactly
    assert float(curve) < 1e-4  # a non-linear one up to the resampling's rounding of curvature
    assert float(net) > 1e-3 > 10 * float(curve)


def test_the_mask_keeps_only_pixels_both_views_see():
    theta = torch.tensor([[[1.0, 0.0, 0.25], [0.0, 1.0, 0.0]]])  # 1/8 of the width to the side
    mask = valid_mask(theta, (1, 3, 16, 16), "cpu")[0, 0]
    assert mask[:, :13].all() and not mask[:, 14:].any()
    x = photos(1, 16)
    assert float(temporal_loss(lambda t: t, x, generator=torch.Generator().manual_seed(3), **STILL)) < 1e-12


def test_draws_repeat_from_the_generator_and_stay_small():
    a = random_motion(64, torch.Generator().manual_seed(1))
    assert torch.equal(a, random_motion(64, torch.Generator().manual_seed(1)))
    scale = a[:, :, :2].det().abs().sqrt()  # 1 / zoom
    assert (scale > 0.95).all() and (scale < 1.05).all() and a[:, :, 2].abs().max() <= 0.08 + 1e-6
    x = photos(2, 32)
    moved, theta, mask = moved_views(x, torch.Generator().manual_seed(2))
    assert moved.shape == x.shape and 0 <= float(moved.min()) and float(moved.max()) <= 1
    assert (moved - warp(x, theta)).abs().mean() > 0  # noise and brightness jitter on top of the motion
    signed, _, _ = moved_views(x * 2 - 1, torch.Generator().manual_seed(2), value_range=(-1.0, 1.0))
    assert torch.allclose((signed + 1) / 2, moved, atol=1e-6)  # the same view in [-1, 1] units


def test_the_loss_trains_both_passes():
    net = TransformerNet(4, 1)
    temporal_loss(net, photos(), generator=torch.Generator().manual_seed(0)).backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in net.parameters() if p.dim() > 1)


def step(opt, seed=0):
    torch.manual_seed(seed)
    model = CycleGANModel(opt)
    A, B = torch.rand(1, 3, 32, 32) * 2 - 1, torch.rand(1, 3, 32, 32) * 2 - 1
    model.set_input({"A": A, "B": B, "A_paths": ["a"], "B_paths": ["b"]})
    model.optimize_parameters()
    return model, torch.get_rng_state()


def test_cyclegan_step_with_lambda_temporal_0_is_the_official_one(one_thread):
    official, rng = step(make_opt())
    off, rng_off = step(make_opt(lambda_temporal=0.0))
    assert torch.equal(rng, rng_off)  # no draw either
    assert official.get_current_losses() == off.get_current_losses() and "temporal_A" not in off.loss_names
    for n in ("G_A", "G_B", "D_A", "D_B"):
        a, b = getattr(official, "net" + n).state_dict(), getattr(off, "net" + n).state_dict()
        assert all(torch.equal(a[k], b[k]) for k in a), n


@pytest.mark.parametrize("netG", ["resnet_6blocks", "resnet_6blocks_nearest"])  # the second: docs/video.md's choice
def test_cyclegan_step_adds_the_loss_of_both_generators(one_thread, netG):
    on, rng = step(make_opt(lambda_temporal=2.0, netG=netG))
    again, rng_again = step(make_opt(lambda_temporal=2.0, netG=netG))
    losses = on.get_current_losses()
    assert losses == again.get_current_losses() and torch.equal(rng, rng_again)  # drawn from the seeded RNG
    assert {"temporal_A", "temporal_B"} <= set(on.loss_names) and losses["temporal_A"] > 0 < losses["temporal_B"]
    parts = sum(losses[k] for k in ("G_A", "G_B", "cycle_A", "cycle_B", "idt_A", "idt_B", "temporal_A", "temporal_B"))
    assert float(on.loss_G.detach()) == pytest.approx(parts, rel=1e-5)
    official, _ = step(make_opt(netG=netG))
    assert not torch.equal(official.netG_A.state_dict()["model.1.weight"], on.netG_A.state_dict()["model.1.weight"])


@pytest.mark.slow
def test_cyclegan_with_it_resumes_exactly_after_sigkill(tiny_dataset, tmp_path):
    assert sigkill_and_resume_diff(tiny_dataset, tmp_path / "ck", "--lambda_temporal", 1) <= 1e-6
    saved = json.loads((tmp_path / "ck" / "full" / "train_opt.json").read_text())
    assert saved["lambda_temporal"] == 1


# -- fast NST: options, exact resume and what the loss buys ---------------------------------------------------------

SMALL = ["--image_size", "32", "--ngf", "8", "--n_res", "1", "--content_layers", "conv2_1",
         "--style_layers", "conv1_1,conv2_1", "--seed", "3", "--batch_size", "2", "--device", "cpu"]


def fast_nst(*args):
    r = subprocess.run([sys.executable, "-m", "cyclegan.fast_nst", *map(str, args)], cwd=REPO, env=run_env(),
                       capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-3000:]
    return r


@pytest.fixture(scope="module")
def nst_data(tmp_path_factory, vgg_weights_file):
    tmp = tmp_path_factory.mktemp("temporal")
    make_images(tmp / "photos", 6, size=(48, 40), seed=1)
    style = make_images(tmp / "styles", 1, size=(48, 48), seed=9)[0]
    return ["--photos", tmp / "photos", "--style", style, "--weights", vgg_weights_file, *SMALL]


@pytest.mark.slow
def test_fast_nst_saves_the_weight_and_resumes_bit_identically(nst_data, tmp_path):
    common = [*nst_data, "--checkpoints_dir", tmp_path, "--lambda_temporal", 5, "--save_freq", 2, "--print_freq", 1]
    fast_nst("train", "--name", "straight", "--num_iters", 4, *common)
    fast_nst("train", "--name", "resumed", "--num_iters", 2, *common)
    fast_nst("train", "--name", "resumed", "--num_iters", 4, "--continue_train", *common)
    a = torch.load(tmp_path / "straight" / "latest_net_T.pth", weights_only=True)
    b = torch.load(tmp_path / "resumed" / "latest_net_T.pth", weights_only=True)
    assert all(torch.equal(a[k], b[k]) for k in a)
    saved = json.loads((tmp_path / "straight" / "fast_nst_train_opt.json").read_text())
    assert saved["lambda_temporal"] == 5
    state = torch.load(tmp_path / "straight" / "latest_state.pth", weights_only=True)
    assert len(state["counters"]["history"]["temporal"]) == 4


@pytest.mark.slow
def test_training_with_it_lowers_the_warping_error_on_a_generated_pan(nst_data, tmp_path):
    from cyclegan.media.clips import pan_zoom_frames
    from cyclegan.metrics.warp import warp_error
    from cyclegan.inference import load
    from test_warp_error import textured_canvas
    clip = pan_zoom_frames(textured_canvas(160, 48), 12, size=(64, 48), zoom=(1.0, 1.15))
    errors = {}
    for name, lam in (("plain", 0), ("temporal", 20)):
        fast_nst("train", "--name", name, "--num_iters", 40, "--lambda_temporal", lam, "--print_freq", 10,
                 *nst_data, "--checkpoints_dir", tmp_path)
        errors[name] = warp_error(clip, load(tmp_path / name, device="cpu")(clip))["warp_error"]
    print(f"warping error after 40 iterations: {errors}")
    assert errors["temporal"] < 0.7 * errors["plain"], errors
