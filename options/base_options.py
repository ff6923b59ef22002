"""The one shape of every option class (`Options`), and the options shared by training and testing,
with the official CycleGAN flag names and defaults.

XOptions().parse(argv) returns a plain argparse.Namespace. Each run writes its options to
checkpoints/NAME/{phase}_opt.txt (readable) and {phase}_opt.json (read back at test time).
"""
import argparse
import os
import re
import sys
import warnings

import torch

from cyclegan.data.settings import DataSettings
from cyclegan.display.settings import SHARED as SHARED_DISPLAY_FLAGS, DisplaySettings
from cyclegan.io import atomic_write_json, atomic_write_text
from cyclegan.models import MODEL_CHOICES, apply_presets, get_option_setter
from cyclegan.data.settings import DIRECTIONS
from cyclegan.models.recipe import RecipeSettings
from cyclegan.models.settings import NetSettings
from cyclegan.models.speed import SpeedSettings, resolve_options
from cyclegan.perf import resolve_device
from cyclegan.runs.layout import RunFolder
from cyclegan.runs.settings import DEFAULT_CHECKPOINTS_DIR, RunSettings

DEFAULT_SEED = 0  # the one seed rule of every command: see add_seed_option
DEFAULT_RESULTS_DIR = "./results/"


def default_gpu_ids():
    return "0" if torch.cuda.is_available() else "-1"


def device_flag(text):
    """--device's type: auto, cpu, cuda or cuda:N (whether that device exists is checked after parsing)."""
    if not re.fullmatch(r"auto|cpu|cuda(:\d+)?", text):
        raise argparse.ArgumentTypeError(f"{text!r}: give auto, cpu, cuda or cuda:N")
    return text


def add_device_option(p, what="runs"):
    """--device auto|cpu|cuda|cuda:N, the one device flag of every command but the official train and test
    (--gpu_ids); Options.parse resolves it (cyclegan.perf.resolve_device) into opt.device, a torch.device."""
    shown = issubclass(getattr(p, "formatter_class", object), argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--device", type=device_flag, default="auto",
                   help=f"where it {what}: auto (CUDA when there is a GPU, else the CPU), cpu, cuda or cuda:N"
                        + ("" if shown else " (default: auto)"))
    return p


def add_checkpoints_dir_option(p):
    """--checkpoints_dir of the commands that read runs (BaseOptions has the official one)."""
    p.add_argument("--checkpoints_dir", default=DEFAULT_CHECKPOINTS_DIR, help=f"(default: {DEFAULT_CHECKPOINTS_DIR})")
    return p


def add_raw_weights_option(p):
    """--raw_weights, declared once by the recipe that saves the averaged weights (RecipeSettings)."""
    RecipeSettings.add_arguments(p, only=("raw_weights",))
    return p


def add_load_options(p):
    """--epoch, --direction, --model_suffix, --raw_weights: which saved generator of a run to load (cyclegan-video,
    cyclegan-stereo, cyclegan-compare)."""
    p.add_argument("--epoch", default="latest", help="which saved network to load (default: latest)")
    p.add_argument("--direction", default="AtoB", choices=DIRECTIONS,
                   help="cyclegan: AtoB (default) when paintings are A and photos B, as in vangogh2photo")
    p.add_argument("--model_suffix", default=None,
                   help="cyclegan: load {epoch}_net_G{suffix}.pth instead (e.g. '' for latest_net_G.pth)")
    add_raw_weights_option(p)
    return p


def add_inference_speed_options(p):
    """--amp and --compile: how cyclegan.load runs a saved generator (cyclegan-video); each default is the
    loader's own (cyclegan.inference.translator), so None means "as cyclegan-test runs it"."""
    p.add_argument("--amp", default=None, choices=("none", "bf16"),
                   help="precision of the generator: none (float32) or bf16 (default: bf16 on a GPU and on CPUs "
                        "with native bf16, float32 otherwise)")
    p.add_argument("--compile", default=None, action=argparse.BooleanOptionalAction,
                   help="run the generator through torch.compile (inductor; needs a C++ compiler on the CPU): the "
                        "first batch of each shape compiles, for seconds to minutes, then frames run faster "
                        "(default: on for CUDA only)")
    return p


