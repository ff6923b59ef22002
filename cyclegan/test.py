"""Entry point `cyclegan-test` / `python -m cyclegan.test`: translate held-out images, write the page.

Examples (official flags):
    cyclegan-test --dataroot ./datasets/vangogh2photo --name vangogh2photo_cyclegan --model cycle_gan
    cyclegan-test --dataroot PHOTOS --name style_vangogh_pretrained --model test --no_dropout
"""
import os
import sys

from options.base_options import save_options
from options.test_options import TestOptions


def main(argv=None):
    parser = TestOptions()
    opt = parser.parse(argv)
    save_options(opt, os.path.join(opt.checkpoints_dir, opt.name), opt.phase, parser.parser, echo=False)
    from cyclegan.data import BadDatasetError
    from cyclegan.io import CheckpointError
    from cyclegan.testing import run_test
    try:
        page = run_test(opt)
    except (CheckpointError, FileNotFoundError, RuntimeError, BadDatasetError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(f"results page: {os.path.abspath(page)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
