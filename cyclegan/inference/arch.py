"""What network a weights file holds, read from its state dict's keys and shapes (a CycleGAN generator of
the official layout: netG, ngf, norm, dropout, channels; a CUT generator, whose anti-aliasing layers save their
blur kernels as `model.<i>.filt`; or a fast-NST transformer), and building it.

The candidates are built on the meta device (no memory, no initialisation cost) and the one whose key set
and tensor shapes equal the file's is the answer, so every generator registered in GENERATORS is
recognised without a rule per architecture. Dropout has no weights: in U-Nets it changes no key (and does
nothing at eval), in ResNet blocks it shifts the layer indices, which tells it apart.
"""
import itertools

import torch
import torch.nn as nn

from ..models.weights import load_official_state_dict
from ..models.cut_networks import CUT_GENERATORS, define_cut_G
from ..models.generators import GENERATORS, MOBILE_GENERATORS, UnetSkipConnectionBlock, define_G
from ..models.layers import NORM_TYPES
from ..models.upsample import SUFFIX as NEAREST
from ..nst.transformer import arch_of, from_state_dict
from .errors import ModelFileError

STALE_NORM_KEYS = ("running_mean", "running_var", "num_batches_tracked")  # pre-0.4 instance norm checkpoints


def shapes(state_dict):
    return {k: tuple(v.shape) for k, v in state_dict.items()}


def _meta_generator(arch):
    with torch.device("meta"):
        if "no_antialias" in arch:
            return _cut_generator(arch)
        return define_G(arch["input_nc"], arch["output_nc"], arch["ngf"], arch["netG"], arch["norm"],
                        not arch["no_dropout"], "normal", 0.02)


def _fits(net, got):
    """Whether a state dict with shapes `got` loads into net (instance-norm running stats of old files aside)."""
    want = shapes(net.state_dict())
    norms = {name for name, m in net.named_modules() if isinstance(m, nn.InstanceNorm2d) and not m.track_running_stats}
    extra = {k for k in got.keys() - want.keys() if k.rpartition(".")[0] in norms and k.rpartition(".")[2] in STALE_NORM_KEYS}
    return {k: v for k, v in got.items() if k not in extra} == want


def _channel_guesses(got):
    """(ngf, input_nc) candidates from the first convolution's weight."""
    for key in ("model.1.weight", "model.model.0.weight"):  # ResNet: after the reflection pad; U-Net: outermost
        if key in got and len(got[key]) == 4:
            return [(got[key][0], got[key][1])]
    return []


def _depthwise_blocks(got):
    """Whether the residual blocks hold depthwise convs (weights (C, 1, 3, 3)): the mobile_resnet_* students."""
    return any(".conv_block." in k and len(shape) == 4 and shape[1] == 1 and shape[2:] == (3, 3)
               for k, shape in got.items())


def _cut_generator(arch, init_type="normal"):
    return define_cut_G(arch["input_nc"], arch["output_nc"], arch["ngf"], arch["netG"], arch["norm"],
                        not arch["no_dropout"], init_type, 0.02, arch["no_antialias"], arch["no_antialias_up"])


def infer_cut_arch(got, hint=None):
    """The CUT generator arch (the official keys plus no_antialias, no_antialias_up) that shapes `got` fit, or
    None. The blur kernels tell the sampling: 3x3 `filt` buffers are the anti-aliased downsamplings, 4x4 ones
    the upsamplings; the residual blocks' indices tell netG. Only norm, dropout and output_nc are tried."""
    guesses = _channel_guesses(got)
    if not guesses:
        return None
    ngf, input_nc = guesses[0]
    hint = hint or {}
    filts = [shape[-1] for key, shape in got.items() if key.endswith(".filt") and len(shape) == 4]
    blocks = len({key.split(".")[1] for key in got if ".conv_block." in key})
    netGs = [g for g, n in CUT_GENERATORS.items() if n == blocks]
    norms = sorted((n for n in NORM_TYPES if n != "sync_batch"), key=lambda n: n != hint.get("norm"))
    for netG, norm, no_dropout, output_nc in itertools.product(netGs, norms, (True, False),
                                                               dict.fromkeys((input_nc, 3, 1))):
        arch = dict(netG=netG, ngf=ngf, norm=norm, no_dropout=no_dropout, input_nc=input_nc, output_nc=output_nc,
                    no_antialias=3 not in filts, no_antialias_up=4 not in filts)
        if _fits(_meta_generator(arch), got):
            return arch
    return None


