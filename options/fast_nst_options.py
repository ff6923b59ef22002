"""Options of cyclegan-fast-nst: `train` (a feed-forward style network per style) and `stylize`.

The loss and backbone flags are Gatys's own (options/gatys_options.py), with the same names and meanings;
the run folder is CHECKPOINTS_DIR/NAME as in CycleGAN training, with the options saved there.
"""
import argparse
import os

from cyclegan.models.temporal import TEMPORAL_HELP
from cyclegan.nst.fast import FAST_NST_TV_WEIGHT
from cyclegan.runs.layout import RunFolder

from .base_options import (Options, add_checkpoints_dir_option, add_device_option, add_seed_option, apply_seed_rule,
                           check_lowest)
from .gatys_options import add_loss_options, add_weights_options, check_layer_options

PHASE = "fast_nst_train"  # CHECKPOINTS_DIR/NAME/fast_nst_train_opt.{txt,json}


def add_run_options(p, name_required=True):
    p.add_argument("--name", required=name_required, help="run name: the network lives in CHECKPOINTS_DIR/NAME")
    add_checkpoints_dir_option(p)
    return p


def add_commands(parser):
    sub = parser.add_subparsers(dest="command", required=True, metavar="{train,stylize}")
    t = sub.add_parser("train", help="train a network on a folder of photos against a painting or a folder of them")
    t.add_argument("--photos", required=True, help="folder of training photos (searched recursively), e.g. trainB")
    t.add_argument("--style", required=True,
                   help="a painting, or a folder of paintings whose style statistics are pooled (Gatys's domain mode)")
    add_run_options(t)
    add_loss_options(t)
    add_weights_options(t)
    t.set_defaults(tv_weight=FAST_NST_TV_WEIGHT)
    t.add_argument("--num_iters", type=int, default=4000, help="training iterations (batches) (default: 4000)")
    t.add_argument("--batch_size", type=int, default=4, help="photos per iteration (default: 4, as Johnson et al.)")
    t.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate (default: 1e-3)")
    t.add_argument("--image_size", type=int, default=256, help="square training crops, in pixels (default: 256)")
    t.add_argument("--lambda_temporal", type=float, default=0.0, help=TEMPORAL_HELP)
    t.add_argument("--style_scale", type=float, default=1.0,
                   help="style images are resized to image_size * style_scale on their longest side (default: 1)")
    t.add_argument("--ngf", type=int, default=32, help="channels at full resolution (default: 32, as Johnson et al.)")
    t.add_argument("--n_res", type=int, default=5, help="residual blocks (default: 5)")
    add_seed_option(t, "the photo crops, random weights and MMD samples", resumes=True)
    t.add_argument("--print_freq", type=int, default=50, help="iterations between loss-log lines (default: 50)")
    t.add_argument("--save_freq", type=int, default=500,
                   help="iterations between checkpoints and page updates (default: 500)")
    t.add_argument("--num_samples", type=int, default=4, help="photos shown on the samples page (default: 4)")
    t.add_argument("--continue_train", action="store_true", help="resume CHECKPOINTS_DIR/NAME exactly where it stopped")
    t.add_argument("--amp", default=None, choices=("none", "bf16"),
                   help="mixed precision (default: bf16 on GPU and on CPUs with native bf16, none elsewhere, as training)")
    t.add_argument("--channels_last", action=argparse.BooleanOptionalAction, default=None,
                   help="channels_last memory format (default: on for GPU, off for CPU, as training)")

    s = sub.add_parser("stylize", help="stylise an image or a folder of images with a trained network")
    add_run_options(s)
    s.add_argument("--input", required=True, help="an image file or a folder of images")
    s.add_argument("--output", default=None, help="output folder (default: ./results/fast_nst_NAME)")
    s.add_argument("--image_size", type=int, default=None,
                   help="longest side of the outputs (default: each input's own size)")
    s.add_argument("--epoch", default="latest", help="which saved network: {epoch}_net_T.pth (default: latest)")
    add_device_option(s)
    return parser


class FastNSTOptions(Options):
    prog = "cyclegan-fast-nst"
    description = ("Fast neural style (Johnson et al. 2016, instance norm): train a feed-forward network for one "
                   "style, then stylise images with it.")

    def initialize(self, parser):
        return add_commands(parser)

    def finish(self, opt):
        p = self.parser
        if opt.command == "stylize":
            check_lowest(p, opt, {"image_size": 16})
            opt.output = opt.output or os.path.join("./results", f"fast_nst_{opt.name}")
            return opt
        check_layer_options(opt, p)
        check_lowest(p, opt, {"num_iters": 1, "image_size": 16, "batch_size": 1, "ngf": 1, "n_res": 0,
                              "print_freq": 1, "save_freq": 1, "num_samples": 0})
        if opt.lambda_temporal < 0:
            p.error(f"--lambda_temporal must be 0 (off) or positive, got {opt.lambda_temporal}")
        if opt.lr <= 0 or opt.style_scale <= 0:
            p.error(f"--lr and --style_scale must be positive, got {opt.lr} and {opt.style_scale}")
        if not os.path.isdir(opt.photos):
            p.error(f"--photos {opt.photos}: not a folder")
        if not os.path.exists(opt.style):
            p.error(f"--style {opt.style}: no such image file or folder")
        run_dir = os.path.join(opt.checkpoints_dir, opt.name)
        folder = RunFolder(run_dir)
        saved, started = folder.options(PHASE), os.path.isfile(folder.state("latest"))
        if opt.continue_train and (saved is None or not started):
            p.error(f"--continue_train: {run_dir} holds no fast-NST checkpoint to resume")
        if started and not opt.continue_train:
            p.error(f"{run_dir} already holds a fast-NST run: pass --continue_train to resume it, "
                    f"or choose another --name (nothing was overwritten)")
        return apply_seed_rule(opt, saved if opt.continue_train else None)
