"""Options of `cyclegan-ablate`: the variants, seeds, steps and evaluation protocol of a recipe ablation;
training flags shared by every run follow a `--` (e.g. -- --load_size 72 --crop_size 64 --ngf 32 --amp bf16)."""
import argparse
import os
import sys

from cyclegan.ablation import CATALOGUE, AblationError, Variant, parse_variant
from cyclegan.ablation.splits import check_apart
from cyclegan.ablation.sweep import DEFAULT_EVAL_SIZE
from cyclegan.ablation.timing import TimeSettings
from cyclegan.metrics.c2st import DEFAULT_FOLDS, DEFAULT_STEPS
from cyclegan.errors import UserError
from cyclegan.metrics.evaluate import DEFAULT_EVAL_MAX

from .base_options import (DEFAULT_SEED, Options, add_c2st_repeats_option, add_checkpoints_dir_option,
                           add_device_option, check_lowest)


def with_ema_pairs(variants, decay):
    """Each variant without --ema_decay followed by NAME+ema, the same flags plus --ema_decay `decay`
    (official's pair is the catalogue's ema variant when that is listed)."""
    names = {v.name for v in variants}
    out = []
    for v in variants:
        out.append(v)
        paired = any(f.startswith("--ema_decay") for f in v.flags) or v.name == "ema" or \
            (v.name == "official" and "ema" in names) or f"{v.name}+ema" in names
        if not paired:
            out.append(Variant(f"{v.name}+ema", v.flags + ["--ema_decay", f"{decay:g}"], v.decay, pair_of=v.name))
    return out


