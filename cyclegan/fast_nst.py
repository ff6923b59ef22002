"""Command line: fast neural style (`cyclegan-fast-nst`, `python -m cyclegan.fast_nst`).

    cyclegan-fast-nst train --photos datasets/vangogh2photo/trainB --style starry.jpg --name starry
    cyclegan-fast-nst stylize --name starry --input photo.jpg [--output DIR]

The work is in cyclegan.training.fast_nst and cyclegan.nst.fast; this file turns flags into calls.
"""
import os
import sys

from cyclegan.errors import UserError
from cyclegan.io import CheckpointError
from cyclegan.nst import WeightsError
from options.base_options import save_options
from options.fast_nst_options import PHASE, FastNSTOptions


def main(argv=None):
    opts = FastNSTOptions()
    opt = opts.parse(argv)
    from cyclegan.data.scan import BadDatasetError
    from cyclegan.training import fast_nst
    from cyclegan.training.guards import NonFiniteLoss
    from cyclegan.training.run_folder import RunFolderError
    try:
        if opt.command == "train":
            run_dir = os.path.join(opt.checkpoints_dir, opt.name)
            summary = fast_nst.train(opt, {k: v for k, v in vars(opt).items()},
                                     on_ready=lambda: save_options(opt, run_dir, PHASE, echo=False))
            print(f"trained {summary['iteration']} iterations in {summary['seconds']:.1f} s; loss "
                  f"{summary['first_loss']:.4g} -> {summary['last_loss']:.4g}\nnetwork: {summary['net']}\n"
                  f"samples page: {os.path.abspath(summary['page'])}")
        else:
            from cyclegan.inference import load
            from cyclegan.nst.run import resolve_device
            stylizer = load(os.path.join(opt.checkpoints_dir, opt.name), epoch=opt.epoch,
                            device=resolve_device(opt.device))
            fast_nst.stylize_paths(stylizer, opt.input, opt.output, opt.image_size)
    except (UserError, WeightsError, CheckpointError, FileNotFoundError, ValueError, FloatingPointError, BadDatasetError,
            RunFolderError, NonFiniteLoss) as e:
        print(f"cyclegan-fast-nst: error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
