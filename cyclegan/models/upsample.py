"""Upsampling without checkerboards (Odena et al. 2016, "Deconvolution and Checkerboard Artifacts"). The
generators' stride-2 transposed convs give output pixels uneven numbers of kernel taps, which paints a
regular grid. Two remedies:
  --netG *_nearest            x2 nearest-neighbour resize then a 3x3 conv in their place (new state-dict keys,
                              so official checkpoints still load into the official names);
  --upsample_init bilinear    keep the transposed convs (official layout and files) but start them as
                              bilinear upsampling times a random channel mix, so training starts grid-free.
"""
import torch
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


def bilinear_kernel(k):
    """1-D weights that make a stride-2 transposed conv of kernel k (padding as the generators use) a linear
    interpolation: [0.5, 1, 0.5] for k = 3, [0.25, 0.75, 0.75, 0.25] for k = 4."""
    factor = (k + 1) // 2
    center = factor - 1 if k % 2 == 1 else factor - 0.5
    return torch.tensor([1 - abs(i - center) / factor for i in range(k)])


@torch.no_grad()
def bilinear_init_(net, gain=0.02):
    """--upsample_init bilinear: every stride-2 ConvTranspose2d of `net` starts as a bilinear x2 upsampling
    followed by a random channel mix (N(0, gain), as the normal init): every output pixel gets the same total
    weight, so the untrained generator paints no checkerboard, while the layer, its state-dict keys and its
    file format stay the official ones (the official code loads the result)."""
    for m in net.modules():
        if isinstance(m, nn.ConvTranspose2d) and m.stride == (2, 2):
            kh, kw = m.kernel_size
            kernel = torch.outer(bilinear_kernel(kh), bilinear_kernel(kw)).to(m.weight)
            mix = torch.randn(m.weight.shape[:2], device=m.weight.device, dtype=m.weight.dtype) * gain
            m.weight.copy_(mix[:, :, None, None] * kernel)
    return net
