"""Generators: ResNet (6/9 blocks) and U-Net (128/256), laid out so state-dict keys match the official ones;
the `*_nearest` names upsample by nearest resize + conv instead of transposed convs (models/upsample.py); the
`mobile_resnet_*` names are the ResNet layout with depthwise-separable residual blocks (GAN Compression's
MobileResnetGenerator), small and cheap enough for real-time CPU inference (cyclegan-distill, docs/distill.md)."""
import torch
import torch.nn as nn

from .layers import get_norm_layer, init_weights, uses_bias
from .upsample import SUFFIX as NEAREST, split_name


class ResnetBlock(nn.Module):
    """Two 3x3 convs with a skip connection; `conv_block` indices match the official checkpoints."""

    def __init__(self, dim, padding_type, norm_layer, use_dropout, use_bias):
        super().__init__()
        layers = []
        for i in range(2):
            p = 0
            if padding_type == "reflect":
                layers.append(nn.ReflectionPad2d(1))
            elif padding_type == "replicate":
                layers.append(nn.ReplicationPad2d(1))
            elif padding_type == "zero":
                p = 1
            else:
                raise ValueError(f"padding {padding_type!r} is not one of: reflect, replicate, zero")
            layers += [nn.Conv2d(dim, dim, kernel_size=3, padding=p, bias=use_bias), norm_layer(dim)]
            if i == 0:
                layers.append(nn.ReLU(True))
                if use_dropout:
                    layers.append(nn.Dropout(0.5))
        self.conv_block = nn.Sequential(*layers)

    def forward(self, x):
        return x + self.conv_block(x)


_PADS = {"reflect": (nn.ReflectionPad2d, 0), "replicate": (nn.ReplicationPad2d, 0), "zero": (None, 1)}


class MobileResnetBlock(ResnetBlock):
    """ResnetBlock with each 3x3 conv made depthwise-separable (3x3 depthwise, then 1x1 pointwise), as GAN
    Compression's MobileResnetBlock: ~dim/9 fewer weights and MACs per block. A ResnetBlock subclass so that
    everything that runs residual blocks (the tiled runner's lowering) takes it as it is."""

    def __init__(self, dim, padding_type, norm_layer, use_dropout, use_bias):
        nn.Module.__init__(self)
        layers = []
        for i in range(2):
            if padding_type not in _PADS:
                raise ValueError(f"padding {padding_type!r} is not one of: reflect, replicate, zero")
            pad, p = _PADS[padding_type]
            layers += ([pad(1)] if pad else []) + [
                nn.Conv2d(dim, dim, kernel_size=3, padding=p, groups=dim, bias=use_bias),  # depthwise
                nn.Conv2d(dim, dim, kernel_size=1, bias=use_bias), norm_layer(dim)]  # pointwise
            if i == 0:
                layers.append(nn.ReLU(True))
                if use_dropout:
                    layers.append(nn.Dropout(0.5))
        self.conv_block = nn.Sequential(*layers)


