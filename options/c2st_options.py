"""Options of the C2ST command (`python -m cyclegan.c2st REAL_DIR FAKE_DIR`): can a small CNN tell the folders apart?"""
from cyclegan.metrics.c2st import DEFAULT_FOLDS, DEFAULT_STEPS

from .base_options import (Options, add_c2st_repeats_option, add_device_option, add_seed_option, apply_seed_rule,
                           check_lowest)


class C2STOptions(Options):
    prog = "cyclegan-c2st"
    description = ("Classifier two-sample test: can a small CNN trained from scratch tell the generated images from "
                   "the real ones? 0.5 = indistinguishable, 1.0 = always told apart.")

    def initialize(self, p):
        p.add_argument("real_dir", help="folder of real images (e.g. held-out paintings)")
        p.add_argument("fake_dir", help="folder of generated images")
        p.add_argument("--folds", type=int, default=DEFAULT_FOLDS,
                       help=f"cross-validation folds (default: {DEFAULT_FOLDS})")
        add_seed_option(p, "every draw of the test (folds, crops, weights)")
        add_device_option(p, "trains the classifiers")
        p.add_argument("--num_threads", type=int, default=None, help="torch CPU threads (default: torch's)")
        p.add_argument("--steps", type=int, default=DEFAULT_STEPS,
                       help=f"training steps per fold (default: {DEFAULT_STEPS})")
        add_c2st_repeats_option(p, "--repeats")
        p.add_argument("--json", action="store_true", help="print one JSON object instead of text")
        return p

    def finish(self, opt):
        check_lowest(self.parser, opt, {"folds": 2})
        apply_seed_rule(opt)
