"""A generator as the short list of operations the tiled runner (tiling.py) executes: ("pad", amounts, mode),
("conv", Conv2d) without its padding, ("convT", ConvTranspose2d), ("up", factor), ("norm", InstanceNorm2d),
("point", layer, its in-place form) for pointwise layers, and Residual / Concat blocks with their bodies.
Every padding is its own operation, so each convolution's halo is explicit. Unknown layers raise NotTileable.
"""
import copy

import torch.nn as nn

from ..models.antialias import Downsample, Upsample as BlurUpsample
from ..models.cut_networks import CUTResnetGenerator
from ..models.generators import ResnetBlock, ResnetGenerator, UnetGenerator, UnetSkipConnectionBlock
from ..models.upsample import NearestUpConv
from ..nst.transformer import ResidualBlock, TransformerNet, Upsample
from .arch import SignedTransformer
from .errors import NotTileable


class Residual:
    def __init__(self, body):
        self.body = body


class Concat:
    def __init__(self, body):
        self.body = body


def lower(module):
    """The operations of `module` in order; Residual/Concat hold their own bodies."""
    if isinstance(module, (ResnetGenerator, UnetGenerator, CUTResnetGenerator)):
        return lower(module.model)
    if isinstance(module, (Downsample, BlurUpsample)):  # CUT's anti-aliasing: a pad and a fixed depthwise (T)conv
        layers = module.as_layers() if module.filt_size > 1 else None
        if layers is None:
            raise NotTileable(f"{type(module).__name__} with a {module.filt_size}-tap blur")
        return [op for layer in layers for op in lower(layer)]
    if isinstance(module, TransformerNet):  # the signed core, as SignedTransformer runs it
        return [op for part in (module.down, module.res, module.up, module.out) for op in lower(part)]
    if isinstance(module, SignedTransformer):
        return lower(module.net)
    if isinstance(module, nn.Sequential):
        return [op for child in module for op in lower(child)]
    if isinstance(module, ResnetBlock):
        return [Residual(lower(module.conv_block))]
    if isinstance(module, ResidualBlock):
        return [Residual(lower(module.body))]
    if isinstance(module, Upsample):
        return [("up", 2)] + lower(module.block)
    if isinstance(module, NearestUpConv):  # the *_nearest generators: x2 nearest, reflection pad, 3x3 conv
        return lower(module.up) + lower(module.pad) + lower(module.conv)
    if isinstance(module, UnetSkipConnectionBlock):
        return lower(module.model) if module.outermost else [Concat(lower(module.model))]
    if isinstance(module, (nn.ReflectionPad2d, nn.ReplicationPad2d, nn.ZeroPad2d)):
        mode = ("reflect" if isinstance(module, nn.ReflectionPad2d) else
                "replicate" if isinstance(module, nn.ReplicationPad2d) else "zero")
        left, right, top, bottom = module.padding
        return [("pad", (top, bottom, left, right), mode)]
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        if module.dilation != (1, 1) or (isinstance(module, nn.Conv2d) and module.padding_mode != "zeros"):
            raise NotTileable(f"{type(module).__name__} with dilation or {module.padding_mode} padding")
        if isinstance(module, nn.ConvTranspose2d):
            return [("convT", module)]
        ph, pw = module.padding
        return ([("pad", (ph, ph, pw, pw), "zero")] if ph or pw else []) + [("conv", module)]
    if isinstance(module, nn.InstanceNorm2d) and not module.track_running_stats:
        return [("norm", module)]  # FastInstanceNorm2d too: the same statistics
    if isinstance(module, nn.Upsample) and module.mode == "nearest" and module.size is None:
        factor = module.scale_factor
        if float(factor) == int(factor):
            return [("up", int(factor))]
    if isinstance(module, (nn.ReLU, nn.LeakyReLU, nn.Tanh, nn.Sigmoid, nn.Identity, nn.Dropout)) or (
            isinstance(module, (nn.BatchNorm2d, nn.InstanceNorm2d)) and not module.training):
        safe = module
        if getattr(module, "inplace", False):  # a tile may be a view of a stored tensor: only fresh ones in place
            safe = copy.copy(module)
            safe.inplace = False
        return [("point", safe, module)]  # eval-mode batch norm uses its running statistics: pointwise
    raise NotTileable(f"{type(module).__name__} layers cannot be run in tiles")


def tileable(net):
    """None when `net` can run in tiles, else why not (one line)."""
    try:
        lower(net)
        return None
    except NotTileable as e:
        return str(e)
