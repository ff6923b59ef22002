"""Options of cyclegan-stereo: stylise stereo pairs (left/right files or folders, or side-by-side images) with a
fast-NST or CycleGAN run so the two eyes agree (cyclegan/media/stereo.py)."""
import argparse
import os

from .base_options import Options, add_device_option, add_load_options, check_lowest
from .fast_nst_options import add_run_options

METHODS = ("fast_nst", "cyclegan")


class StereoOptions(Options):
    prog = "cyclegan-stereo"
    description = ("Stylise a stereo pair consistently: disparity from OpenCV semi-global matching, the right view "
                   "filled from the stylised left one where the left-right check holds. Writes both views, a "
                   "side-by-side image, a red-cyan anaglyph and stereo.json with the left-right error before and "
                   "after.")

    def initialize(self, p):
        p.add_argument("--left", default=None, help="the left-eye image, or a folder of them (paired by name)")
        p.add_argument("--right", default=None, help="the right-eye image, or a folder of them (paired by name)")
        p.add_argument("--sbs", default=None,
                       help="instead of --left/--right: a side-by-side image (left half: left eye) or a folder of them")
        p.add_argument("--method", required=True, choices=METHODS,
                       help="fast_nst: a cyclegan-fast-nst run; cyclegan: a trained CycleGAN run (--name)")
        add_run_options(p)
        add_load_options(p)
        p.add_argument("--output", default=None, help="output folder (default: ./results/stereo/NAME)")
        p.add_argument("--max_size", type=int, default=None,
                       help="longest side of each view in pixels (default: the input's size)")
        p.add_argument("--consistency", action=argparse.BooleanOptionalAction, default=True,
                       help="fill the right view from the stylised left one where the disparity is reliable "
                            "(default: on; --no-consistency writes the two views stylised independently)")
        p.add_argument("--num_disparities", type=int, default=None,
                       help="SGBM's disparity search range in pixels, a multiple of 16 (default: an eighth of the "
                            "width, rounded up to 16)")
        p.add_argument("--block_size", type=int, default=5, help="SGBM's odd matching block size (default: 5)")
        add_device_option(p, "stylises")
        return p

    def finish(self, opt):
        p = self.parser
        if opt.sbs is not None and (opt.left or opt.right):
            p.error("give --left and --right, or --sbs, not both")
        if opt.sbs is None and not (opt.left and opt.right):
            p.error("give --left and --right (two images or two folders), or --sbs (side-by-side images)")
        if opt.num_disparities is not None and (opt.num_disparities < 16 or opt.num_disparities % 16):
            p.error(f"--num_disparities must be a positive multiple of 16, got {opt.num_disparities}")
        if opt.block_size < 1 or opt.block_size % 2 == 0:
            p.error(f"--block_size must be odd and positive, got {opt.block_size}")
        check_lowest(p, opt, {"max_size": 16})
        opt.output = opt.output or os.path.join("./results/stereo", opt.name)
        return opt
