"""Entry point `cyclegan-train` / `python -m cyclegan.train`: parse the train options, save them, train.

Example (official flags):
    cyclegan-train --dataroot ./datasets/vangogh2photo --name vangogh2photo_cyclegan --model cycle_gan
"""
import os
import sys

from options.base_options import save_options
from options.train_options import TrainOptions


def main(argv=None):
    parser = TrainOptions()
    opt = parser.parse(argv)
    save_dir = os.path.join(opt.checkpoints_dir, opt.name)
    main_rank = int(os.environ.get("RANK", "0")) == 0  # under torchrun only rank 0 writes
    from cyclegan.data import BadDatasetError
    from cyclegan.errors import UserError
    from cyclegan.io import CheckpointError
    from cyclegan.training import train
    from cyclegan.training.guards import NonFiniteLoss
    from cyclegan.training.run_folder import RunFolderError
    try:  # the options are written once the run folder is locked and checked (never over another run)
        train(opt, before_start=lambda: save_options(opt, save_dir, opt.phase, parser.parser))
    except (NonFiniteLoss, CheckpointError, FileNotFoundError, BadDatasetError, RunFolderError, UserError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    if main_rank:
        print(f"checkpoints and loss_log.txt are in {save_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
