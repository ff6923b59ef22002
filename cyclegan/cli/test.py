"""Entry point `cyclegan-test` / `python -m cyclegan.test`: translate held-out images, write the page.

Examples (official flags):
    cyclegan-test --dataroot ./datasets/vangogh2photo --name vangogh2photo_cyclegan --model cycle_gan
    cyclegan-test --dataroot PHOTOS --name style_vangogh_pretrained --model test --no_dropout
"""
import os
import sys

from cyclegan.cli import main_guard
from cyclegan.runs.layout import RunFolder
from options.base_options import save_options
from options.test_options import TestOptions


@main_guard
def main(argv=None):
    run(argv)
    return 0


def run(argv=None):
    """Parse, test, print the page's path; returns the page path (a UserError propagates)."""
    parser = TestOptions()
    opt = parser.parse(argv)
    run_dir = os.path.join(opt.checkpoints_dir, opt.name)
    save_options(opt, run_dir, opt.phase, parser.parser, echo=False)
    from cyclegan.testing import run_test
    page = os.path.abspath(run_test(opt, saved=RunFolder(run_dir).options(), overwrite=opt.overwrite))
    print(f"results page: {page}")
    return page


if __name__ == "__main__":
    sys.exit(main())
