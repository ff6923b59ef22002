"""GAN losses and the gradient penalty against hand computations; one CycleGAN step against the
official math written out independently here."""
import copy
import random
from types import SimpleNamespace

import pytest
import torch
import torch.nn.functional as F

from cyclegan.models import CycleGANModel
from cyclegan.models.losses import GANLoss, gradient_penalty


def test_lsgan_vanilla_wgangp_by_hand():
    pred = torch.tensor([[0.2, 0.9], [-0.5, 1.5]])
    assert GANLoss("lsgan")(pred, True).item() == pytest.approx(((0.2 - 1) ** 2 + 0.1 ** 2 + 1.5 ** 2 + 0.5 ** 2) / 4)
    assert GANLoss("lsgan")(pred, False).item() == pytest.approx((0.04 + 0.81 + 0.25 + 2.25) / 4)
    sig = torch.sigmoid(pred)
    assert GANLoss("vanilla")(pred, True).item() == pytest.approx(-torch.log(sig).mean().item(), rel=1e-6)
    assert GANLoss("vanilla")(pred, False).item() == pytest.approx(-torch.log(1 - sig).mean().item(), rel=1e-6)
    assert GANLoss("wgangp")(pred, True).item() == pytest.approx(-0.525)
    assert GANLoss("wgangp")(pred, False).item() == pytest.approx(0.525)


def test_unknown_gan_mode_names_the_flag():
    with pytest.raises(ValueError, match="--gan_mode"):
        GANLoss("hinge")


def test_gradient_penalty_of_a_linear_critic():
    """D(x) = <w, x>: its input gradient is w everywhere, so GP = lambda * (||w|| - 1)^2."""
    w = torch.tensor([3.0, 4.0, 0.0, 0.0])

    def critic(x):
        return (x.flatten(1) * w).sum(1)

    real, fake = torch.randn(3, 1, 2, 2), torch.randn(3, 1, 2, 2)
    assert gradient_penalty(critic, real, fake, lambda_gp=10.0).item() == pytest.approx(10 * (5 - 1) ** 2, rel=1e-5)


def make_opt(**kw):
    """The real training options (every flag with its declared default; float32, CPU, the official widths of a
    tiny test), then `kw` set on them."""
    from options.train_options import TrainOptions
    opt = TrainOptions().parse_values(dataroot="/tmp", name="x", checkpoints_dir="/tmp", gpu_ids=-1, ngf=4, ndf=4,
                                      netG="resnet_6blocks", amp="none", display_id=0)
    for key, value in kw.items():
        setattr(opt, key, value)
    return opt


def official_step(GA, GB, DA, DB, A, B, lr=0.0002, beta1=0.5, lam_A=10.0, lam_B=10.0, lam_idt=0.5):
    """The official CycleGAN step, written out independently with functional losses."""
    mse = lambda p, t: F.mse_loss(p, torch.full_like(p, t))  # noqa: E731
    optG = torch.optim.Adam(list(GA.parameters()) + list(GB.parameters()), lr=lr, betas=(beta1, 0.999))
    optD = torch.optim.Adam(list(DA.parameters()) + list(DB.parameters()), lr=lr, betas=(beta1, 0.999))
    fake_B, fake_A = GA(A), GB(B)
    rec_A, rec_B = GB(fake_B), GA(fake_A)
    L = {}
    L["idt_A"] = (GA(B) - B).abs().mean() * lam_B * lam_idt
    L["idt_B"] = (GB(A) - A).abs().mean() * lam_A * lam_idt
    L["G_A"], L["G_B"] = mse(DA(fake_B), 1.0), mse(DB(fake_A), 1.0)
    L["cycle_A"], L["cycle_B"] = (rec_A - A).abs().mean() * lam_A, (rec_B - B).abs().mean() * lam_B
    optG.zero_grad()
    sum(L[k] for k in ("G_A", "G_B", "cycle_A", "cycle_B", "idt_A", "idt_B")).backward()
    optG.step()
    optD.zero_grad()  # also clears what the G step left in the D grads
    # an empty pool returns the new fakes themselves
    L["D_A"] = 0.5 * (mse(DA(B), 1.0) + mse(DA(fake_B.detach()), 0.0))
    L["D_B"] = 0.5 * (mse(DB(A), 1.0) + mse(DB(fake_A.detach()), 0.0))
    (L["D_A"] + L["D_B"]).backward()
    optD.step()
    return {k: v.item() for k, v in L.items()}