class ResnetGenerator(nn.Module):
    """c7s1-ngf, two stride-2 downsamplings, n_blocks residual blocks, two upsamplings, c7s1-3, tanh.
    block: the residual block class (ResnetBlock, or MobileResnetBlock for the mobile_resnet_* generators)."""

    def __init__(self, input_nc, output_nc, ngf=64, norm_layer=nn.BatchNorm2d, use_dropout=False,
                 n_blocks=6, padding_type="reflect", up=None, block=ResnetBlock):
        super().__init__()
        bias = uses_bias(norm_layer)
        model = [nn.ReflectionPad2d(3), nn.Conv2d(input_nc, ngf, kernel_size=7, padding=0, bias=bias),
                 norm_layer(ngf), nn.ReLU(True)]
        for i in range(2):
            mult = 2 ** i
            model += [nn.Conv2d(ngf * mult, ngf * mult * 2, kernel_size=3, stride=2, padding=1, bias=bias),
                      norm_layer(ngf * mult * 2), nn.ReLU(True)]
        model += [block(ngf * 4, padding_type, norm_layer, use_dropout, bias) for _ in range(n_blocks)]
        for i in range(2):
            mult = 2 ** (2 - i)
            model += [up(ngf * mult, ngf * mult // 2, bias) if up else
                      nn.ConvTranspose2d(ngf * mult, ngf * mult // 2, kernel_size=3, stride=2, padding=1,
                                         output_padding=1, bias=bias),
                      norm_layer(ngf * mult // 2), nn.ReLU(True)]
        model += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, output_nc, kernel_size=7, padding=0), nn.Tanh()]
        self.model = nn.Sequential(*model)

    def forward(self, x):
        return self.model(x)


class UnetSkipConnectionBlock(nn.Module):
    """One U-Net level: down, the inner levels, up, and a skip concatenation (except outermost)."""

    def __init__(self, outer_nc, inner_nc, input_nc=None, submodule=None, outermost=False,
                 innermost=False, norm_layer=nn.BatchNorm2d, use_dropout=False, up=None):
        super().__init__()
        self.outermost = outermost
        bias = uses_bias(norm_layer)

        def upconv(in_nc, bias=bias):
            if up:
                return up(in_nc, outer_nc, bias)
            return nn.ConvTranspose2d(in_nc, outer_nc, kernel_size=4, stride=2, padding=1, bias=bias)
        input_nc = outer_nc if input_nc is None else input_nc
        downconv = nn.Conv2d(input_nc, inner_nc, kernel_size=4, stride=2, padding=1, bias=bias)
        if outermost:
            model = [downconv, submodule, nn.ReLU(True), upconv(inner_nc * 2, True), nn.Tanh()]
        elif innermost:
            model = [nn.LeakyReLU(0.2, True), downconv, nn.ReLU(True), upconv(inner_nc), norm_layer(outer_nc)]
        else:
            model = [nn.LeakyReLU(0.2, True), downconv, norm_layer(inner_nc), submodule,
                     nn.ReLU(True), upconv(inner_nc * 2), norm_layer(outer_nc)]
            if use_dropout:
                model.append(nn.Dropout(0.5))
        self.model = nn.Sequential(*model)

    def forward(self, x):
        return self.model(x) if self.outermost else torch.cat([x, self.model(x)], 1)


class UnetGenerator(nn.Module):
    """U-Net with num_downs halvings (7 for 128 px, 8 for 256 px), built from the innermost level out."""

    def __init__(self, input_nc, output_nc, num_downs, ngf=64, norm_layer=nn.BatchNorm2d, use_dropout=False,
                 up=None):
        super().__init__()
        block = UnetSkipConnectionBlock(ngf * 8, ngf * 8, norm_layer=norm_layer, innermost=True, up=up)
        for _ in range(num_downs - 5):
            block = UnetSkipConnectionBlock(ngf * 8, ngf * 8, submodule=block, norm_layer=norm_layer,
                                            use_dropout=use_dropout, up=up)
        for mult in (4, 2, 1):
            block = UnetSkipConnectionBlock(ngf * mult, ngf * mult * 2, submodule=block, norm_layer=norm_layer, up=up)
        self.model = UnetSkipConnectionBlock(output_nc, ngf, input_nc=input_nc, submodule=block,
                                             outermost=True, norm_layer=norm_layer, up=up)

    def forward(self, x):
        return self.model(x)


OFFICIAL_GENERATORS = ("resnet_9blocks", "resnet_6blocks", "unet_256", "unet_128")
# depthwise-separable students for CPUs (cyclegan-distill): name -> residual blocks
MOBILE_GENERATORS = {"mobile_resnet_9blocks": 9, "mobile_resnet_6blocks": 6, "mobile_resnet_3blocks": 3}
GENERATORS = OFFICIAL_GENERATORS + tuple(name + NEAREST for name in OFFICIAL_GENERATORS) + tuple(MOBILE_GENERATORS)


def define_G(input_nc, output_nc, ngf, netG, norm="batch", use_dropout=False, init_type="normal",
             init_gain=0.02):
    """Build and initialise a generator on the CPU: resnet_9blocks | resnet_6blocks | unet_256 | unet_128, each
    also as *_nearest (nearest-neighbour upsampling + conv), and mobile_resnet_{9,6,3}blocks."""
    norm_layer = get_norm_layer(norm)
    base, up = split_name(netG)
    if base == "resnet_9blocks":
        net = ResnetGenerator(input_nc, output_nc, ngf, norm_layer, use_dropout, n_blocks=9, up=up)
    elif base == "resnet_6blocks":
        net = ResnetGenerator(input_nc, output_nc, ngf, norm_layer, use_dropout, n_blocks=6, up=up)
    elif netG in MOBILE_GENERATORS:
        net = ResnetGenerator(input_nc, output_nc, ngf, norm_layer, use_dropout, n_blocks=MOBILE_GENERATORS[netG],
                              block=MobileResnetBlock)
    elif base == "unet_128":
        net = UnetGenerator(input_nc, output_nc, 7, ngf, norm_layer, use_dropout, up=up)
    elif base == "unet_256":
        net = UnetGenerator(input_nc, output_nc, 8, ngf, norm_layer, use_dropout, up=up)
    else:
        raise ValueError(f"--netG {netG!r} is not one of: {', '.join(GENERATORS)}")
    return init_weights(net, init_type, init_gain)
