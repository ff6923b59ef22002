"""Training recipes: the techniques beyond the official step, each a flag that is off by default, and the
named combinations (--recipe official|fast). With every flag off the step is the official one, bit for bit.

  --diffaug POLICY       DiffAugment on every D input, real and fake, in G's and D's passes (diffaug.py)
  --ema_decay D          averaged generators, saved beside the raw ones (ema.py)
  --netG *_nearest       nearest upsampling + conv in the generators (upsample.py)
  --upsample_init bilinear  the generators' transposed convs start as bilinear upsampling (upsample.py)
  --spectral_norm        spectral norm in the discriminators (regularizers.py)
  --lambda_r1 G          R1 penalty on real inputs, lazily every --r1_every steps (regularizers.py)
  --gan_mode hinge       the hinge loss (losses.py)
  --lr_G / --lr_D        separate learning rates (TTUR); --lr_batch_rule scales them with --batch_size
  --init_from SPEC       start the generators from another run's or a pretrained file
The numbers that chose `fast` are in docs/recipes.md (cyclegan-ablate measures them).
"""
import argparse
import math
import os

from ..errors import UserError
from ..runs.layout import RunFolder
from .diffaug import augmenter, identity, parse_policy
from .ema import EMA
from .regularizers import R1
from .upsample import bilinear_init_

# --recipe NAME: defaults for these flags (typed flags still win); measured in docs/recipes.md
RECIPES = {
    "official": {},
    # EMA scored worse than the raw generators in every pair measured at 2,080 steps: not in fast
    "fast": {"diffaug": "translation", "netD": "n_layers", "n_layers_D": 2},
}
TECHNIQUES = ("diffaug", "ema_decay", "spectral_norm", "lambda_r1", "r1_every", "gan_mode", "lr_G", "lr_D",
              "lr_batch_rule", "init_from", "upsample_init")
# restored from train_opt.json on --continue_train unless typed: the techniques and whatever a recipe sets
RECIPE_KEYS = TECHNIQUES + tuple(sorted({k for flags in RECIPES.values() for k in flags} - set(TECHNIQUES)))
LR_BATCH_RULES = ("none", "sqrt", "linear")


class InitFromError(UserError):
    """--init_from names a file or folder that cannot start the generators."""


