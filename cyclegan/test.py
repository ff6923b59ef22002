"""Entry point `cyclegan-test` / `python -m cyclegan.test`: translate held-out images, write the page.

Examples (official flags):
    cyclegan-test --dataroot ./datasets/vangogh2photo --name vangogh2photo_cyclegan --model cycle_gan
    cyclegan-test --dataroot PHOTOS --name style_vangogh_pretrained --model test --no_dropout
"""
import os
import sys

from options.base_options import load_saved_options, save_options
from options.test_options import TestOptions


def main(argv=None):
    return 0 if run(argv) else 1


def run(argv=None):
    """Parse, test, print the page's path; returns the page path, or None after printing the error."""
    parser = TestOptions()
    opt = parser.parse(argv)
    run_dir = os.path.join(opt.checkpoints_dir, opt.name)
    save_options(opt, run_dir, opt.phase, parser.parser, echo=False)
    from cyclegan.data import BadDatasetError
    from cyclegan.errors import UserError
    from cyclegan.io import CheckpointError
    from cyclegan.testing import run_test
    try:
        page = run_test(opt, saved=load_saved_options(run_dir), overwrite=opt.overwrite)
    except (UserError, CheckpointError, FileNotFoundError, RuntimeError, BadDatasetError) as e:
        print(f"error: {e}", file=sys.stderr)
        return None
    page = os.path.abspath(page)
    print(f"results page: {page}")
    return page


if __name__ == "__main__":
    sys.exit(main())
