"""A discriminator on the teacher's domain (--lambda_gan): a PatchGAN (the official `basic` D, --ndf) learns to tell
real images of the domain the teacher translates INTO (the paintings: DATAROOT/train{other domain}, or
--real_dir) from the student's outputs, and the student gets its lsgan term beside the L1 to the teacher, as GAN
Compression trains its students. The teacher's outputs are the pixel targets either way; the D only adds what the
L1 blurs away (texture), and is saved in the run's full state only."""
import torch

from ..models.discriminators import define_D
from ..models.losses import GANLoss


class Adversary:
    """The D, its optimiser, the real-image sampler and both halves of the lsgan step."""

    def __init__(self, sampler, input_nc, ndf, lr, device):
        self.sampler = sampler
        self.net = define_D(input_nc, ndf, "basic", norm="instance", init_type="normal", init_gain=0.02).to(device)
        self.optimizer = torch.optim.Adam(self.net.parameters(), lr=lr, betas=(0.5, 0.999))
        self.criterion = GANLoss("lsgan").to(device)
        self.device = device

    def generator_loss(self, fake):
        """The student's term: D should call its outputs real (D's weights get no gradient from it)."""
        for p in self.net.parameters():
            p.requires_grad_(False)
        loss = self.criterion(self.net(fake.float()), True)
        for p in self.net.parameters():
            p.requires_grad_(True)
        return loss

    def step(self, fake, iteration):
        """One D update on a batch of real images (a pure function of the iteration) against the detached
        student outputs; returns the D loss (a tensor, not synced)."""
        real = self.sampler.batch(iteration).to(self.device) * 2 - 1
        loss = 0.5 * (self.criterion(self.net(real), True) + self.criterion(self.net(fake.detach().float()), False))
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        return loss.detach()
