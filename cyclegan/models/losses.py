"""GAN objectives (lsgan, vanilla, wgangp: GANLoss; hinge: HingeLoss) and the WGAN-GP gradient penalty."""
import torch
import torch.nn as nn

OFFICIAL_GAN_MODES = ("lsgan", "vanilla", "wgangp")
GAN_MODES = OFFICIAL_GAN_MODES + ("hinge",)


class GANLoss(nn.Module):
    """Compare a discriminator's output with an all-real or all-fake target of the same shape."""

    def __init__(self, gan_mode="lsgan", target_real_label=1.0, target_fake_label=0.0):
        super().__init__()
        self.register_buffer("real_label", torch.tensor(target_real_label))
        self.register_buffer("fake_label", torch.tensor(target_fake_label))
        self.gan_mode = gan_mode
        if gan_mode == "lsgan":
            self.loss = nn.MSELoss()
        elif gan_mode == "vanilla":
            self.loss = nn.BCEWithLogitsLoss()
        elif gan_mode == "wgangp":
            self.loss = None
        else:
            raise ValueError(f"--gan_mode {gan_mode!r} is not one of: {', '.join(OFFICIAL_GAN_MODES)}"
                             f"{' (hinge: HingeLoss, or gan_loss(mode))' if gan_mode == 'hinge' else ''}")

    def forward(self, prediction, target_is_real, for_generator=False):
        """for_generator: the generator's call (the official modes use the same loss in both passes)."""
        if self.gan_mode == "wgangp":
            return -prediction.mean() if target_is_real else prediction.mean()
        target = (self.real_label if target_is_real else self.fake_label).expand_as(prediction)
        return self.loss(prediction, target.to(prediction.dtype))


class HingeLoss(nn.Module):
    """--gan_mode hinge (Lim & Ye 2017; Miyato et al. 2018): D minimises relu(1 - D(real)) + relu(1 + D(fake)),
    G minimises -D(fake) (the generator's call passes for_generator=True)."""
    gan_mode = "hinge"

    def forward(self, prediction, target_is_real, for_generator=False):
        if for_generator:
            return -prediction.mean()
        return torch.relu(1 - prediction).mean() if target_is_real else torch.relu(1 + prediction).mean()


def gan_loss(gan_mode):
    """The criterion of a --gan_mode: GANLoss for the official modes, HingeLoss for hinge."""
    return HingeLoss() if gan_mode == "hinge" else GANLoss(gan_mode)


def gradient_penalty(netD, real, fake, constant=1.0, lambda_gp=10.0):
    """WGAN-GP: lambda * (||grad D(x_hat)||_2 - constant)^2 on random interpolates of real and fake."""
    alpha = torch.rand(real.shape[0], 1, 1, 1, device=real.device, dtype=real.dtype)
    x_hat = (alpha * real.detach() + (1 - alpha) * fake.detach()).requires_grad_(True)
    out = netD(x_hat)
    grads, = torch.autograd.grad(out, x_hat, grad_outputs=torch.ones_like(out), create_graph=True)
    norms = (grads.flatten(1) + 1e-16).norm(2, dim=1)
    return ((norms - constant) ** 2).mean() * lambda_gp
