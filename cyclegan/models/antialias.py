"""Anti-aliased down- and upsampling of the CUT code (taesungp/contrastive-unpaired-translation, after
Zhang 2019, "Making Convolutional Networks Shift-Invariant Again"): a fixed binomial blur applied per channel
with stride 2 (Downsample) or as a stride-2 transposed blur (Upsample).

The blur kernel is a registered buffer named `filt`, as in the CUT code, so it is part of the state dict: a
CUT generator's file holds `model.<i>.filt` keys (shape (C, 1, k, k)), which is how cyclegan.load tells such a
generator apart (inference/arch.py). The padding layers have no weights and add no keys.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

BINOMIAL = {1: [1.0], 2: [1.0, 1.0], 3: [1.0, 2.0, 1.0], 4: [1.0, 3.0, 3.0, 1.0], 5: [1.0, 4.0, 6.0, 4.0, 1.0],
            6: [1.0, 5.0, 10.0, 10.0, 5.0, 1.0], 7: [1.0, 6.0, 15.0, 20.0, 15.0, 6.0, 1.0]}
class SlicedReplicationPad2d(nn.ReplicationPad2d):
    """ReplicationPad2d as edge slices and cat: the same values, and a backward of copies and adds. With
    torch.compile (torch 2.14, CPU) the aten replication_pad2d backward fails a stride check inside the
    generator; this form compiles."""

    def forward(self, x):
        left, right, top, bottom = self.padding
        x = torch.cat([x[..., :1].expand(*x.shape[:-1], left), x, x[..., -1:].expand(*x.shape[:-1], right)], -1)
        return torch.cat([x[..., :1, :].expand(*x.shape[:-2], top, x.shape[-1]), x,
                          x[..., -1:, :].expand(*x.shape[:-2], bottom, x.shape[-1])], -2)


PADS = {"reflect": nn.ReflectionPad2d, "refl": nn.ReflectionPad2d, "replicate": SlicedReplicationPad2d,
        "repl": SlicedReplicationPad2d, "zero": nn.ZeroPad2d}


def blur_kernel(size):
    """The normalised 2-D binomial kernel of `size` taps per side (sums to 1), as the CUT code's get_filter."""
    if size not in BINOMIAL:
        raise ValueError(f"blur kernel size {size} is not one of: {', '.join(map(str, BINOMIAL))}")
    a = torch.tensor(BINOMIAL[size], dtype=torch.float64)
    k = a[:, None] * a[None, :]
    return (k / k.sum()).float()


def _fixed(conv, filt):
    """`conv` (a bias-free depthwise Conv2d / ConvTranspose2d) with `filt` as its frozen weight (shared memory)."""
    conv.weight = nn.Parameter(filt, requires_grad=False)
    return conv


class Downsample(nn.Module):
    """Blur then keep every second pixel: pad (reflect, (k-1)/2 each side), depthwise conv with `filt`, stride 2."""

    def __init__(self, channels, pad_type="reflect", filt_size=3, stride=2):
        super().__init__()
        self.filt_size, self.stride, self.channels = filt_size, stride, channels
        lo, hi = (filt_size - 1) // 2, filt_size // 2  # the CUT code: floor and ceil of (k - 1) / 2
        self.register_buffer("filt", blur_kernel(filt_size)[None, None].repeat(channels, 1, 1, 1))
        self.pad = PADS[pad_type]((lo, hi, lo, hi))

    def forward(self, x):
        if self.filt_size == 1:
            return x[:, :, ::self.stride, ::self.stride]
        return F.conv2d(self.pad(x), self.filt.to(x.dtype), stride=self.stride, groups=x.shape[1])

    def as_layers(self):
        """(pad, conv) doing the same as forward, for the tiled runner (inference/lowering.py)."""
        k = self.filt_size
        conv = nn.Conv2d(self.channels, self.channels, k, stride=self.stride, groups=self.channels, bias=False,
                         device=self.filt.device, dtype=self.filt.dtype)
        return self.pad, _fixed(conv, self.filt)


class Upsample(nn.Module):
    """x2 by a transposed blur (kernel 4, weights x stride^2) on a replicate-padded input, cropped to 2H x 2W."""

    def __init__(self, channels, pad_type="replicate", filt_size=4, stride=2):
        super().__init__()
        self.filt_size, self.stride, self.channels = filt_size, stride, channels
        self.pad_size = (filt_size - 1) // 2
        self.register_buffer("filt", (blur_kernel(filt_size) * stride ** 2)[None, None].repeat(channels, 1, 1, 1))
        self.pad = PADS[pad_type]((1, 1, 1, 1))

    def forward(self, x):
        out = F.conv_transpose2d(self.pad(x), self.filt.to(x.dtype), stride=self.stride, padding=1 + self.pad_size,
                                 groups=x.shape[1])[:, :, 1:, 1:]
        return out if self.filt_size % 2 == 1 else out[:, :, :-1, :-1]

    def as_layers(self):
        """(pad, transposed conv) doing the same as forward for an even kernel (cropping one more pixel each
        side is one more unit of padding), for the tiled runner; None for odd kernels."""
        if self.filt_size % 2:
            return None
        k = self.filt_size
        conv = nn.ConvTranspose2d(self.channels, self.channels, k, stride=self.stride, padding=2 + self.pad_size,
                                  groups=self.channels, bias=False, device=self.filt.device, dtype=self.filt.dtype)
        return self.pad, _fixed(conv, self.filt)