def _policy(text):
    try:
        parse_policy(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    return text


def _decay(text):
    d = float(text)
    if not (d == 0 or 0 < d < 1):
        raise argparse.ArgumentTypeError(f"{text}: give a decay between 0 and 1 (e.g. 0.999), or 0 for off")
    return d


def add_flags(parser):
    """The recipe flags of training (cycle_gan's option setter adds them)."""
    g = parser.add_argument_group("training recipe (docs/recipes.md); every technique is off by default")
    g.add_argument("--recipe", default="official", choices=list(RECIPES),
                   help="official: the official defaults; fast: the combination the ablation selected "
                        "(docs/recipes.md); typed flags override it")
    g.add_argument("--diffaug", type=_policy, default="",
                   help="DiffAugment policy on every discriminator input: a comma list of color, "
                        "translation[:RATIO], cutout[:RATIO] (default: off)")
    g.add_argument("--ema_decay", type=_decay, default=0.0,
                   help="keep exponential moving averages of the generators (e.g. 0.999), saved as "
                        "{epoch}_net_G_A_ema.pth and used by test/eval by default; 0 = off")
    g.add_argument("--spectral_norm", action=argparse.BooleanOptionalAction, default=False,
                   help="spectral normalisation of the discriminators' weights")
    g.add_argument("--lambda_r1", type=float, default=0.0, help="R1 penalty weight on real inputs; 0 = off")
    g.add_argument("--r1_every", type=int, default=16, help="lazy R1: apply it every N steps, weighted by N")
    g.add_argument("--lr_G", type=float, default=None, help="generators' learning rate (default: --lr)")
    g.add_argument("--lr_D", type=float, default=None, help="discriminators' learning rate (default: --lr)")
    g.add_argument("--lr_batch_rule", default="none", choices=LR_BATCH_RULES,
                   help="scale the learning rates with --batch_size: sqrt (the rule for Adam), linear, or none "
                        "(official)")
    g.add_argument("--upsample_init", default="random", choices=("random", "bilinear"),
                   help="bilinear: start the generators' transposed convs as bilinear upsampling (no checkerboard "
                        "at the start; the official layout and files)")
    g.add_argument("--init_from", default=None,
                   help="start the generators from a run folder (its latest generators, averaged ones first) "
                        "or from files: G_A=FILE,G_B=FILE (either one alone is fine)")
    g.add_argument("--raw_weights", action="store_true",
                   help="quality curves (--eval_freq) with the raw generators, not the --ema_decay averages")
    return parser


def learning_rate(opt, net):
    """The initial learning rate of net 'G' or 'D': --lr_G/--lr_D (else --lr), scaled by --lr_batch_rule."""
    lr = getattr(opt, f"lr_{net}", None) or opt.lr
    rule = getattr(opt, "lr_batch_rule", "none")
    if rule == "linear":
        return lr * opt.batch_size
    if rule == "sqrt":
        return lr * math.sqrt(opt.batch_size)
    return lr


def init_files(spec, names):
    """{net name: file} for --init_from: a run folder (latest, averaged first) or NAME=FILE pairs."""
    if os.path.isdir(spec):
        files = {n: RunFolder(spec).net_for_use("latest", n) for n in names}
    else:
        files = {}
        for part in spec.split(","):
            name, sep, path = part.partition("=")
            if not sep or name not in names:
                raise InitFromError(f"--init_from {spec}: give a run folder or {','.join(f'{n}=FILE' for n in names)}"
                                    f" (got {part!r})")
            files[name] = path
    missing = [f for f in files.values() if not os.path.isfile(f)]
    if missing:
        raise InitFromError(f"--init_from {spec}: {', '.join(missing)} not found (a run folder needs the latest "
                            f"weights of {' and '.join(names)})")
    return files


def init_generators(spec, nets):
    """Load --init_from's weights into `nets` ({name: module}); the architecture flags must match."""
    from ..io import CheckpointError, load_state_dict_file
    from .base_model import load_official_state_dict
    for name, path in init_files(spec, list(nets)).items():
        try:
            load_official_state_dict(nets[name], load_state_dict_file(path), path)
        except (RuntimeError, CheckpointError) as e:
            raise InitFromError(f"--init_from: {e}") from None
        print(f"--init_from: {name} starts from {path}")


class Recipe:
    """The techniques of one model's training step; with every flag off each hook is a no-op (no ops, no
    random draws, no state), so the step stays the official one."""

    def __init__(self, opt, generators, train=True):
        self.augment = augmenter(getattr(opt, "diffaug", "")) if train else identity
        gamma = getattr(opt, "lambda_r1", 0.0) if train else 0.0
        self.r1 = R1(gamma, getattr(opt, "r1_every", 16)) if gamma > 0 else None
        if train and getattr(opt, "upsample_init", "random") == "bilinear":
            for net in generators.values():
                bilinear_init_(net, opt.init_gain)
        if train and getattr(opt, "init_from", None) and not getattr(opt, "continue_train", False):
            init_generators(opt.init_from, generators)
        decay = getattr(opt, "ema_decay", 0.0) if train else 0.0
        self.ema = EMA(generators, decay) if decay > 0 else None
        self.steps = 0  # training steps taken (the lazy R1's clock)

    def capture_conflict(self):
        """Why these techniques keep a captured (CUDA-graph) step off, or None (BaseModel.configure asks). A lazy
        R1 changes the step's work from step to step, which one recorded graph cannot replay; DiffAugment's draws
        come from the device's generator inside the step and the EMA runs after it, so neither stops the graph."""
        if self.r1 is not None and self.r1.every > 1:
            return "--lambda_r1 with --r1_every > 1 changes the step's work from step to step; use --r1_every 1"
        return None

    def r1_due(self):
        return self.r1 is not None and self.r1.due(self.steps)

    def after_step(self):
        self.steps += 1
        if self.ema is not None:
            self.ema.update()

    def averaged_nets(self):
        return self.ema.named_nets() if self.ema is not None else []

    def state_dict(self):
        """What an exact resume needs (None when no technique keeps state)."""
        if self.ema is None and self.r1 is None:
            return None
        return {"steps": self.steps, **({"ema": self.ema.state_dict()} if self.ema is not None else {})}

    def load_state_dict(self, state):
        """Restore state_dict(); None (a state saved without these techniques, or weights only) restarts
        the step clock and the averages from the current weights."""
        self.steps = int((state or {}).get("steps", 0))
        if self.ema is not None:
            self.ema.load_state_dict((state or {}).get("ema"))
