"""Discriminator regularisers: spectral normalisation (--spectral_norm, Miyato et al. 2018) and the R1
penalty on real inputs (--lambda_r1 GAMMA, Mescheder et al. 2018), lazily every --r1_every steps (StyleGAN2).

Spectral norm divides every conv weight of D by its largest singular value, estimated by one power iteration
per forward call in training mode (so D's batched passes, one call on [real; fake], run one iteration where
the official call order runs two). Its state-dict keys differ from a plain D's; D weights are only read
back by a resume, which builds the same D.

R1 = GAMMA / 2 * mean over images of ||grad_x mean_patches D(x)||^2 at real x: D's output map is averaged
per image (the GAN losses average it too). Lazy: computed on every K-th step and weighted by K, the same
expected penalty at a fraction of the double-backward cost.
"""
import torch
import torch.nn as nn
from torch.nn.utils.parametrizations import spectral_norm


def apply_spectral_norm(net):
    """Spectral norm on every Conv2d / Linear weight of `net`, in place; returns net."""
    for module in list(net.modules()):
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            spectral_norm(module)
    return net


class R1:
    """Lazy R1 penalty: due() on steps 0, every, 2 * every, ...; penalty() already weighted by `every`."""

    def __init__(self, gamma, every=1):
        if gamma <= 0 or every < 1:
            raise ValueError(f"--lambda_r1 {gamma} --r1_every {every}: need a positive weight and every >= 1")
        self.gamma, self.every = float(gamma), int(every)

    def due(self, step):
        return step % self.every == 0

    def penalty(self, pred_real, real):
        """pred_real = D(real) with real.requires_grad; keeps the graph for D's backward."""
        score = pred_real.float().flatten(1).mean(1).sum()
        grad, = torch.autograd.grad(score, real, create_graph=True)
        return grad.float().pow(2).flatten(1).sum(1).mean() * (self.gamma / 2 * self.every)
