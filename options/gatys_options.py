"""Options of the Gatys neural-style command (cyclegan-gatys / python -m cyclegan.gatys).

add_gatys_options(parser) adds every flag to any parser, so the comparison harness can offer
the same names; GatysOptions().parse(argv) returns a checked argparse.Namespace in which the
comma-separated flags are already lists.
"""
from cyclegan.nst import BACKBONES, DEFAULT_TV_WEIGHT, INITS, OPTIMIZERS, POOLINGS, STYLE_LOSSES
from cyclegan.nst.optimize import DEFAULT_NUM_ITERS
from cyclegan.nst.run import DEFAULT_IMAGE_SIZE

from .base_options import Options, add_device_option, add_seed_option, apply_seed_rule, check_lowest


def add_loss_options(p):
    """--backbone .. --tv_weight: the feature network and loss flags, shared with cyclegan-fast-nst and -video."""
    p.add_argument("--backbone", default="vgg19", choices=BACKBONES, help="feature network (default: vgg19)")
    p.add_argument("--content_layers", default=None,
                   help="comma-separated layer names; default per backbone, conv4_2 for VGG "
                        "(VGG names: convB_I before the ReLU, reluB_I after it, poolB)")
    p.add_argument("--style_layers", default=None,
                   help="comma-separated layer names; default per backbone, conv1_1,conv2_1,conv3_1,conv4_1,conv5_1 "
                        "for VGG; resnet50: conv1,layer1..layer4; inception_v3: torchvision module names")
    p.add_argument("--style_layer_weights", default=None,
                   help="comma-separated weights, one per style layer (default: 1 each)")
    p.add_argument("--pooling", default="avg", choices=POOLINGS,
                   help="pooling inside the backbone; avg (the default, as in Gatys et al.) gives smoother images")
    p.add_argument("--style_loss", default="gram", choices=STYLE_LOSSES,
                   help="gram: Gatys Gram matrices (size-normalised); mmd_linear/mmd_poly/mmd_gauss: Li et al. "
                        "MMD kernels; bn: per-channel mean and std (default: gram)")
    p.add_argument("--content_weight", type=float, default=1.0, help="weight of the content MSE (default: 1)")
    p.add_argument("--style_weight", type=float, default=None,
                   help="weight of the style loss (default depends on --style_loss: gram 1e6, mmd_poly 1e2, "
                        "mmd_linear, mmd_gauss and bn 1e3)")
    p.add_argument("--tv_weight", type=float, default=DEFAULT_TV_WEIGHT,
                   help="weight of the total-variation smoothness term, a mean squared pixel difference "
                        f"(default: {DEFAULT_TV_WEIGHT:g})")
    return p


def add_weights_options(p):
    """--weights and --device, shared with cyclegan-fast-nst and cyclegan-video."""
    p.add_argument("--weights", default=None,
                   help="backbone weights: a local .pth file, or 'random' (untrained: tests and benchmarks only). "
                        "Default: torchvision's ImageNet file from the torch cache (never downloaded)")
    add_device_option(p)
    return p


def add_gatys_options(parser, single_run=True):
    """Add the Gatys flags to `parser` (an ArgumentParser or argument group); returns it.

    single_run=False leaves out --content, --style_blend and --output, which a harness that runs many
    photos (cyclegan-compare) replaces with its own."""
    p = parser
    if single_run:
        p.add_argument("--content", help="the photo to stylize")
    p.add_argument("--style", action="append", default=None,
                   help="an image file: a painting whose style to transfer; repeat the flag to blend several"
                   if single_run else "a painting, or a folder of paintings (e.g. datasets/vangogh2photo/testA); "
                   "repeat the flag for more")
    if single_run:
        p.add_argument("--style_blend", default=None,
                       help="comma-separated blend weights, one per --style, e.g. 0.7,0.3 (default: equal)")
        p.add_argument("--output", default="./results/gatys",
                       help="output folder (the file name then encodes the parameters) or an image file path "
                            "(default: ./results/gatys)")
    add_loss_options(p)
    p.add_argument("--init", default="content", choices=INITS,
                   help="starting image (default: content)")
    p.add_argument("--optimizer", default="lbfgs", choices=OPTIMIZERS, help="(default: lbfgs)")
    p.add_argument("--num_iters", type=int, default=DEFAULT_NUM_ITERS,
                   help=f"optimiser iterations (default: {DEFAULT_NUM_ITERS})")
    p.add_argument("--lr", type=float, default=None, help="learning rate (default: lbfgs 1.0, adam 0.02)")
    p.add_argument("--image_size", type=int, default=DEFAULT_IMAGE_SIZE,
                   help=f"longest side of the output in pixels (default: {DEFAULT_IMAGE_SIZE})")
    p.add_argument("--style_scale", type=float, default=1.0,
                   help="style images are resized to image_size * style_scale on their longest side (default: 1)")
    p.add_argument("--preserve_color", action="store_true",
                   help="transfer onto the luminance only and keep the photo's colours")
    add_seed_option(p, "random weights, MMD samples and a random start")
    p.add_argument("--save_every", type=int, default=0,
                   help="also save the image every N iterations (default: 0, only the final image)")
    add_weights_options(p)
    return p


def _floats(text, flag, parser):
    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        parser.error(f"{flag} {text!r}: give comma-separated numbers, e.g. 0.7,0.3")
    if not values:
        parser.error(f"{flag}: no numbers given")
    return values


def _names(text):
    return [v.strip() for v in text.split(",") if v.strip()] if text else None


def check_layer_options(opt, parser):
    """Comma-separated --content_layers/--style_layers/--style_layer_weights to lists, checked."""
    opt.content_layers = _names(opt.content_layers)
    opt.style_layers = _names(opt.style_layers)
    if opt.style_layer_weights is not None:
        opt.style_layer_weights = _floats(opt.style_layer_weights, "--style_layer_weights", parser)
        if opt.style_layers is not None and len(opt.style_layer_weights) != len(opt.style_layers):
            parser.error(f"--style_layer_weights has {len(opt.style_layer_weights)} values for "
                         f"{len(opt.style_layers)} --style_layers; give one per layer")


def check_gatys_options(opt, parser):
    """Turn comma-separated flags into lists and reject inconsistent values with parser.error."""
    if hasattr(opt, "content") and not opt.content:
        parser.error("--content is required: the photo to stylize")
    if not opt.style:
        parser.error("--style is required: at least one painting (repeat --style to blend several)")
    check_layer_options(opt, parser)
    if getattr(opt, "style_blend", None) is not None:
        opt.style_blend = _floats(opt.style_blend, "--style_blend", parser)
        if len(opt.style_blend) != len(opt.style):
            parser.error(f"--style_blend has {len(opt.style_blend)} weights for {len(opt.style)} --style images; "
                         f"give one per image")
        if any(w < 0 for w in opt.style_blend) or sum(opt.style_blend) <= 0:
            parser.error("--style_blend weights must be non-negative with a positive sum")
    check_lowest(parser, opt, {"num_iters": 1, "image_size": 16, "save_every": 0})
    if opt.style_scale <= 0:
        parser.error(f"--style_scale must be positive, got {opt.style_scale}")
    if opt.lr is not None and opt.lr <= 0:
        parser.error(f"--lr must be positive, got {opt.lr}")
    return apply_seed_rule(opt)


class GatysOptions(Options):
    prog = "cyclegan-gatys"
    description = "Gatys et al. neural style transfer by optimisation (photo -> painting style)."

    def initialize(self, parser):
        return add_gatys_options(parser)

    def finish(self, opt):
        check_gatys_options(opt, self.parser)
