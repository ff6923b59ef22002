"""The fast neural style network (Johnson, Alahi & Fei-Fei 2016, instance norm as in Ulyanov et al. 2016).

A 9x9 stride-1 conv, two stride-2 downsampling convs, `n_res` residual blocks, two x2 nearest
upsamplings each followed by a conv (resize-then-conv instead of transposed convs: no checkerboard
artefacts, Odena et al. 2016) and a 9x9 output conv. Reflection padding, affine instance norm.
Images go in and come out as (N, 3, H, W) in [0, 1]; any H and W work (reflection-padded to a
multiple of 4 and cropped back), so the output always has the input's size.
"""
import torch
import torch.nn.functional as F
from torch import nn


def _conv(cin, cout, k, stride=1):
    return nn.Sequential(nn.ReflectionPad2d(k // 2), nn.Conv2d(cin, cout, k, stride))


def _block(cin, cout, k, stride=1, relu=True):
    layers = [_conv(cin, cout, k, stride), nn.InstanceNorm2d(cout, affine=True)]
    return nn.Sequential(*layers, nn.ReLU(inplace=True)) if relu else nn.Sequential(*layers)


class ResidualBlock(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.body = nn.Sequential(_block(c, c, 3), _block(c, c, 3, relu=False))

    def forward(self, x):
        return x + self.body(x)


class Upsample(nn.Module):
    """x2 nearest-neighbour resize, then conv + instance norm + ReLU."""

    def __init__(self, cin, cout):
        super().__init__()
        self.block = _block(cin, cout, 3)

    def forward(self, x):
        return self.block(F.interpolate(x, scale_factor=2, mode="nearest"))


class TransformerNet(nn.Module):
    """Image transformation network; `ngf` channels at full resolution (Johnson et al.: 32), `n_res` blocks (5)."""

    def __init__(self, ngf=32, n_res=5):
        super().__init__()
        if ngf < 1 or n_res < 0:
            raise ValueError(f"ngf must be positive and n_res non-negative, got ngf={ngf}, n_res={n_res}")
        self.ngf, self.n_res = ngf, n_res
        self.down = nn.Sequential(_block(3, ngf, 9), _block(ngf, 2 * ngf, 3, 2), _block(2 * ngf, 4 * ngf, 3, 2))
        self.res = nn.Sequential(*[ResidualBlock(4 * ngf) for _ in range(n_res)])
        self.up = nn.Sequential(Upsample(4 * ngf, 2 * ngf), Upsample(2 * ngf, ngf))
        self.out = _conv(ngf, 3, 9)

    def forward(self, x):
        """(N, 3, H, W) in [0, 1] -> (N, 3, H, W), unclamped (the loss sees the raw output; see stylize)."""
        h, w = x.shape[-2:]
        y = self.signed(pad_to_multiple(x, 4) * 2 - 1)
        return (y[..., :h, :w] + 1) / 2

    def signed(self, x):
        """The network itself: (N, 3, H, W) in [-1, 1], H and W multiples of 4 -> [-1, 1] (unclamped)."""
        return self.out(self.up(self.res(self.down(x))))


def pad_to_multiple(x, m):
    """Pad (N, C, H, W) at the bottom and right to multiples of `m` (reflection; replicate for tiny images).
    Crop the result back with [..., :H, :W]."""
    h, w = x.shape[-2:]
    ph, pw = (-h) % m, (-w) % m
    if not (ph or pw):
        return x
    return F.pad(x, (0, pw, 0, ph), mode="reflect" if ph < h and pw < w else "replicate")


def arch_of(state_dict):
    """(ngf, n_res) of a TransformerNet state dict, read from its tensor shapes and names."""
    try:
        ngf = state_dict["down.0.0.1.weight"].shape[0]
    except KeyError:
        raise ValueError("not a fast-NST transformer state dict (no down.0.0.1.weight)") from None
    blocks = {k.split(".")[1] for k in state_dict if k.startswith("res.")}
    return int(ngf), len(blocks)


def from_state_dict(state_dict, source="state dict"):
    """A TransformerNet built to the shapes in `state_dict`, with its weights loaded (eval mode)."""
    try:
        ngf, n_res = arch_of(state_dict)
        net = TransformerNet(ngf, n_res)
        net.load_state_dict(state_dict)
    except (ValueError, RuntimeError) as e:
        raise ValueError(f"{source}: not a fast-NST transformer ({str(e).splitlines()[0]})") from None
    return net.eval()


@torch.no_grad()
def stylize(net, images, amp_dtype=None, memory_format=torch.contiguous_format):
    """Stylise a batch (N, 3, H, W) in [0, 1] on the net's device; returns a float32 batch on the CPU."""
    device = next(net.parameters()).device
    x = images.to(device, torch.float32).contiguous(memory_format=memory_format)
    with torch.autocast(device.type, dtype=amp_dtype, enabled=amp_dtype is not None):
        y = net(x)
    return y.float().clamp(0, 1).cpu()
