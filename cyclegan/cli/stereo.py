"""Command line: stereoscopic style transfer (`cyclegan-stereo`, `python -m cyclegan.stereo`).

    cyclegan-stereo --left L.png --right R.png --method fast_nst --name starry [--output DIR]
    cyclegan-stereo --sbs pairs/ --method cyclegan --name vangogh

The work is in cyclegan.media.stereo; this file finds the pairs and loads the run; stylize_files checks every pair
before it writes anything.
"""
import os
import sys

from cyclegan.cli import main_guard


@main_guard
def main(argv=None):
    from options.stereo_options import StereoOptions
    opt = StereoOptions().parse(argv)
    from cyclegan.media import stereo
    pairs = stereo.find_pairs(opt.left, opt.right, opt.sbs)
    process = stereo.load_stylizer(opt.method, os.path.join(opt.checkpoints_dir, opt.name), opt.epoch, opt.direction,
                                   opt.model_suffix, opt.device, raw=opt.raw_weights)
    report = stereo.stylize_files(process, pairs, opt.output, opt.max_size, opt.consistency,
                                  num_disparities=opt.num_disparities, block_size=opt.block_size)
    print(f"wrote {len(report)} pair(s) to {opt.output} (<name>_left/_right/_sbs/_anaglyph.png, stereo.json)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
