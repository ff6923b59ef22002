"""Entry point `cyclegan-train` / `python -m cyclegan.train`: parse the train options, save them, train.

Example (official flags):
    cyclegan-train --dataroot ./datasets/vangogh2photo --name vangogh2photo_cyclegan --model cycle_gan
"""
import os
import sys

from cyclegan.cli import main_guard
from options.base_options import save_options
from options.train_options import TrainOptions


@main_guard
def main(argv=None):
    parser = TrainOptions()
    opt = parser.parse(argv)
    save_dir = os.path.join(opt.checkpoints_dir, opt.name)
    main_rank = int(os.environ.get("RANK", "0")) == 0  # under torchrun only rank 0 writes
    from cyclegan.training import train
    # the options are written once the run folder is locked and checked (never over another run)
    train(opt, before_start=lambda: save_options(opt, save_dir, opt.phase, parser.parser))
    if main_rank:
        print(f"checkpoints and loss_log.txt are in {save_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
