"""Options of `cyclegan-eval`: the held-out quality evaluation of a saved CycleGAN run at any epoch(s)."""
import os

from .base_options import Options, load_saved_options
from .test_options import ARCH_KEYS


class EvalOptions(Options):
    prog = "cyclegan-eval"
    description = ("Evaluate a saved CycleGAN run on held-out images (C2ST both ways, colour distance, cycle L1): "
                   "print a table and write JSON, to compare runs and epochs after the fact.")

    def initialize(self, parser):
        p = parser
        p.add_argument("--name", required=True, help="the run under --checkpoints_dir")
        p.add_argument("--dataroot", required=True, help="dataset with testA/testB (the held-out set)")
        p.add_argument("--checkpoints_dir", default="./checkpoints", help="(default: ./checkpoints)")
        p.add_argument("--epoch", default="latest",
                       help="which saved generators: latest, a number, a comma list (5,10,latest) or all")
        p.add_argument("--eval_dir", default=None, help="held-out set with testA/testB or A/B (default: DATAROOT)")
        p.add_argument("--eval_max", type=int, default=100, help="at most this many held-out images per domain")
        p.add_argument("--image_size", type=int, default=None, help="longest side (default: the run's crop_size)")
        p.add_argument("--folds", type=int, default=5, help="C2ST cross-validation folds")
        p.add_argument("--c2st_steps", type=int, default=150, help="C2ST training steps per fold")
        p.add_argument("--seed", type=int, default=0, help="C2ST seed (same seed, same numbers)")
        p.add_argument("--device", default="auto", help="auto (CUDA when there is one), cpu, cuda")
        p.add_argument("--raw_weights", action="store_true",
                       help="evaluate the raw generators even where the run saved averaged (--ema_decay) ones")
        p.add_argument("--json_out", default=None,
                       help="write the results here (default: CHECKPOINTS/NAME/eval_results.json)")
        return p

    def finish(self, opt):
        opt.run_dir = os.path.join(opt.checkpoints_dir, opt.name)
        if not os.path.isdir(opt.run_dir):
            self.parser.error(f"--name {opt.name}: no run folder {opt.run_dir} (check --checkpoints_dir)")
        saved = load_saved_options(opt.run_dir) or {}
        opt.arch = {k: saved[k] for k in ARCH_KEYS if k in saved}
        opt.image_size = opt.image_size or saved.get("crop_size", 256)
        opt.json_out = opt.json_out or os.path.join(opt.run_dir, "eval_results.json")