class AblateOptions(Options):
    prog = "cyclegan-ablate"
    description = ("Train named training-recipe variants for the same steps and seeds, score them on held-out "
                   "images (C2ST both ways) at fixed step intervals, time their steps against official, and write "
                   "CHECKPOINTS/NAME/{ablation.json,ablation.md,index.html}. Resumable: rerun the same command.")
    formatter = argparse.RawDescriptionHelpFormatter

    def build_parser(self, argv):
        parser = super().build_parser(argv)
        parser.epilog = "variants: " + "; ".join(
            f"{n} = {' '.join(f) or '(official defaults)'}{f' [decay {d}]' if d is not None else ''}"
            for n, (f, d) in CATALOGUE.items())
        return parser

    def initialize(self, parser):
        p = parser
        p.add_argument("--dataroot", required=True, help="dataset with trainA/trainB (training) and testA/testB")
        p.add_argument("--name", default="ablation", help="the sweep folder under --checkpoints_dir")
        add_checkpoints_dir_option(p)
        p.add_argument("--variants", default="official,ema,diffaug_translation",
                       help="comma list of catalogued variants (see below); official is always included")
        p.add_argument("--variant", action="append", default=[], metavar="NAME=FLAGS",
                       help="a custom variant: training flags (and --decay F), repeatable")
        p.add_argument("--train", default=None, metavar="VARIANTS",
                       help="train only the runs of these variants (comma list of the sweep's variant names; "
                            "default: all); the sweep's other runs are scored when trained (e.g. on another "
                            "machine, their folders copied into CHECKPOINTS/NAME/runs) and marked incomplete "
                            "in the report otherwise")
        p.add_argument("--ema_pairs", type=float, default=0.0, metavar="D",
                       help="also score every variant without EMA with --ema_decay D as NAME+ema (free: the average "
                            "never changes training, so the pair shares one run); 0 = off")
        p.add_argument("--seeds", default="1,2", help="comma list of training seeds (default: 1,2)")
        p.add_argument("--order", default="seeds", choices=("seeds", "variants"),
                       help="training order: every variant at the first seed, then the next seed (seeds), or each "
                            "variant at every seed in turn (variants)")
        p.add_argument("--steps", type=int, default=2080, help="training steps per run (whole epochs)")
        p.add_argument("--eval_every", type=int, default=None, help="evaluate every N steps (default: every epoch)")
        p.add_argument("--decay", type=float, default=0.5,
                       help="fraction of the epochs with a linearly decaying learning rate (official: 0.5)")
        p.add_argument("--eval_dir", default=None,
                       help="the validation split, on which every choice is made: a held-out set with testA/testB "
                            "or A/B (default: DATAROOT)")
        p.add_argument("--test_dir", default=None,
                       help="the test split (same layout as --eval_dir): every checkpoint scored on --eval_dir is "
                            "scored on it too and reported beside, never chosen on; it must share no image with "
                            "--eval_dir or the training images (docs/recipes.md, Protocol). Added to a finished "
                            "sweep (or with --report_only) it scores the saved checkpoints, training nothing")
        p.add_argument("--eval_size", type=int, default=DEFAULT_EVAL_SIZE,
                       help=f"held-out images' longest side (default: {DEFAULT_EVAL_SIZE})")
        p.add_argument("--eval_max", type=int, default=DEFAULT_EVAL_MAX,
                       help=f"at most this many held-out images per domain (default: {DEFAULT_EVAL_MAX})")
        p.add_argument("--c2st_steps", type=int, default=DEFAULT_STEPS,
                       help=f"C2ST training steps per fold (default: {DEFAULT_STEPS})")
        p.add_argument("--folds", type=int, default=DEFAULT_FOLDS, help=f"C2ST folds (default: {DEFAULT_FOLDS})")
        p.add_argument("--c2st_seed", type=int, default=DEFAULT_SEED,
                       help=f"seed of the C2ST, the same for every variant (default: {DEFAULT_SEED}; the training "
                            f"seeds are --seeds)")
        add_c2st_repeats_option(p)
        p.add_argument("--samples", type=int, default=4, help="held-out B images translated by every variant")
        p.add_argument("--parallel", type=int, default=1,
                       help="jobs at once: training runs, plus the sweep's own evaluation (default: 1)")
        p.add_argument("--threads", type=int, default=1, help="torch threads per run and for the evaluation")
        p.add_argument("--cost_steps", type=int, default=16,
                       help="timed steps per variant for the cost column (a multiple of --r1_every)")
        add_device_option(p, "scores the runs (training: --gpu_ids after --)")
        p.add_argument("--report_only", action="store_true", help="rewrite the report from what is on disk")
        TimeSettings.add_arguments(p.add_argument_group("quality against time"))
        return p

    def parse(self, argv=None):
        argv = sys.argv[1:] if argv is None else list(argv)
        own, common = (argv[:argv.index("--")], argv[argv.index("--") + 1:]) if "--" in argv else (argv, [])
        opt = super().parse(own)
        opt.common = common
        return opt

    def finish(self, opt):
        try:
            names = [n.strip() for n in opt.variants.split(",") if n.strip()]
            variants = [parse_variant(n) for n in (["official"] if "official" not in names else []) + names]
            variants += [parse_variant(text) for text in opt.variant]
        except AblationError as e:
            self.parser.error(str(e))
        if opt.ema_pairs:
            variants = with_ema_pairs(variants, opt.ema_pairs)
        seen = set()
        for v in variants:
            if v.name in seen:
                self.parser.error(f"variant {v.name} is given twice")
            seen.add(v.name)
        opt.variant_list = variants
        opt.train_list = None
        if opt.train is not None:
            opt.train_list = tuple(n.strip() for n in opt.train.split(",") if n.strip())
            unknown = [n for n in opt.train_list if n not in seen]
            if unknown or not opt.train_list:
                self.parser.error(f"--train {opt.train}: {', '.join(unknown) or 'no variant'} is not one of this "
                                  f"sweep's variants ({', '.join(v.name for v in variants)}); add it to --variants "
                                  f"or --variant")
        try:
            opt.seed_list = [int(s) for s in opt.seeds.split(",") if s.strip()]
        except ValueError:
            self.parser.error(f"--seeds {opt.seeds}: give a comma list of integers, e.g. 1,2")
        if not opt.seed_list:
            self.parser.error("--seeds: give at least one seed")
        check_lowest(self.parser, opt, dict.fromkeys(("steps", "parallel", "threads", "cost_steps", "eval_size"), 1))
        if opt.inception_weights is not None and not os.path.isfile(opt.inception_weights):
            self.parser.error(f"--inception_weights {opt.inception_weights}: no such file; give an Inception v3 "
                              f"weights file (see docs/metrics.md) or leave the flag out (KID is then not computed)")
        if opt.budget_s is not None and opt.budget_s <= 0:
            self.parser.error(f"--budget_s {opt.budget_s:g}: give a positive number of seconds, e.g. 3600")
        if not 0 <= opt.decay <= 1:
            self.parser.error(f"--decay {opt.decay}: a fraction between 0 and 1")
        if not os.path.isdir(opt.dataroot):
            self.parser.error(f"--dataroot {opt.dataroot}: not a folder")
        if opt.test_dir is not None:
            try:  # the sweep checks again when it loads the split; here the mistake costs nothing yet
                check_apart(opt.test_dir, opt.eval_dir, opt.dataroot)
            except UserError as e:
                self.parser.error(str(e))
        opt.out_dir = os.path.join(opt.checkpoints_dir, opt.name)
