"""The networks of CUT / FastCUT (Park et al. 2020; taesungp/contrastive-unpaired-translation), laid out so
their state-dict keys are the CUT code's: a ResNet generator whose stride-2 convs and transposed convs are
replaced by stride-1 convs with anti-aliased Downsample/Upsample layers (models/antialias.py; --no_antialias and
--no_antialias_up restore them, and with both the keys are the official CycleGAN generator's), the PatchGAN
discriminator with the same anti-aliasing, and PatchSampleF, the patch sampler with one two-layer MLP per
NCE layer.

The CUT code creates the sampler's MLPs on the first forward, from the feature shapes it sees; here they are
built at construction from the generator's channel counts at the --nce_layers (feature_channels), so the
optimizer, the checkpoints and an exact resume see them from the start.
"""
import numpy as np
import torch
import torch.nn as nn

from ..errors import SettingError
from .antialias import Downsample, Upsample
from .generators import ResnetBlock
from .layers import get_norm_layer, init_weights, uses_bias

CUT_GENERATORS = {"resnet_9blocks": 9, "resnet_6blocks": 6, "resnet_4blocks": 4}
CUT_SAMPLERS = ("mlp_sample", "sample")


class CUTResnetGenerator(nn.Module):
    """c7s1-ngf, two downsamplings (anti-aliased: conv s1, norm, ReLU, blur-pool), n_blocks residual blocks, two
    upsamplings (anti-aliased: blur-upsample, conv s1, norm, ReLU), c7s1-output_nc, tanh. forward(x, layers,
    encode_only=True) returns the outputs of the listed layer indices of `model` (PatchNCE's features)."""

    def __init__(self, input_nc, output_nc, ngf=64, norm_layer=nn.InstanceNorm2d, use_dropout=False, n_blocks=9,
                 padding_type="reflect", no_antialias=False, no_antialias_up=False):
        super().__init__()
        bias = uses_bias(norm_layer)
        model = [nn.ReflectionPad2d(3), nn.Conv2d(input_nc, ngf, kernel_size=7, padding=0, bias=bias),
                 norm_layer(ngf), nn.ReLU(True)]
        for i in range(2):
            c = ngf * 2 ** i
            if no_antialias:
                model += [nn.Conv2d(c, c * 2, kernel_size=3, stride=2, padding=1, bias=bias), norm_layer(c * 2),
                          nn.ReLU(True)]
            else:
                model += [nn.Conv2d(c, c * 2, kernel_size=3, stride=1, padding=1, bias=bias), norm_layer(c * 2),
                          nn.ReLU(True), Downsample(c * 2)]
        model += [ResnetBlock(ngf * 4, padding_type, norm_layer, use_dropout, bias) for _ in range(n_blocks)]
        for i in range(2):
            c = ngf * 2 ** (2 - i)
            if no_antialias_up:
                model += [nn.ConvTranspose2d(c, c // 2, kernel_size=3, stride=2, padding=1, output_padding=1,
                                             bias=bias), norm_layer(c // 2), nn.ReLU(True)]
            else:
                model += [Upsample(c), nn.Conv2d(c, c // 2, kernel_size=3, stride=1, padding=1, bias=bias),
                          norm_layer(c // 2), nn.ReLU(True)]
        model += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, output_nc, kernel_size=7, padding=0), nn.Tanh()]
        self.model = nn.Sequential(*model)
        self.input_nc = input_nc

    def forward(self, x, layers=None, encode_only=False):
        if not layers:
            return self.model(x)
        feats, last = [], max(layers)
        for i, layer in enumerate(self.model):
            x = layer(x)
            if i in layers:
                feats.append(x)
            if encode_only and i == last:
                return feats
        return x, feats

    def feature_channels(self, layers):
        """The channel count of the output of each layer index in `layers` (for building PatchSampleF)."""
        if max(layers) >= len(self.model) or min(layers) < 0:
            raise SettingError(f"--nce_layers {','.join(map(str, layers))}: this generator has layers 0 to "
                               f"{len(self.model) - 1}")
        channels, out = self.input_nc, {}
        for i, layer in enumerate(self.model):
            if isinstance(layer, (nn.Conv2d, nn.ConvTranspose2d)):
                channels = layer.out_channels
            out[i] = channels
        return [out[i] for i in layers]


def define_cut_G(input_nc, output_nc, ngf, netG, norm="instance", use_dropout=False, init_type="xavier",
                 init_gain=0.02, no_antialias=False, no_antialias_up=False):
    """Build and initialise a CUT generator on the CPU: resnet_9blocks | resnet_6blocks | resnet_4blocks."""
    if netG not in CUT_GENERATORS:
        raise SettingError(f"--netG {netG!r}: --model cut trains one of: {', '.join(CUT_GENERATORS)}")
    net = CUTResnetGenerator(input_nc, output_nc, ngf, get_norm_layer(norm), use_dropout, CUT_GENERATORS[netG],
                             no_antialias=no_antialias, no_antialias_up=no_antialias_up)
    return init_weights(net, init_type, init_gain)


class CUTDiscriminator(nn.Module):
    """The CUT code's PatchGAN: as the official one, but each stride-2 conv is a stride-1 conv followed (after its
    norm and LeakyReLU) by an anti-aliased Downsample unless no_antialias."""

    def __init__(self, input_nc, ndf=64, n_layers=3, norm_layer=nn.InstanceNorm2d, no_antialias=False):
        super().__init__()
        bias = uses_bias(norm_layer)
        if no_antialias:
            seq = [nn.Conv2d(input_nc, ndf, kernel_size=4, stride=2, padding=1), nn.LeakyReLU(0.2, True)]
        else:
            seq = [nn.Conv2d(input_nc, ndf, kernel_size=4, stride=1, padding=1), nn.LeakyReLU(0.2, True),
                   Downsample(ndf)]
        mult = 1
        for n in range(1, n_layers):
            prev, mult = mult, min(2 ** n, 8)
            if no_antialias:
                seq += [nn.Conv2d(ndf * prev, ndf * mult, kernel_size=4, stride=2, padding=1, bias=bias),
                        norm_layer(ndf * mult), nn.LeakyReLU(0.2, True)]
            else:
                seq += [nn.Conv2d(ndf * prev, ndf * mult, kernel_size=4, stride=1, padding=1, bias=bias),
                        norm_layer(ndf * mult), nn.LeakyReLU(0.2, True), Downsample(ndf * mult)]
        prev, mult = mult, min(2 ** n_layers, 8)
        seq += [nn.Conv2d(ndf * prev, ndf * mult, kernel_size=4, stride=1, padding=1, bias=bias),
                norm_layer(ndf * mult), nn.LeakyReLU(0.2, True),
                nn.Conv2d(ndf * mult, 1, kernel_size=4, stride=1, padding=1)]
        self.model = nn.Sequential(*seq)

    def forward(self, x):
        return self.model(x)


def define_cut_D(input_nc, ndf, netD, n_layers_D=3, norm="instance", init_type="xavier", init_gain=0.02,
                 no_antialias=False):
    """Build and initialise the CUT code's discriminator: basic (3 layers) | n_layers (--n_layers_D)."""
    if netD not in ("basic", "n_layers"):
        raise SettingError(f"--netD {netD!r}: --model cut trains basic or n_layers")
    net = CUTDiscriminator(input_nc, ndf, 3 if netD == "basic" else n_layers_D, get_norm_layer(norm), no_antialias)
    return init_weights(net, init_type, init_gain)


class Normalize(nn.Module):
    """L2 normalisation over dim 1, with the CUT code's epsilon. The norm is torch.linalg.vector_norm, whose
    gradient at an all-zero vector is 0; the CUT code's x.pow(2).sum().pow(0.5) gives NaN there (an MLP output of
    zeros, after its ReLU, which small --netF_nc makes likely)."""

    def forward(self, x):
        return x / (torch.linalg.vector_norm(x, 2, dim=1, keepdim=True) + 1e-7)


class PatchSampleF(nn.Module):
    """Sample num_patches positions of each feature map (the same positions for every image of the batch), pass
    each through its layer's MLP (Linear, ReLU, Linear to nc; mlp_0, mlp_1, ... as in the CUT code) when use_mlp,
    and L2-normalise. forward(feats, num_patches, patch_ids) -> (samples, ids); the ids of the source's call
    are passed to the output's call so both sample the same positions."""

    def __init__(self, channels, use_mlp=True, nc=256):
        super().__init__()
        self.use_mlp, self.nc, self.l2norm = use_mlp, nc, Normalize()
        if use_mlp:
            for i, c in enumerate(channels):
                setattr(self, f"mlp_{i}", nn.Sequential(nn.Linear(c, nc), nn.ReLU(), nn.Linear(nc, nc)))

    def forward(self, feats, num_patches=64, patch_ids=None):
        samples, ids = [], []
        for i, feat in enumerate(feats):
            flat = feat.permute(0, 2, 3, 1).flatten(1, 2)  # (B, H*W, C)
            if num_patches > 0:
                if patch_ids is not None:
                    pid = patch_ids[i]
                else:  # numpy's generator, as the CUT code (part of the saved RNG state, so resumes repeat it)
                    pid = np.random.permutation(flat.shape[1])[:min(num_patches, flat.shape[1])]
                    pid = torch.as_tensor(pid, dtype=torch.long, device=feat.device)
                x = flat[:, pid, :].flatten(0, 1)
            else:
                pid, x = None, flat.flatten(0, 1)
            if self.use_mlp:
                x = getattr(self, f"mlp_{i}")(x)
            samples.append(self.l2norm(x))
            ids.append(pid)
        return samples, ids


def define_F(channels, netF, nc=256, init_type="xavier", init_gain=0.02):
    """The patch sampler: mlp_sample (MLP per layer) | sample (no weights), initialised as the CUT code does."""
    if netF not in CUT_SAMPLERS:
        raise SettingError(f"--netF {netF!r} is not one of: {', '.join(CUT_SAMPLERS)}")
    return init_weights(PatchSampleF(channels, use_mlp=netF == "mlp_sample", nc=nc), init_type, init_gain)