def infer_generator_arch(state_dict, hint=None):
    """The official generator arch dict (netG, ngf, norm, no_dropout, input_nc, output_nc) that `state_dict`
    fits, or None. `hint`: known values (saved options, typed flags) tried first; one that does not fit is
    ignored here (the caller reports the mismatch)."""
    got = shapes(state_dict)
    guesses = _channel_guesses(got)
    if not guesses:
        return None
    ngf, input_nc = guesses[0]
    hint = hint or {}
    # only the family the keys show (U-Net or ResNet; *_nearest: NearestUpConv's "<i>.conv.weight"): each
    # candidate built costs a second or more
    family = "unet" if "model.model.0.weight" in got else "resnet"
    nearest = any(k.endswith(".conv.weight") for k in got)
    netGs = sorted((g for g in GENERATORS if g.startswith(family) and g.endswith(NEAREST) == nearest),
                   key=lambda g: g != hint.get("netG"))
    if _depthwise_blocks(got):  # mobile_resnet_*: one candidate, told by the number of residual blocks
        blocks = len({key.split(".")[1] for key in got if ".conv_block." in key})
        netGs = [g for g, n in MOBILE_GENERATORS.items() if n == blocks]
    norms = sorted(NORM_TYPES, key=lambda n: n != hint.get("norm"))
    for netG, norm, no_dropout, output_nc in itertools.product(netGs, norms, (True, False),
                                                               dict.fromkeys((input_nc, 3, 1))):
        if norm == "sync_batch":  # same weights as batch; eval on one device is batch norm
            continue
        arch = dict(netG=netG, ngf=ngf, norm=norm, no_dropout=no_dropout, input_nc=input_nc, output_nc=output_nc)
        if _fits(_meta_generator(arch), got):
            return arch
    return None


def describe_arch(arch):
    """'resnet_9blocks, ngf 64, instance norm' and the like."""
    if arch.get("kind") == "fast_nst":
        return f"fast-NST transformer, ngf {arch['ngf']}, {arch['n_res']} residual blocks"
    nc = "" if (arch["input_nc"], arch["output_nc"]) == (3, 3) else f", {arch['input_nc']}->{arch['output_nc']} channels"
    aa = ""
    if "no_antialias" in arch:
        sampling = [what for what, off in (("down", arch["no_antialias"]), ("up", arch["no_antialias_up"])) if not off]
        aa = f", anti-aliased {' and '.join(sampling)}sampling" if sampling else ""
        return f"CUT generator {arch['netG']}, ngf {arch['ngf']}, {arch['norm']} norm{aa}{nc}"
    return f"{arch['netG']}, ngf {arch['ngf']}, {arch['norm']} norm{nc}"


def identify(state_dict, path, hint=None):
    """{'kind': 'cyclegan' | 'cut' | 'fast_nst', ...arch} for the weights in `path`; ModelFileError when they are
    none of them (a CUT generator without anti-aliasing has the official keys: it is a 'cyclegan' one).
    `hint`: architecture values the caller was told (saved options or flags): when the file fits other
    values the error names both."""
    if "down.0.0.1.weight" in state_dict:
        try:
            ngf, n_res = arch_of(state_dict)
        except ValueError as e:
            raise ModelFileError(f"{path}: {e}") from None
        return {"kind": "fast_nst", "ngf": ngf, "n_res": n_res, "input_nc": 3, "output_nc": 3}
    cut = any(k.endswith(".filt") for k in state_dict)
    arch = infer_cut_arch(shapes(state_dict), hint) if cut else infer_generator_arch(state_dict, hint)
    if arch is None:
        some = ", ".join(list(state_dict)[:3])
        raise ModelFileError(f"{path}: not a generator this suite knows (keys {some}, ...): expected an official "
                             f"CycleGAN generator ({', '.join(GENERATORS)}), a CUT generator "
                             f"({', '.join(CUT_GENERATORS)}) or a fast-NST transformer. A "
                             f"discriminator's weights (D_A, D_B) or another project's weights cannot translate images.")
    wrong = {k: v for k, v in (hint or {}).items() if k in arch and arch[k] != v and k != "no_dropout"}
    if wrong:
        told = ", ".join(f"{k}={v}" for k, v in wrong.items())
        raise ModelFileError(f"{path}: holds a {describe_arch(arch)} generator, but {told} was given (flags or the "
                             f"run's train_opt.json); drop those flags or load the right file")
    return {"kind": "cut" if cut else "cyclegan", **arch}


class SignedTransformer(nn.Module):
    """A fast-NST TransformerNet run as the generators are: [-1, 1] in and out, sides multiples of 4."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x):
        return self.net.signed(x)


def module_multiple(net):
    """multiple_of for a module in memory: 2 ** (number of U-Net levels), else 4."""
    levels = sum(isinstance(m, UnetSkipConnectionBlock) for m in net.modules())
    return 2 ** levels if levels else 4


def multiple_of(info):
    """The multiple both image sides must be for this net: 2 per downsampling."""
    netG = info.get("netG", "")
    return int(netG.split("_")[1]) if netG.startswith("unet_") else 4  # unet_128 halves 7 times: 128


def build(info, state_dict, path):
    """The network `info` (from identify) describes, with the weights loaded, in eval mode on the CPU."""
    if info["kind"] == "fast_nst":
        try:
            return SignedTransformer(from_state_dict(state_dict, path)).eval()
        except ValueError as e:
            raise ModelFileError(str(e)) from None
    if info["kind"] == "cut":
        net = _cut_generator(info)
    else:
        net = define_G(info["input_nc"], info["output_nc"], info["ngf"], info["netG"], info["norm"],
                       not info["no_dropout"])
    return load_official_state_dict(net, state_dict, path).eval()