def add_c2st_repeats_option(p, flag="--c2st_repeats"):
    """The C2ST's repeated cross-validation (metrics/c2st.py): its default is the metric's."""
    from cyclegan.metrics.c2st import DEFAULT_REPEATS  # here: training's options need not load the metrics
    p.add_argument(flag, type=_at_least_one, default=DEFAULT_REPEATS,
                   help=f"run the C2ST this many times (classifier seeds SEED, SEED+1, ...) and report the mean: on a "
                        f"few dozen images one seed's figure moves by up to 0.15 (default: {DEFAULT_REPEATS})")
    return p


def check_lowest(parser, opt, lowest):
    """Refuse any flag below its lowest value, naming it: lowest = {option name: lowest value}; unset (None) passes."""
    for name, low in lowest.items():
        value = getattr(opt, name)
        if value is not None and value < low:
            parser.error(f"--{name} must be at least {low}, got {value}")


def _at_least_one(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def add_seed_option(p, what, resumes=False):
    """--seed with the one seed rule of every command in its help: default 0, so the same command repeats its
    random draws; a resumed run keeps its own seed. apply_seed_rule fills opt.seed after parsing."""
    rule = f"random seed for {what}: the same seed repeats the same random draws (default: {DEFAULT_SEED}"
    rule += "; with --continue_train, the run's own seed)" if resumes else ")"
    p.add_argument("--seed", type=int, default=argparse.SUPPRESS, help=rule)
    return p


def apply_seed_rule(opt, saved=None):
    """opt.seed: --seed when given, else the resumed run's saved seed (`saved`: its options), else DEFAULT_SEED."""
    if getattr(opt, "seed", None) is None:
        saved_seed = (saved or {}).get("seed")
        opt.seed = DEFAULT_SEED if saved_seed is None else saved_seed
    return opt


class Options:
    """Every option class has this shape: `XOptions().parse(argv)` -> argparse.Namespace (argv None: sys.argv).

    A subclass sets `prog`/`description`, adds its flags in `initialize(parser)` and checks or completes
    the parsed values in `finish(opt)` (where `self.parser.error` reports a bad value)."""
    prog = None  # None: the script's name
    description = None
    formatter = argparse.HelpFormatter

    def initialize(self, parser):
        return parser

    def build_parser(self, argv):
        parser = argparse.ArgumentParser(prog=self.prog or os.path.basename(sys.argv[0]),
                                         description=self.description, formatter_class=self.formatter)
        self.initialize(parser)
        return parser

    def parse(self, argv=None):
        argv = sys.argv[1:] if argv is None else list(argv)
        self.parser = self.build_parser(argv)
        opt = self.parser.parse_args(argv)
        if isinstance(getattr(opt, "device", None), str):  # --device (add_device_option)
            opt.device = self.resolve_device(opt.device)
        self.finish(opt)
        self.opt = opt
        return opt

    def parse_values(self, **values):
        """Options from Python values, e.g. TrainOptions().parse_values(dataroot=root, n_epochs=1, amp="bf16"): the
        command line's one road (model flags, presets, resume, checks, explicit flags), so a caller names settings
        and never spells flags. A name the command lacks is a ValueError naming it."""
        return self.parse(values_to_argv(self.build_parser, values))

    def resolve_device(self, text):
        """--device's value as a torch.device; a device this machine lacks is a flag error (exit 2)."""
        try:
            return resolve_device(text)
        except ValueError as e:
            self.parser.error(str(e))

    def finish(self, opt):
        """Hook for option sets to check and complete values after parsing (self.parser.error for bad values)."""


class BaseOptions(Options):
    isTrain = False
    formatter = argparse.ArgumentDefaultsHelpFormatter

    def initialize(self, parser):
        p = parser
        p.add_argument("--dataroot", default=None,
                       help="dataset folder with trainA, trainB, testA, testB; for --model test (one direction) "
                            "a folder of images or one image file")
        RunSettings.add_arguments(p, only=("name",))
        p.add_argument("--gpu_ids", type=str, default=default_gpu_ids(),
                       help="the GPU to use, e.g. 0 or 1, or -1 for the CPU (default: the first GPU if any, else "
                            "CPU); for several GPUs start one process per GPU with torchrun")
        RunSettings.add_arguments(p, only=("checkpoints_dir",))
        add_seed_option(p, "weights, data order and augmentation", resumes=self.isTrain)
        # model parameters (the architecture: cyclegan/models/settings.py)
        p.add_argument("--model", type=str, default="cycle_gan", choices=list(MODEL_CHOICES),
                       help="cycle_gan, cut (CUT / FastCUT: --CUT_mode), or test for a single generator (one direction)")
        NetSettings.add_arguments(p)
        # dataset parameters (cyclegan/data/settings.py)
        DataSettings.add_arguments(p, skip=("strict",))
        # additional parameters (the run folder: cyclegan/runs/settings.py)
        RunSettings.add_arguments(p, only=("epoch", "load_iter"))
        p.add_argument("--verbose", action="store_true", help="if specified, print more debugging information")
        RunSettings.add_arguments(p, only=("suffix",))
        # speed (defaults chosen per device; see docs/speed.md; cyclegan/models/speed.py)
        SpeedSettings.add_arguments(p.add_argument_group("speed (docs/speed.md)"), skip=("deterministic",
                                                                                        *SpeedSettings.TRAINING_ONLY))
        # reliability
        reliability = p.add_argument_group("reliability")
        DataSettings.add_arguments(reliability, only=("strict",))
        SpeedSettings.add_arguments(reliability, only=("deterministic",))
        # the display flags training and testing share (--display_winsize, Weights & Biases)
        self.display_group = p.add_argument_group("display (training page, visdom, W&B, TensorBoard)")
        DisplaySettings.add_arguments(self.display_group, only=SHARED_DISPLAY_FLAGS)
        return p

    def build_parser(self, argv):
        """Base flags, then the chosen model's own flags and defaults (official two-pass parse); -h/--help is
        held back from the first passes so the help lists the model's flags too."""
        parser = super().build_parser(argv)
        argv = without_help(argv)
        known, _ = parser.parse_known_args(argv)
        if known.model is not None:
            get_option_setter(known.model)(parser, self.isTrain)
            self.model_presets(parser, known.model, argv)
        return parser

    def model_presets(self, parser, model, argv):
        """The model's presets (BaseModel.apply_presets: defaults that depend on its own flags, e.g. --CUT_mode),
        once its flags are on the parser."""
        known, _ = parser.parse_known_args(argv)
        apply_presets(model, parser, known, self.isTrain)

    def gather_options(self, argv=None):
        argv = sys.argv[1:] if argv is None else list(argv)
        self.parser = self.build_parser(argv)
        opt = self.parser.parse_args(argv)
        opt.explicit = sorted(explicit_flags(self.parser, argv))
        return opt

    def parse(self, argv=None):
        opt = self.gather_options(argv)
        opt.isTrain = self.isTrain
        if opt.suffix:
            opt.name = opt.name + "_" + opt.suffix.format(**vars(opt))
        try:
            opt.gpu_ids = parse_gpu_ids(opt.gpu_ids)
            with warnings.catch_warnings():  # configure() warns where it applies them
                warnings.simplefilter("ignore")
                resolve_options(opt, "cuda" if opt.gpu_ids else "cpu")  # --amp, --cudnn_benchmark x --deterministic
        except ValueError as e:
            self.parser.error(str(e))
        opt.device = torch.device("cuda", opt.gpu_ids[0]) if opt.gpu_ids else torch.device("cpu")
        self.finish(opt)
        self.opt = opt
        return opt


def parse_gpu_ids(text):
    """'-1' -> [] (CPU), '1' -> [1]. One process drives one device: several ids are an error (ValueError) naming
    torchrun."""
    if isinstance(text, list):
        return text
    try:
        ids = [int(x) for x in str(text).split(",") if x.strip() and int(x) >= 0]
    except ValueError:
        raise ValueError(f"--gpu_ids {text}: give one GPU id such as 0, or -1 for the CPU") from None
    if len(ids) > 1:
        raise ValueError(f"--gpu_ids {text}: one process trains on one GPU. For {len(ids)} GPUs start one process "
                         f"per GPU: CUDA_VISIBLE_DEVICES={','.join(map(str, ids))} torchrun --standalone "
                         f"--nproc_per_node={len(ids)} -m cyclegan.train ... (docs/multi-gpu.md)")
    if ids and not torch.cuda.is_available():
        raise ValueError(f"--gpu_ids {text}: no CUDA GPU is available on this machine; use --gpu_ids -1 for the CPU")
    if ids and ids[0] >= torch.cuda.device_count():
        raise ValueError(f"--gpu_ids {text}: this machine has {torch.cuda.device_count()} GPU(s), ids 0 to "
                         f"{torch.cuda.device_count() - 1}")
    return ids


def values_to_argv(build_parser, values):
    """The command line that sets `values` ({name: value}; True/False for switches, lists comma-joined), checked
    against the parser those values build (a model's flags exist only once --model is known)."""
    def tokens(name, value):
        if isinstance(value, bool):  # store_true, BooleanOptional (--no-x) and the CUT code's `--x false` switches
            return [[f"--{name}"]] if value else [[], [f"--no-{name}"], [f"--{name}", "false"]]
        return [[f"--{name}", ",".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)]]

    values = {k: v for k, v in values.items() if v is not None}
    parser = build_parser([t for k, v in values.items() for t in tokens(k, v)[0]])
    argv = []
    for name, value in values.items():
        for form in tokens(name, value):
            got, unknown = parser.parse_known_args(form)
            if not unknown and (value is not False or getattr(got, name, None) is False):
                argv += form
                break
        else:
            raise ValueError(f"{parser.prog} has no --{name} taking {value!r} (see {parser.prog} --help)")
    return argv


