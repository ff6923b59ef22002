"""Upsampling without checkerboards (Odena et al. 2016, "Deconvolution and Checkerboard Artifacts"): x2
nearest-neighbour resize then a 3x3 convolution, in place of the generators' stride-2 transposed convs,
whose uneven kernel overlap paints a regular grid. Chosen by the `--netG *_nearest` names (new state-dict
keys, so official checkpoints still load into the official names)."""
import torch.nn as nn

SUFFIX = "_nearest"


class NearestUpConv(nn.Module):
    """Upsample(x2, nearest) -> ReflectionPad2d(1) -> Conv2d(3x3): the shape of a stride-2 transposed conv."""

    def __init__(self, in_nc, out_nc, bias=True):
        super().__init__()
        self.up = nn.Upsample(scale_factor=2, mode="nearest")
        self.pad = nn.ReflectionPad2d(1)
        self.conv = nn.Conv2d(in_nc, out_nc, kernel_size=3, padding=0, bias=bias)

    def forward(self, x):
        return self.conv(self.pad(self.up(x)))


def split_name(netG):
    """'resnet_9blocks_nearest' -> ('resnet_9blocks', NearestUpConv); 'resnet_9blocks' -> (it, None)."""
    if netG.endswith(SUFFIX):
        return netG[:-len(SUFFIX)], NearestUpConv
    return netG, None
