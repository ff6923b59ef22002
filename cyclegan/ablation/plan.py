"""What an ablation sweep trains: named variants (training flags), the runs that train them (one per variant
group and seed), and the fixed protocol they share (steps, schedule, evaluation points).

Every variant trains for the same number of steps from the same seeds. Runs are named after the options they
change (so `--recipe fast` at 64 px and the flags it stands for are one run, and a changed recipe is a new run).
Variants whose options differ only by --ema_decay share one run: the EMA never changes training (no random
draws, no weight change), so that run is scored with its raw generators for one variant and with the
averages for the other. The schedule is the
official linear one over the variant's epochs, the last `decay` fraction of them decaying (official: half).
"""
import math
import re
import zlib
from dataclasses import dataclass, field

from ..errors import UserError
from ..models.recipe import recipe_flags

_FASTCUT = ["--model", "cut", "--CUT_mode", "FastCUT", "--direction", "BtoA"]
# name -> (training flags, decay fraction or None for the sweep's); {netG} is the sweep's generator
CATALOGUE = {
    "official": ([], None),
    "ema": (["--ema_decay", "0.999"], None),
    "diffaug_translation": (["--diffaug", "translation"], None),
    "diffaug_strong": (["--diffaug", "color,translation,cutout"], None),
    "nearest": (["--netG", "{netG}_nearest"], None),
    "bilinear_init": (["--upsample_init", "bilinear"], None),
    "d_layers2": (["--netD", "n_layers", "--n_layers_D", "2"], None),
    "spectral_norm": (["--spectral_norm"], None),
    "r1": (["--lambda_r1", "10"], None),
    "hinge": (["--gan_mode", "hinge"], None),
    "ttur": (["--lr_D", "0.0004"], None),
    "lr_x2": (["--lr", "0.0004"], None),
    "decay_75": ([], 0.75),
    "batch2": (["--batch_size", "2", "--lr_batch_rule", "sqrt"], None),
    # fast's own (64 px) flags at every crop size; --recipe fast stands for official above 64 px
    "fast": (recipe_flags("fast"), None),
    # CUT and FastCUT (--model cut) trained photo -> painting (the datasets' B -> A) to be scored as G_B is;
    # their epochs are the sweep's, not the CUT code's 200+200 / 150+50
    "cut": (["--model", "cut", "--CUT_mode", "CUT", "--direction", "BtoA"], None),
    "fastcut": (_FASTCUT, None),
    "fastcut_diffaug": (_FASTCUT + ["--diffaug", "translation"], None),
}
# set by the sweep for every run; a variant or the common flags may not set them
RESERVED = ("--name", "--checkpoints_dir", "--seed", "--n_epochs", "--n_epochs_decay", "--save_epoch_freq",
            "--continue_train", "--dataroot", "--eval_freq", "--epoch_count", "--overwrite", "--resume_from")


class AblationError(UserError):
    """A sweep that cannot run as asked (bad variant, steps that are not whole epochs, changed protocol)."""


@dataclass
class Variant:
    name: str
    flags: list
    decay: float | None = None  # None: the sweep's --decay
    pair_of: str | None = None  # the variant this one adds --ema_decay to (dropped if that one averages already)


@dataclass
class Run:
    """One training run: a variant group at one seed. `variants`: [(variant name, 'raw' | 'ema')] it scores."""
    key: str
    seed: int
    flags: list
    decay: float
    epochs: int
    steps_per_epoch: int
    save_freq: int
    variants: list = field(default_factory=list)

    @property
    def folder(self):
        return f"{self.key}_s{self.seed}"

    @property
    def n_epochs_decay(self):
        return round(self.epochs * self.decay)

    @property
    def eval_epochs(self):
        return list(range(self.save_freq, self.epochs + 1, self.save_freq))


def parse_variant(text):
    """'NAME' (from the catalogue) or 'NAME=FLAGS' (a custom variant; '--decay F' in FLAGS sets its decay)."""
    name, sep, rest = text.partition("=")
    name = name.strip()
    if not re.fullmatch(r"[A-Za-z0-9_.+-]+", name or "-/"):
        raise AblationError(f"--variant {text!r}: a name of letters, digits and _.+- comes first (NAME=FLAGS)")
    if not sep:
        if name not in CATALOGUE:
            raise AblationError(f"variant {name!r} is not one of: {', '.join(CATALOGUE)}; define it with "
                                f"--variant '{name}=--flag value ...'")
        flags, decay = CATALOGUE[name]
        return Variant(name, list(flags), decay)
    flags, decay = rest.split(), None
    if "--decay" in flags:
        i = flags.index("--decay")
        try:
            decay = float(flags[i + 1])
        except (IndexError, ValueError):
            raise AblationError(f"--variant {text!r}: --decay needs a fraction, e.g. --decay 0.75") from None
        del flags[i:i + 2]
    return Variant(name, flags, decay)


