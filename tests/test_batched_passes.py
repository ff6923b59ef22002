"""Batched passes (one call per network on stacked inputs) against the unbatched step and against the
official step written out independently, for every norm and gan_mode: same losses, same weights."""
import copy
import random

import pytest
import torch
import torch.nn.functional as F

from cyclegan.models import CycleGANModel
from cyclegan.models.cycle_gan_model import batched_passes
from test_losses import make_opt

NORMS = ("instance", "none", "batch")
GAN_MODES = ("lsgan", "vanilla", "wgangp")


def gan(pred, real, mode):
    if mode == "wgangp":
        return -pred.mean() if real else pred.mean()
    target = torch.full_like(pred, 1.0 if real else 0.0)
    return F.mse_loss(pred, target) if mode == "lsgan" else F.binary_cross_entropy_with_logits(pred, target)


def penalty(D, real, fake, lam=10.0):
    alpha = torch.rand(real.shape[0], 1, 1, 1)
    x = (alpha * real + (1 - alpha) * fake.detach()).requires_grad_(True)
    out = D(x)
    g, = torch.autograd.grad(out, x, torch.ones_like(out), create_graph=True)
    return (((g.flatten(1) + 1e-16).norm(2, dim=1) - 1) ** 2).mean() * lam


def official_step(GA, GB, DA, DB, A, B, mode, lr=0.0002, lam=10.0, lam_idt=0.5):
    """The official step (call order of junyanz/pytorch-CycleGAN-and-pix2pix), pool_size 0."""
    optG = torch.optim.Adam(list(GA.parameters()) + list(GB.parameters()), lr=lr, betas=(0.5, 0.999))
    optD = torch.optim.Adam(list(DA.parameters()) + list(DB.parameters()), lr=lr, betas=(0.5, 0.999))
    fake_B = GA(A)
    rec_A = GB(fake_B)
    fake_A = GB(B)
    rec_B = GA(fake_A)
    for p in list(DA.parameters()) + list(DB.parameters()):
        p.requires_grad_(False)
    L = {"idt_A": (GA(B) - B).abs().mean() * lam * lam_idt, "idt_B": (GB(A) - A).abs().mean() * lam * lam_idt,
         "G_A": gan(DA(fake_B), True, mode), "G_B": gan(DB(fake_A), True, mode),
         "cycle_A": (rec_A - A).abs().mean() * lam, "cycle_B": (rec_B - B).abs().mean() * lam}
    optG.zero_grad()
    sum(L.values()).backward()
    optG.step()
    for p in list(DA.parameters()) + list(DB.parameters()):
        p.requires_grad_(True)
    optD.zero_grad()
    for key, D, real, fake in (("D_A", DA, B, fake_B), ("D_B", DB, A, fake_A)):
        loss = 0.5 * (gan(D(real), True, mode) + gan(D(fake.detach()), False, mode))
        if mode == "wgangp":
            loss = loss + penalty(D, real, fake)
        loss.backward()
        L[key] = loss
    optD.step()
    return {k: v.item() for k, v in L.items()}


def inputs(seed, n=2, size=32):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, 3, size, size, generator=g) * 2 - 1, torch.rand(n, 3, size, size, generator=g) * 2 - 1


def weights(model):
    return {f"{n}.{k}": v.detach().float() for n, net in model.nets() for k, v in net.state_dict().items()}


def assert_same_step(losses_a, losses_b, wa, wb, steps=1, lr=2e-4):
    """Losses to float tolerance; weights too, except that Adam's first steps (~lr * sign(grad)) may flip
    on a gradient that is ~0 in float noise: allow that (at most 2 lr per step) for under 1% of them."""
    assert losses_a.keys() == losses_b.keys()
    for k in losses_a:
        assert losses_a[k] == pytest.approx(losses_b[k], rel=2e-5, abs=1e-6), k
    assert wa.keys() == wb.keys()
    diff = torch.cat([(wa[k] - wb[k]).abs().flatten() for k in wa])
    assert diff.max().item() <= 2 * lr * steps * 1.01, diff.max().item()
    assert (diff > 1e-6).float().mean().item() < 0.01


