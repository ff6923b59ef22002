"""Command line: fast neural style (`cyclegan-fast-nst`, `python -m cyclegan.fast_nst`).

    cyclegan-fast-nst train --photos datasets/vangogh2photo/trainB --style starry.jpg --name starry
    cyclegan-fast-nst stylize --name starry --input photo.jpg [--output DIR]

The work is in cyclegan.nst.fast_train and cyclegan.nst.fast; this file turns flags into calls.
"""
import os
import sys

from cyclegan.cli import main_guard
from options.base_options import save_options
from options.fast_nst_options import PHASE, FastNSTOptions


@main_guard
def main(argv=None):
    opt = FastNSTOptions().parse(argv)
    from cyclegan.nst import fast_train
    run_dir = os.path.join(opt.checkpoints_dir, opt.name)
    if opt.command == "train":
        from cyclegan.display.fast_nst import FastNSTReport
        summary = fast_train.train(opt, {k: v for k, v in vars(opt).items()},
                                   on_ready=lambda: save_options(opt, run_dir, PHASE, echo=False),
                                   report=FastNSTReport(run_dir, opt.name))
        print(f"trained {summary['iteration']} iterations in {summary['seconds']:.1f} s; loss "
              f"{summary['first_loss']:.4g} -> {summary['last_loss']:.4g}\nnetwork: {summary['net']}\n"
              f"samples page: {os.path.abspath(summary['page'])}")
    else:
        from cyclegan.display.progress import progress_iter
        from cyclegan.inference import load
        fast_train.stylize_paths(load(run_dir, epoch=opt.epoch, device=opt.device), opt.input, opt.output,
                                 opt.image_size,
                                 progress=lambda files: progress_iter(files, desc="stylize", unit="img"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