def check_flags(flags, where):
    bad = sorted({f.split("=")[0] for f in flags if f.split("=")[0] in RESERVED})
    if bad:
        raise AblationError(f"{where}: {', '.join(bad)} {'is' if len(bad) == 1 else 'are'} set by the sweep for every "
                            f"run (steps, seeds, names); drop {'it' if len(bad) == 1 else 'them'}")


def without_ema(flags):
    """The flags without --ema_decay (the average is chosen per run)."""
    out, i = [], 0
    while i < len(flags):
        if flags[i] == "--ema_decay" and i + 1 < len(flags):
            i += 2
        elif flags[i].startswith("--ema_decay="):
            i += 1
        else:
            out.append(flags[i])
            i += 1
    return out


def slug(changes, decay, default_decay):
    """A run folder name from the options a run changes ({key: value}), sorted: the same training gets the
    same name however its flags were written (--recipe fast or the flags it stands for) and on every resume."""
    text = " ".join(f"{k} {v}" for k, v in sorted(changes.items())) + \
        ("" if decay == default_decay else f" decay {decay:g}")
    text = re.sub(r"[^A-Za-z0-9.]+", "_", text).strip("_") or "official"
    return text if len(text) <= 60 else f"{text[:48]}_{zlib.crc32(text.encode()):08x}"


def steps_layout(name, steps, eval_every, steps_per_epoch, batch_size):
    """(epochs, save_freq) for `steps` steps of `steps_per_epoch`, evaluated every `eval_every` steps."""
    for what, value in (("--steps", steps), ("--eval_every", eval_every)):
        if value % steps_per_epoch:
            raise AblationError(
                f"{what} {value} is not a whole number of epochs for variant {name} ({steps_per_epoch} steps per "
                f"epoch at batch {batch_size}); use a multiple of {steps_per_epoch}")
    if steps % eval_every:
        raise AblationError(f"--steps {steps} is not a multiple of --eval_every {eval_every}")
    return steps // steps_per_epoch, eval_every // steps_per_epoch


def plan(variants, seeds, steps, eval_every, decay, common, describe, order="seeds"):
    """Runs for `variants` x `seeds`. describe(flags) -> (batch_size, steps_per_epoch, netG, changes) of the
    training options that the common flags plus `flags` give (the caller parses them); `changes` holds the
    options that differ from the common flags' ({key: value}, --recipe left out: only what it sets counts).
    Variants that change the same options but --ema_decay share a run. Returns (runs, {variant: 'raw' |
    'ema'}) in training order: every variant at the first seed, then at the next (order 'seeds'), or each
    variant at every seed before the next variant ('variants'); an EMA pair of a variant that averages already
    is left out."""
    check_flags(common, "the common training flags (after --)")
    netG = describe([])[2]
    groups, weights = {}, {}
    for v in variants:
        if v.pair_of is not None and weights.get(v.pair_of) == "ema":
            continue
        flags = [f.replace("{netG}", netG) for f in v.flags]
        check_flags(flags, f"variant {v.name}")
        batch, spe, _, changes = describe(flags)
        ema = changes.get("ema_decay", 0.0)
        weights[v.name] = "ema" if ema > 0 else "raw"
        vdecay = decay if v.decay is None else v.decay
        if not 0 <= vdecay <= 1:
            raise AblationError(f"variant {v.name}: the decay fraction must lie in [0, 1], got {vdecay}")
        epochs, save_freq = steps_layout(v.name, steps, eval_every, spe, batch)
        key = (tuple(sorted((k, str(x)) for k, x in changes.items() if k != "ema_decay")), vdecay)
        group = groups.setdefault(key, {"emas": {}, "raw": [], "flags": without_ema(flags), "changes": changes,
                                        "layout": (epochs, spe, save_freq)})
        (group["emas"].setdefault(ema, []) if ema > 0 else group["raw"]).append(v.name)
    runs = []
    for (_, vdecay), g in groups.items():
        epochs, spe, save_freq = g["layout"]
        parts = [(value, names) for value, names in g["emas"].items()] or [(0.0, [])]
        for i, (ema, ema_names) in enumerate(parts):
            flags = g["flags"] + (["--ema_decay", f"{ema:g}"] if ema > 0 else [])
            changes = {k: x for k, x in g["changes"].items() if k != "ema_decay"}
            changes.update({"ema_decay": f"{ema:g}"} if ema > 0 else {})
            scored = [(n, weights[n]) for n in (g["raw"] if i == 0 else [])] + [(n, "ema") for n in ema_names]
            for seed in seeds:
                runs.append(Run(slug(changes, vdecay, decay), seed, flags, vdecay, epochs, spe, save_freq,
                                list(scored)))
    rank = {v.name: i for i, v in enumerate(variants) if v.name in weights}
    key = (lambda r: (seeds.index(r.seed), min(rank[n] for n, _ in r.variants))) if order == "seeds" else \
        (lambda r: (min(rank[n] for n, _ in r.variants), seeds.index(r.seed)))
    runs.sort(key=key)
    return runs, weights


def steps_per_epoch(dataset_size, batch_size):
    return math.ceil(dataset_size / batch_size)
