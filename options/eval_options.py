"""Options of `cyclegan-eval`: the held-out quality evaluation of a saved CycleGAN run at any epoch(s)."""
import os

from cyclegan.metrics.c2st import DEFAULT_FOLDS, DEFAULT_STEPS
from cyclegan.metrics.evaluate import DEFAULT_EVAL_MAX
from cyclegan.models.saved_arch import arch_hint

from cyclegan.runs.layout import RunFolder

from .base_options import (Options, add_c2st_repeats_option, add_checkpoints_dir_option, add_device_option,
                           add_raw_weights_option, add_seed_option, apply_seed_rule, check_lowest)


class EvalOptions(Options):
    prog = "cyclegan-eval"
    description = ("Evaluate a saved CycleGAN run on held-out images (C2ST both ways, colour distance, cycle L1): "
                   "print a table and write JSON, to compare runs and epochs after the fact.")

    def initialize(self, parser):
        p = parser
        p.add_argument("--name", required=True, help="the run under --checkpoints_dir")
        p.add_argument("--dataroot", required=True, help="dataset with testA/testB (the held-out set)")
        add_checkpoints_dir_option(p)
        p.add_argument("--epoch", default="latest",
                       help="which saved generators: latest, a number, a comma list (5,10,latest) or all")
        p.add_argument("--eval_dir", default=None, help="held-out set with testA/testB or A/B (default: DATAROOT)")
        p.add_argument("--eval_max", type=int, default=DEFAULT_EVAL_MAX,
                       help=f"at most this many held-out images per domain (default: {DEFAULT_EVAL_MAX})")
        p.add_argument("--image_size", type=int, default=None, help="longest side (default: the run's crop_size)")
        p.add_argument("--folds", type=int, default=DEFAULT_FOLDS,
                       help=f"C2ST cross-validation folds (default: {DEFAULT_FOLDS})")
        p.add_argument("--c2st_steps", type=int, default=DEFAULT_STEPS,
                       help=f"C2ST training steps per fold (default: {DEFAULT_STEPS})")
        add_c2st_repeats_option(p)
        add_seed_option(p, "the C2ST (folds, crops, weights)")
        add_device_option(p, "translates and scores")
        add_raw_weights_option(p)
        p.add_argument("--json_out", default=None,
                       help="write the results here (default: CHECKPOINTS/NAME/eval_results.json)")
        return p

    def finish(self, opt):
        opt.run_dir = os.path.join(opt.checkpoints_dir, opt.name)
        if not os.path.isdir(opt.run_dir):
            self.parser.error(f"--name {opt.name}: no run folder {opt.run_dir} (check --checkpoints_dir)")
        check_lowest(self.parser, opt, {"folds": 2})
        saved = RunFolder(opt.run_dir).options() or {}
        opt.arch = arch_hint(saved)  # a CUT run's --normG as its norm
        opt.image_size = opt.image_size or saved.get("crop_size", 256)
        opt.json_out = opt.json_out or os.path.join(opt.run_dir, "eval_results.json")
        apply_seed_rule(opt)
