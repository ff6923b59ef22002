"""Options of the comparison harness (cyclegan-compare): CycleGAN vs Gatys on the same photos.
Every Gatys option is accepted under its own name (see options/gatys_options.py)."""
import os

from cyclegan.comparison.run import STYLE_MODES
from cyclegan.models.generators import GENERATORS
from cyclegan.models.layers import NORM_TYPES

from .base_options import DEFAULT_RESULTS_DIR, Options, add_checkpoints_dir_option, add_load_options
from .gatys_options import add_gatys_options, check_gatys_options


def given_arch(opt):
    """The generator values given as flags (--netG/--ngf/--norm): the weights must have them; everything else
    is read from the weights (and checked against the run's saved options) by cyclegan.load."""
    return {k: getattr(opt, k) for k in ("netG", "ngf", "norm") if getattr(opt, k, None) is not None}


class CompareOptions(Options):
    prog = "cyclegan-compare"
    description = ("Stylize the same held-out photos with a CycleGAN generator and with the Gatys optimizer; "
                   "write results/compare_NAME/{index.html,metrics.json,metrics.csv}.")

    def initialize(self, parser):
        p = parser
        c = p.add_argument_group("comparison")
        c.add_argument("--name", required=True, help="a trained (or *_pretrained) CycleGAN under --checkpoints_dir")
        add_checkpoints_dir_option(c)
        add_load_options(c)
        c.add_argument("--netG", default=None, choices=GENERATORS,
                       help="generator architecture (default: read from the weights)")
        c.add_argument("--ngf", type=int, default=None, help="(default: read from the weights)")
        c.add_argument("--norm", default=None, choices=NORM_TYPES, help="(default: read from the weights)")
        c.add_argument("--fast_nst", default=None,
                       help="a fast-NST run under --checkpoints_dir (cyclegan-fast-nst train --name NAME) to compare "
                            "as a third method (default: none)")
        c.add_argument("--cut", default=None,
                       help="a CUT run under --checkpoints_dir (cyclegan-train --model cut --direction BtoA) to "
                            "compare as a fourth method (default: none)")
        c.add_argument("--photos", required=True, help="folder of photos, e.g. datasets/vangogh2photo/testB")
        c.add_argument("--num", type=int, default=10, help="number of photos (the first N, sorted); 0 for all (default: 10)")
        c.add_argument("--style_mode", default="both", choices=STYLE_MODES,
                       help="per_image: one seeded painting per photo; domain: style statistics pooled over all "
                            "paintings, like CycleGAN learning from the whole collection (default: both)")
        c.add_argument("--dataroot", default=None,
                       help="dataset with trainA/trainB for the painting classifier and testA as held-out "
                            "paintings (default: the parent of --photos when it has trainA/trainB)")
        c.add_argument("--heldout_paintings", default=None,
                       help="paintings for FID/KID and the ceiling (default: DATAROOT/testA, else --style)")
        c.add_argument("--inception_weights", default=None,
                       help="local Inception v3 weights for FID/KID (default: the torchvision cache); without "
                            "them those cells say 'not computed'")
        c.add_argument("--classifier_epochs", type=int, default=None, help="painting-classifier epochs (default 30)")
        c.add_argument("--reference", default=None,
                       help="folder of another model's outputs on the same photos (e.g. the official pretrained "
                            "generator's test images, or a previous run's), matched by file name: a reference row")
        c.add_argument("--results_dir", default=DEFAULT_RESULTS_DIR,
                       help=f"writes RESULTS_DIR/compare_NAME (default: {DEFAULT_RESULTS_DIR})")
        c.add_argument("--overwrite", action="store_true", help="recompute outputs already on disk")
        add_gatys_options(p.add_argument_group("Gatys (same names as cyclegan-gatys)"), single_run=False)
        p.set_defaults(image_size=256)
        return p

    def finish(self, opt):
        if not opt.style:
            self.parser.error("--style is required: a painting, or a folder of paintings (e.g. .../testA)")
        if not os.path.isdir(opt.photos):
            self.parser.error(f"--photos {opt.photos}: not a folder")
        if opt.dataroot is None:
            parent = os.path.dirname(os.path.normpath(opt.photos))
            if os.path.isdir(os.path.join(parent, "trainA")) and os.path.isdir(os.path.join(parent, "trainB")):
                opt.dataroot = parent
        check_gatys_options(opt, self.parser)