def norm_cancelled_biases(net):
    """Names of conv biases that an instance norm right after cancels: their true gradient is zero, so
    Adam's first step moves them by lr * sign(float noise), in the official code as here."""
    names = set()
    for prefix, mod in net.named_modules():
        kids = list(mod.named_children()) if isinstance(mod, torch.nn.Sequential) else []
        for (name, a), (_, b) in zip(kids, kids[1:]):
            if isinstance(a, (torch.nn.Conv2d, torch.nn.ConvTranspose2d)) and isinstance(b, torch.nn.InstanceNorm2d):
                names.add(f"{prefix}.{name}.bias" if prefix else f"{name}.bias")
    return names


@pytest.mark.parametrize("batched", [False, True])
def test_one_step_matches_official_math(batched):
    """Unbatched (the official call order): every weight to 1e-6. Batched passes sum the weight gradients
    in another order: the same, except the norm-cancelled biases, which stay within Adam's 2 * lr."""
    torch.manual_seed(0)
    model = CycleGANModel(make_opt(batched_passes=batched))
    assert model.batched == batched
    nets = [copy.deepcopy(getattr(model, "net" + n)) for n in ("G_A", "G_B", "D_A", "D_B")]
    A, B = torch.rand(1, 3, 32, 32) * 2 - 1, torch.rand(1, 3, 32, 32) * 2 - 1
    model.set_input({"A": A, "B": B, "A_paths": ["a"], "B_paths": ["b"]})
    model.optimize_parameters()
    ours = model.get_current_losses()
    ref = official_step(*nets, A, B)
    assert set(ours) == {"D_A", "G_A", "cycle_A", "idt_A", "D_B", "G_B", "cycle_B", "idt_B"}
    for k in ours:
        assert ours[k] == pytest.approx(ref[k], rel=1e-5, abs=1e-7), k
    cancelled = 0
    for name, ref_net in zip(("G_A", "G_B", "D_A", "D_B"), nets):
        loose = norm_cancelled_biases(ref_net) if batched else set()
        for (k, p), q in zip(getattr(model, "net" + name).state_dict().items(), ref_net.state_dict().values()):
            if k in loose:
                cancelled += 1
                assert (p - q).abs().max().item() <= 2 * 0.0002 * 1.01, f"{name}.{k}"
            else:
                assert torch.allclose(p, q, atol=1e-6, rtol=1e-4 if batched else 1e-5), f"{name}.{k}"
    assert cancelled == (0 if not batched else 2 * (3 + 12 + 2) + 2 * 3)  # resnet_6blocks and basic D


def test_identity_weights_follow_official_convention():
    """idt_A is weighted by lambda_identity * lambda_B, idt_B by lambda_identity * lambda_A."""
    torch.manual_seed(1)
    model = CycleGANModel(make_opt(lambda_A=2.0, lambda_B=8.0, lambda_identity=0.5))
    A, B = torch.rand(1, 3, 32, 32) * 2 - 1, torch.rand(1, 3, 32, 32) * 2 - 1
    model.set_input({"A": A, "B": B})
    with torch.no_grad():
        idt_A = (model.netG_A(B) - B).abs().mean().item() * 8.0 * 0.5
        idt_B = (model.netG_B(A) - A).abs().mean().item() * 2.0 * 0.5
    model.optimize_parameters()
    assert model.loss_idt_A.item() == pytest.approx(idt_A, rel=1e-5)
    assert model.loss_idt_B.item() == pytest.approx(idt_B, rel=1e-5)


def test_wgangp_applies_the_penalty():
    torch.manual_seed(2)
    random.seed(0)
    model = CycleGANModel(make_opt(gan_mode="wgangp", pool_size=0))
    A, B = torch.rand(2, 3, 32, 32) * 2 - 1, torch.rand(2, 3, 32, 32) * 2 - 1
    model.set_input({"A": A, "B": B})
    model.forward()
    seen = []

    def fake_penalty(netD, real, fake, lambda_gp):
        seen.append(lambda_gp)
        return torch.tensor(1000.0)

    import cyclegan.models.cycle_gan_model as cgm
    orig, cgm.gradient_penalty = cgm.gradient_penalty, fake_penalty
    try:
        model.optimize_parameters()
    finally:
        cgm.gradient_penalty = orig
    assert seen == [10.0, 10.0]  # one penalty for D_A, one for D_B
    assert model.loss_D_A.item() > 990 and model.loss_D_B.item() > 990  # and it is part of the D loss
