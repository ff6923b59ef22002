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
from dataclasses import dataclass

from ..errors import UserError
from ..runs.layout import RunFolder
from ..settings import Settings, flag
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
# the largest crop each recipe's flags won at (docs/recipes.md); above it the recipe stands for the official
# recipe: at 128 px fast's flags, and DiffAugment translation alone, only tie with it over two seeds, and the 34x34
# PatchGAN alone loses on both seeds
WON_UP_TO_CROP = {"fast": 64}
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


def recipe_defaults(recipe, crop_size):
    """The flags --recipe NAME sets at --crop_size: its own up to the largest crop they won at, none above."""
    limit = WON_UP_TO_CROP.get(recipe)
    return {} if limit is not None and crop_size > limit else dict(RECIPES[recipe])


def recipe_flags(name):
    """The command-line flags --recipe NAME stands for at the crops it won at, e.g. ['--diffaug', 'translation']."""
    out = []
    for key, value in RECIPES[name].items():
        if value is True:
            out.append(f"--{key}")
        elif value is False:
            out.append(f"--no-{key}")
        else:
            out += [f"--{key}", str(value)]
    return out


def crop_note(recipe, crop_size):
    """A line for a recipe that stands for the official one at this crop size, else None."""
    if recipe_defaults(recipe, crop_size) == RECIPES[recipe]:
        return None
    own = " ".join(recipe_flags(recipe))
    return (f"--recipe {recipe} at --crop_size {crop_size}: the official recipe's settings, the measured best above "
            f"{WON_UP_TO_CROP[recipe]} px crops (docs/recipes.md, 'At 128 px'); its {WON_UP_TO_CROP[recipe]} px flags "
            f"lost there. To train with them anyway, type them: {own}")


@dataclass(frozen=True)
class RecipeSettings(Settings):
    """The recipe's flags, declared once: --help, the defaults and what the training step reads."""
    recipe: str = flag("official", "official: the official defaults; fast: the measured best per crop size: up to "
                       "64 px crops DiffAugment translation and a 34x34 PatchGAN, above them the official settings "
                       "(docs/recipes.md); typed flags override it", choices=list(RECIPES))
    diffaug: str = flag("", "DiffAugment policy on every discriminator input: a comma list of color, "
                        "translation[:RATIO], cutout[:RATIO]; empty: off", type=_policy)
    ema_decay: float = flag(0.0, "keep exponential moving averages of the generators (e.g. 0.999), saved as "
                            "{epoch}_net_G_A_ema.pth and used by test/eval by default; 0 = off", type=_decay)
    spectral_norm: bool = flag(False, "spectral normalisation of the discriminators' weights",
                               action=argparse.BooleanOptionalAction)
    lambda_r1: float = flag(0.0, "R1 penalty weight on real inputs; 0 = off", type=float)
    r1_every: int = flag(16, "lazy R1: apply it every N steps, weighted by N", type=int)
    lr_G: float = flag(None, "generators' learning rate; None: --lr", type=float)
    lr_D: float = flag(None, "discriminators' learning rate; None: --lr", type=float)
    lr_batch_rule: str = flag("none", "scale the learning rates with --batch_size: sqrt (the rule for Adam), "
                              "linear, or none (official)", choices=LR_BATCH_RULES)
    upsample_init: str = flag("random", "bilinear: start the generators' transposed convs as bilinear upsampling "
                              "(no checkerboard at the start; the official layout and files)",
                              choices=("random", "bilinear"))
    init_from: str = flag(None, "start the generators from a run folder (its latest generators, averaged ones "
                          "first) or from files: G_A=FILE,G_B=FILE (either one alone is fine)")
    raw_weights: bool = flag(False, "the raw generators even where the run saves or saved averaged (--ema_decay) "
                             "ones ({epoch}_net_G_X_ema.pth): for the quality curves, testing, scoring, export")


def add_flags(parser):
    """The recipe flags of training (cycle_gan's option setter adds them), generated from RecipeSettings."""
    return RecipeSettings.add_arguments(
        parser.add_argument_group("training recipe (docs/recipes.md); every technique is off by default"))


def learning_rate(opt, net):
    """The initial learning rate of net 'G' or 'D': --lr_G/--lr_D (else --lr), scaled by --lr_batch_rule."""
    s = RecipeSettings.from_opt(opt)
    lr = (s.lr_G if net == "G" else s.lr_D) or opt.lr
    if s.lr_batch_rule == "linear":
        return lr * opt.batch_size
    if s.lr_batch_rule == "sqrt":
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
    from .weights import load_official_state_dict
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
        s = RecipeSettings.from_opt(opt)
        self.augment = augmenter(s.diffaug) if train else identity
        gamma = s.lambda_r1 if train else 0.0
        self.r1 = R1(gamma, s.r1_every) if gamma > 0 else None
        if train and s.upsample_init == "bilinear":
            for net in generators.values():
                bilinear_init_(net, opt.init_gain)
        if train and s.init_from and not opt.continue_train:
            init_generators(s.init_from, generators)
        decay = s.ema_decay if train else 0.0
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