def train(opt, batches, seed=0):
    torch.manual_seed(seed)
    random.seed(seed)
    model = CycleGANModel(opt)
    for A, B in batches:
        model.set_input({"A": A, "B": B})
        model.optimize_parameters()
    return model


@pytest.mark.parametrize("mode", GAN_MODES)
@pytest.mark.parametrize("norm", NORMS)
def test_batched_step_equals_unbatched_step(norm, mode, one_thread):
    batches = [inputs(0), inputs(1)]
    auto = train(make_opt(norm=norm, gan_mode=mode, pool_size=4), batches)
    plain = train(make_opt(norm=norm, gan_mode=mode, pool_size=4, batched_passes=False), batches)
    assert auto.batched == (norm != "batch")  # batch norm keeps the official call order
    assert not plain.batched
    assert_same_step(auto.get_current_losses(), plain.get_current_losses(), weights(auto), weights(plain), steps=2)
    assert torch.allclose(auto.fake_B, plain.fake_B, atol=1e-5) and torch.allclose(auto.idt_A, plain.idt_A, atol=1e-5)


@pytest.mark.parametrize("mode", GAN_MODES)
@pytest.mark.parametrize("norm", NORMS)
def test_step_matches_official_call_order(norm, mode, one_thread):
    torch.manual_seed(3)
    model = CycleGANModel(make_opt(norm=norm, gan_mode=mode, pool_size=0))
    nets = [copy.deepcopy(getattr(model, "net" + n)) for n in ("G_A", "G_B", "D_A", "D_B")]
    A, B = inputs(4)
    torch.manual_seed(5)  # the gradient penalty's interpolation weights
    model.set_input({"A": A, "B": B})
    model.optimize_parameters()
    ours = model.get_current_losses()
    torch.manual_seed(5)
    ref = official_step(*nets, A, B, mode)
    ref_model = copy.copy(model)
    for name, net in zip(("G_A", "G_B", "D_A", "D_B"), nets):
        setattr(ref_model, "net" + name, net)
    assert_same_step(ours, ref, weights(model), weights(ref_model))


def test_dropout_and_batch_norms_keep_the_official_order():
    assert batched_passes(make_opt()) is True
    assert batched_passes(make_opt(norm="none")) is True
    assert batched_passes(make_opt(no_dropout=False)) is False
    assert batched_passes(make_opt(norm="sync_batch")) is False
    assert batched_passes(make_opt(batched_passes=False)) is False
    for bad in (dict(norm="batch"), dict(no_dropout=False)):
        with pytest.raises(ValueError, match="--batched_passes"):
            batched_passes(make_opt(batched_passes=True, **bad))


def test_dropout_step_matches_unbatched_rng_order():
    """With dropout the masks come from one RNG stream: the auto step must draw them in the official order."""
    batches = [inputs(7)]
    auto = train(make_opt(no_dropout=False, netG="resnet_6blocks"), batches)
    plain = train(make_opt(no_dropout=False, batched_passes=False), batches)
    wa, wb = weights(auto), weights(plain)
    assert all(torch.equal(wa[k], wb[k]) for k in wa)


def test_different_shapes_fall_back_to_separate_calls():
    """preprocess none can give A and B of different sizes: they cannot be stacked."""
    torch.manual_seed(0)
    model = CycleGANModel(make_opt(pool_size=0))
    g = torch.Generator().manual_seed(0)
    model.set_input({"A": torch.rand(1, 3, 32, 32, generator=g), "B": torch.rand(1, 3, 36, 28, generator=g)})
    model.optimize_parameters()
    assert model.fake_B.shape == (1, 3, 32, 32) and model.idt_A.shape == (1, 3, 36, 28)
    assert all(torch.isfinite(torch.tensor(v)) for v in model.get_current_losses().values())