def without_help(argv):
    """argv less -h/--help: the first, partial parses must not print a help that lacks the later flags."""
    return [a for a in argv if a not in ("-h", "--help")]


class _Untyped(argparse.Namespace):
    """A namespace that claims to hold every name (as None), so argparse fills in no default: after a parse it
    holds only the options typed on the command line (and the values argparse read for them)."""

    def __getattr__(self, name):
        if name.startswith("_"):  # argparse's own bookkeeping (_unrecognized_args)
            raise AttributeError(name)
        return None


def explicit_flags(parser, argv):
    """Names of the options the user actually typed (to tell them apart from defaults), through argparse's
    public `namespace` argument: it sets a default only where the namespace lacks the name."""
    ns, _ = parser.parse_known_args(without_help(argv), namespace=_Untyped())
    return set(vars(ns))


INTERNAL = ("explicit",)  # bookkeeping on the namespace, not options: kept out of the dumps


def option_items(opt):
    return sorted((k, v) for k, v in vars(opt).items() if k not in INTERNAL)


def option_lines(opt, parser=None):
    lines = ["----------------- Options ---------------"]
    for k, v in option_items(opt):
        default = parser.get_default(k) if parser is not None else None
        note = f"\t[default: {default}]" if parser is not None and v != default and default is not None else ""
        lines.append(f"{k:>25}: {str(v):<30}{note}")
    lines.append("----------------- End -------------------")
    return lines


def save_options(opt, folder, phase, parser=None, echo=True):
    """Write {phase}_opt.txt and {phase}_opt.json into folder (official text layout plus JSON)."""
    text = "\n".join(option_lines(opt, parser))
    if echo:
        print(text)
    run = RunFolder(folder)
    atomic_write_text(run.options_file(phase, text=True), text + "\n")
    data = {k: (v if isinstance(v, (int, float, str, bool, list, type(None))) else str(v))
            for k, v in option_items(opt)}
    atomic_write_json(run.options_file(phase), data, indent=1, sort_keys=True, default=str)
