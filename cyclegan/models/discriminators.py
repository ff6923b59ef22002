"""Discriminators: the PatchGAN (basic = 3 layers, 70x70 receptive field), n_layers, and pixel (1x1) GAN;
spectral_norm=True normalises their weights (models/regularizers.py)."""
import torch.nn as nn

from .layers import get_norm_layer, init_weights, uses_bias
from .regularizers import apply_spectral_norm


class NLayerDiscriminator(nn.Module):
    """PatchGAN: stride-2 4x4 convs doubling channels (capped at 8*ndf), then two stride-1 convs."""

    def __init__(self, input_nc, ndf=64, n_layers=3, norm_layer=nn.BatchNorm2d):
        super().__init__()
        bias = uses_bias(norm_layer)
        seq = [nn.Conv2d(input_nc, ndf, kernel_size=4, stride=2, padding=1), nn.LeakyReLU(0.2, True)]
        mult = 1
        for n in range(1, n_layers + 1):
            prev, mult = mult, min(2 ** n, 8)
            stride = 2 if n < n_layers else 1
            seq += [nn.Conv2d(ndf * prev, ndf * mult, kernel_size=4, stride=stride, padding=1, bias=bias),
                    norm_layer(ndf * mult), nn.LeakyReLU(0.2, True)]
        seq.append(nn.Conv2d(ndf * mult, 1, kernel_size=4, stride=1, padding=1))
        self.model = nn.Sequential(*seq)

    def forward(self, x):
        return self.model(x)


class PixelDiscriminator(nn.Module):
    """1x1 PatchGAN: classifies each pixel as real or fake."""

    def __init__(self, input_nc, ndf=64, norm_layer=nn.BatchNorm2d):
        super().__init__()
        bias = uses_bias(norm_layer)
        self.net = nn.Sequential(
            nn.Conv2d(input_nc, ndf, kernel_size=1), nn.LeakyReLU(0.2, True),
            nn.Conv2d(ndf, ndf * 2, kernel_size=1, bias=bias), norm_layer(ndf * 2), nn.LeakyReLU(0.2, True),
            nn.Conv2d(ndf * 2, 1, kernel_size=1, bias=bias))

    def forward(self, x):
        return self.net(x)


DISCRIMINATORS = ("basic", "n_layers", "pixel")


def define_D(input_nc, ndf, netD, n_layers_D=3, norm="batch", init_type="normal", init_gain=0.02,
             spectral_norm=False):
    """Build and initialise a discriminator on the CPU: basic | n_layers | pixel."""
    norm_layer = get_norm_layer(norm)
    if netD == "basic":
        net = NLayerDiscriminator(input_nc, ndf, 3, norm_layer)
    elif netD == "n_layers":
        net = NLayerDiscriminator(input_nc, ndf, n_layers_D, norm_layer)
    elif netD == "pixel":
        net = PixelDiscriminator(input_nc, ndf, norm_layer)
    else:
        raise ValueError(f"--netD {netD!r} is not one of: {', '.join(DISCRIMINATORS)}")
    net = init_weights(net, init_type, init_gain)
    return apply_spectral_norm(net) if spectral_norm else net
