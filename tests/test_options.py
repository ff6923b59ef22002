"""Options: official names and defaults, saved options, architecture taken from the saved run at test time."""
import inspect
import json
import re

import pytest
from conftest import REPO

from options.base_options import save_options
from options.test_options import TestOptions
from options.train_options import TrainOptions

OFFICIAL_DEFAULTS = dict(
    lr=0.0002, beta1=0.5, n_epochs=100, n_epochs_decay=100, lr_policy="linear", lambda_A=10.0, lambda_B=10.0,
    lambda_identity=0.5, gan_mode="lsgan", pool_size=50, load_size=286, crop_size=256, batch_size=1, ngf=64,
    ndf=64, netG="resnet_9blocks", netD="basic", n_layers_D=3, norm="instance", init_type="normal",
    init_gain=0.02, no_dropout=True, epoch_count=1, continue_train=False, epoch="latest", direction="AtoB",
    serial_batches=False, max_dataset_size=float("inf"), preprocess="resize_and_crop", no_flip=False,
    checkpoints_dir="./checkpoints", name="experiment_name", phase="train", model="cycle_gan",
    display_id=1, display_server="http://localhost", display_port=8097, display_ncols=4, display_freq=400,
    update_html_freq=1000, print_freq=100, no_html=False, save_latest_freq=5000, save_epoch_freq=5,
    use_wandb=False, wandb_project_name="CycleGAN-and-pix2pix")

# every flag of the official train.py and test.py (options/base_options.py, train_options.py, test_options.py and
# the cycle_gan / test models' own flags, junyanz/pytorch-CycleGAN-and-pix2pix), with a value where it takes one
OFFICIAL_BASE_FLAGS = [
    ("--dataroot", "d"), ("--name", "n"), ("--gpu_ids", "-1"), ("--checkpoints_dir", "./checkpoints"),
    ("--model", "cycle_gan"), ("--input_nc", "3"), ("--output_nc", "3"), ("--ngf", "64"), ("--ndf", "64"),
    ("--netD", "basic"), ("--netG", "resnet_9blocks"), ("--n_layers_D", "3"), ("--norm", "instance"),
    ("--init_type", "normal"), ("--init_gain", "0.02"), ("--no_dropout",), ("--dataset_mode", "unaligned"),
    ("--direction", "AtoB"), ("--serial_batches",), ("--num_threads", "0"), ("--batch_size", "1"),
    ("--load_size", "286"), ("--crop_size", "256"), ("--max_dataset_size", "100"),
    ("--preprocess", "resize_and_crop"), ("--no_flip",), ("--display_winsize", "256"), ("--epoch", "latest"),
    ("--load_iter", "0"), ("--verbose",), ("--suffix", ""), ("--use_wandb",), ("--wandb_project_name", "p")]
OFFICIAL_TRAIN_FLAGS = OFFICIAL_BASE_FLAGS + [
    ("--display_freq", "400"), ("--display_ncols", "4"), ("--display_id", "1"), ("--display_server", "http://localhost"),
    ("--display_env", "main"), ("--display_port", "8097"), ("--update_html_freq", "1000"), ("--print_freq", "100"),
    ("--no_html",), ("--save_latest_freq", "5000"), ("--save_epoch_freq", "5"), ("--save_by_iter",),
    ("--continue_train",), ("--epoch_count", "1"), ("--phase", "train"), ("--n_epochs", "100"),
    ("--n_epochs_decay", "100"), ("--beta1", "0.5"), ("--lr", "0.0002"), ("--gan_mode", "lsgan"),
    ("--pool_size", "50"), ("--lr_policy", "linear"), ("--lr_decay_iters", "50"),
    ("--lambda_A", "10.0"), ("--lambda_B", "10.0"), ("--lambda_identity", "0.5")]
OFFICIAL_TEST_FLAGS = [f for f in OFFICIAL_BASE_FLAGS if f[0] != "--model"] + [
    ("--results_dir", "./results/"), ("--aspect_ratio", "1.0"), ("--phase", "test"), ("--eval",),
    ("--num_test", "50"), ("--model", "test"), ("--model_suffix", "")]


def test_train_defaults_are_the_official_ones():
    opt = TrainOptions().parse(["--dataroot", "d"])
    for k, v in OFFICIAL_DEFAULTS.items():
        assert getattr(opt, k) == v, k
    assert opt.display_env == "experiment_name"  # the experiment name, not 'main'
    assert 1 <= opt.num_threads <= 4


def flag_error(capsys, parse, argv):
    """parse(argv) must fail as a flag error: exit status 2, usage and the message on stderr."""
    with pytest.raises(SystemExit) as e:
        parse(argv)
    assert e.value.code == 2
    return capsys.readouterr().err


def test_every_official_train_and_test_flag_parses():
    """The official command lines work here unchanged: no official flag is refused (argparse would exit 2)."""
    train = TrainOptions().parse([a for flag in OFFICIAL_TRAIN_FLAGS for a in flag])
    assert train.use_wandb and train.wandb_project_name == "p" and train.lambda_identity == 0.5
    test = TestOptions().parse([a for flag in OFFICIAL_TEST_FLAGS for a in flag] + ["--checkpoints_dir", "/nonexistent"])
    assert test.use_wandb and test.wandb_project_name == "p" and test.num_test == 50 and test.eval


def test_gpu_ids_default_to_cpu_without_a_gpu(capsys):
    import torch
    opt = TrainOptions().parse(["--dataroot", "d"])
    assert opt.gpu_ids == ([0] if torch.cuda.is_available() else [])
    assert opt.device == (torch.device("cuda", 0) if torch.cuda.is_available() else torch.device("cpu"))
    assert TrainOptions().parse(["--dataroot", "d", "--gpu_ids", "-1"]).device == torch.device("cpu")
    if not torch.cuda.is_available():
        err = flag_error(capsys, TrainOptions().parse, ["--dataroot", "d", "--gpu_ids", "0"])
        assert "error: --gpu_ids 0: no CUDA" in err


def test_several_gpu_ids_point_at_torchrun(capsys):
    for argv in (["--gpu_ids", "0,1"], ["--gpu_ids", "2,3,5"]):
        err = flag_error(capsys, TrainOptions().parse, ["--dataroot", "d", *argv])
        assert "one process trains on one GPU" in err and "torchrun --standalone --nproc_per_node=" in err
    err = flag_error(capsys, TrainOptions().parse, ["--dataroot", "d", "--gpu_ids", "x"])
    assert "--gpu_ids x: give one GPU id" in err


def test_test_defaults():
    opt = TestOptions().parse(["--dataroot", "d", "--checkpoints_dir", "/nonexistent"])
    assert opt.num_test is None  # everything, not 50
    assert opt.model == "test" and opt.dataset_mode == "single"  # no saved run: one generator
    assert opt.load_size == opt.crop_size == 256 and opt.no_flip and opt.serial_batches
    assert opt.results_dir == "./results/" and opt.aspect_ratio == 1.0 and opt.phase == "test"


def test_missing_dataroot_says_how_to_get_one(capsys):
    assert "download_cyclegan_dataset" in flag_error(capsys, TrainOptions().parse, [])


def test_conflicting_speed_flags_are_flag_errors(capsys):
    err = flag_error(capsys, TrainOptions().parse, ["--dataroot", "d", "--cudnn_benchmark", "--deterministic"])
    assert "--cudnn_benchmark and --deterministic conflict" in err


def saved_run(tmp_path, *flags):
    parser = TrainOptions()
    opt = parser.parse(["--dataroot", "d", "--name", "run", "--checkpoints_dir", str(tmp_path), *flags])
    save_options(opt, tmp_path / "run", "train", parser.parser, echo=False)
    return opt


def test_options_are_saved_as_text_and_json(tmp_path):
    saved_run(tmp_path, "--ngf", "16")
    assert "ngf: 16" in " ".join((tmp_path / "run" / "train_opt.txt").read_text().split())
    assert json.loads((tmp_path / "run" / "train_opt.json").read_text())["ngf"] == 16


def test_test_time_architecture_comes_from_the_saved_run(tmp_path, capsys):
    saved_run(tmp_path, "--ngf", "16", "--netG", "unet_128", "--norm", "batch")
    opt = TestOptions().parse(["--dataroot", "d", "--name", "run", "--checkpoints_dir", str(tmp_path)])
    assert (opt.ngf, opt.netG, opt.norm, opt.model) == (16, "unet_128", "batch", "cycle_gan")
    err = flag_error(capsys, TestOptions().parse,
                     ["--dataroot", "d", "--name", "run", "--checkpoints_dir", str(tmp_path), "--ngf", "32"])
    assert "--ngf 32 was given, but the run was trained with ngf=16" in err
    same = TestOptions().parse(["--dataroot", "d", "--name", "run", "--checkpoints_dir", str(tmp_path), "--ngf", "16"])
    assert same.ngf == 16


def test_model_flags_come_from_the_model(tmp_path):
    opt = TestOptions().parse(["--dataroot", "d", "--model", "test", "--model_suffix", "_A",
                               "--checkpoints_dir", str(tmp_path)])
    assert opt.model_suffix == "_A"
    with pytest.raises(SystemExit):
        TrainOptions().parse(["--dataroot", "d", "--model", "nosuchmodel"])


# ---- one shape for every option class ------------------------------------------------------------

def option_classes():
    """Every *Options class defined in options/*.py."""
    import importlib
    import inspect
    out = []
    for path in sorted((REPO / "options").glob("*_options.py")):
        module = importlib.import_module(f"options.{path.stem}")
        out += [c for name, c in inspect.getmembers(module, inspect.isclass)
                if name.endswith("Options") and c.__module__ == module.__name__]
    return out


def test_every_option_class_has_the_one_shape():
    from options.base_options import Options
    classes = option_classes()
    names = {c.__name__ for c in classes}
    assert {"BaseOptions", "TrainOptions", "TestOptions", "GatysOptions", "CompareOptions", "BenchmarkOptions",
            "GatysBenchmarkOptions"} <= names
    for cls in classes:
        assert issubclass(cls, Options), cls
        params = list(inspect.signature(cls.parse).parameters)
        assert params == ["self", "argv"], (cls, params)
        assert not [p for p in inspect.signature(cls).parameters], f"{cls.__name__}() takes no arguments"
        with pytest.raises(SystemExit) as e:  # every class prints its help through the same path
            cls().parse(["--help"])
        assert e.value.code == 0


def test_parse_works_for_every_option_class(tmp_path):
    from options.benchmark_options import BenchmarkOptions, GatysBenchmarkOptions
    from options.compare_options import CompareOptions
    from options.gatys_options import GatysOptions
    assert GatysOptions().parse(["--content", "p.jpg", "--style", "s.jpg", "--style_layers", "a,b"]).style_layers \
        == ["a", "b"]
    opt = CompareOptions().parse(["--name", "n", "--photos", str(tmp_path), "--style", "s.jpg"])
    assert opt.image_size == 256 and opt.style_mode == "both"
    assert BenchmarkOptions().parse(["--device", "cpu", "--configs", "eager"]).configs == ["eager"]
    opt = GatysBenchmarkOptions().parse(["--sizes", "32,64", "--losses", "gram,bn"])
    assert opt.sizes == [32, 64] and opt.losses == ["gram", "bn"]
    with pytest.raises(SystemExit):
        GatysBenchmarkOptions().parse(["--losses", "gram,nosuchloss"])
    with pytest.raises(SystemExit):
        GatysBenchmarkOptions().parse(["--sizes", "16"])


def test_choices_come_from_the_library_constants():
    from cyclegan.comparison import STYLE_MODES
    from cyclegan.data import DATASET_MODES, DIRECTIONS
    from cyclegan.models.layers import INIT_TYPES, NORM_TYPES
    from cyclegan.models.losses import GAN_MODES
    from cyclegan.models.schedulers import LR_POLICIES
    from cyclegan.models.speed import AMP_DTYPES
    from cyclegan.nst import POOLINGS
    from options.compare_options import CompareOptions
    from options.gatys_options import GatysOptions

    def choices(options, argv=()):
        options.parser = options.build_parser(list(argv))
        return {a.dest: tuple(a.choices) for a in options.parser._actions if a.choices}

    train = choices(TrainOptions())
    assert (train["gan_mode"], train["lr_policy"], train["norm"], train["init_type"], train["dataset_mode"],
            train["direction"]) == (GAN_MODES, LR_POLICIES, NORM_TYPES, INIT_TYPES, DATASET_MODES, DIRECTIONS)
    assert train["amp"] == tuple(AMP_DTYPES)
    assert choices(GatysOptions())["pooling"] == POOLINGS
    compare = choices(CompareOptions())
    assert compare["style_mode"] == STYLE_MODES and compare["direction"] == DIRECTIONS
    assert compare["norm"] == NORM_TYPES


@pytest.mark.parametrize("command", [["train"], ["test"], ["gatys"], ["compare"], ["benchmark"],
                                     ["benchmark", "gatys"], ["benchmark", "c2st"], ["benchmark", "inference"], ["c2st"],
                                     ["visdom_server"], ["export"], ["demo"], ["ablate"], ["stereo"],
                                     ["distill"], ["benchmark", "distill"]])
@pytest.mark.slow
def test_help_works_for_every_entry_point(command):
    import subprocess
    import sys
    from conftest import run_env
    r = subprocess.run([sys.executable, "-m", f"cyclegan.{command[0]}", *command[1:], "--help"], cwd=REPO,
                       env=run_env(), capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("usage:") and "--help" in r.stdout


def test_eval_freq_defaults_off_on_the_cpu_and_keeps_an_explicit_value(tmp_path):
    """On the CPU the quality scoring would share the training's cores, so it is opt-in there."""
    base = ["--dataroot", str(tmp_path), "--name", "x", "--gpu_ids", "-1", "--checkpoints_dir", str(tmp_path)]
    assert TrainOptions().parse(base).eval_freq == 0
    assert TrainOptions().parse(base + ["--eval_freq", "3"]).eval_freq == 3


# ---- one options convention (issue 21) ------------------------------------------------------------

def command_options():
    """(name, option class, minimal argv) of every command's option set, except the official train/test."""
    from options.ablate_options import AblateOptions
    from options.benchmark_options import (BenchmarkOptions, C2STBenchmarkOptions, GatysBenchmarkOptions,
                                           InferenceBenchmarkOptions)
    from options.c2st_options import C2STOptions
    from options.compare_options import CompareOptions
    from options.demo_options import DemoOptions
    from options.distill_options import DistillBenchmarkOptions, DistillOptions
    from options.eval_options import EvalOptions
    from options.export_options import ExportOptions
    from options.fast_nst_options import FastNSTOptions
    from options.gatys_options import GatysOptions
    from options.stereo_options import StereoOptions
    from options.video_options import VideoOptions
    return [("gatys", GatysOptions, ["--content", "p.jpg", "--style", "s.jpg"]),
            ("compare", CompareOptions, ["--name", "n", "--photos", "{tmp}", "--style", "s.jpg"]),
            ("eval", EvalOptions, ["--name", "run", "--dataroot", "d", "--checkpoints_dir", "{tmp}"]),
            ("fast_nst stylize", FastNSTOptions, ["stylize", "--name", "n", "--input", "x.jpg"]),
            ("video", VideoOptions, ["--input", "v.mp4", "--method", "gatys", "--style", "{tmp}",
                                     "--output", "{tmp}/out.mp4"]),
            ("c2st", C2STOptions, ["{tmp}", "{tmp}"]),
            ("benchmark", BenchmarkOptions, []),
            ("benchmark gatys", GatysBenchmarkOptions, []),
            ("benchmark c2st", C2STBenchmarkOptions, ["--dataroot", "{tmp}"]),
            ("benchmark inference", InferenceBenchmarkOptions, []),
            ("export", ExportOptions, ["--name", "run", "--checkpoints_dir", "{tmp}", "--output", "{tmp}/g.onnx"]),
            ("demo", DemoOptions, []),
            ("ablate", AblateOptions, ["--dataroot", "{tmp}"]),
            ("stereo", StereoOptions, ["--method", "fast_nst", "--name", "n", "--sbs", "{tmp}"]),
            ("distill", DistillOptions, ["--teacher", "t.pth", "--dataroot", "{tmp}", "--name", "n",
                                         "--checkpoints_dir", "{tmp}"]),
            ("benchmark distill", DistillBenchmarkOptions, ["--teacher", "{tmp}", "--student", "{tmp}"])]


def fill(argv, tmp_path):
    return [a.replace("{tmp}", str(tmp_path)) for a in argv]


@pytest.fixture
def run_folder(tmp_path):
    (tmp_path / "run").mkdir()
    for side in ("trainA", "trainB"):
        (tmp_path / side).mkdir()
    return tmp_path


def test_one_device_flag_resolved_for_every_command(run_folder, capsys):
    import torch
    for name, cls, argv in command_options():
        argv = fill(argv, run_folder)
        if any(a.dest == "device" for a in cls().build_parser(argv)._actions) or name == "fast_nst stylize":
            opt = cls().parse(argv + ["--device", "cpu"])
            assert opt.device == torch.device("cpu"), name
            assert isinstance(cls().parse(argv).device, torch.device), name  # auto, resolved
            assert "give auto, cpu, cuda or cuda:N" in flag_error(capsys, cls().parse, argv + ["--device", "gpu"])
            if not torch.cuda.is_available():
                assert "no CUDA GPU" in flag_error(capsys, cls().parse, argv + ["--device", "cuda:1"]), name


def test_one_seed_rule_in_every_help_and_default(run_folder):
    from options.base_options import DEFAULT_SEED
    for name, cls, argv in command_options():
        argv = fill(argv, run_folder)
        actions = {a.dest: a for a in cls().build_parser(argv)._actions}
        if "seed" not in actions:
            continue
        assert "the same seed repeats the same random draws (default: 0" in actions["seed"].help, name
        assert cls().parse(argv).seed == DEFAULT_SEED and cls().parse(argv + ["--seed", "7"]).seed == 7, name
    base = ["--dataroot", "d", "--checkpoints_dir", str(run_folder), "--name", "r"]
    saved_run(run_folder, "--name", "x", "--seed", "11")  # writes run/train_opt.json with seed 11
    assert TrainOptions().parse(base).seed == DEFAULT_SEED
    resumed = ["--dataroot", "d", "--checkpoints_dir", str(run_folder), "--name", "run", "--continue_train"]
    assert TrainOptions().parse(resumed).seed == 11  # a resumed run keeps its own seed
    assert TrainOptions().parse(resumed + ["--seed", "3"]).seed == 3
    assert "the run's own seed" in {a.dest: a for a in TrainOptions().build_parser([])._actions}["seed"].help


def test_flag_errors_go_through_parser_error_and_library_code_parses_no_flags():
    import re
    for path in sorted((REPO / "options").glob("*.py")):
        assert "SystemExit(" not in path.read_text(), path
    for path in sorted((REPO / "cyclegan").rglob("*.py")):
        text = path.read_text()
        if path.parent == REPO / "cyclegan" / "cli":
            continue  # the entry points may parse (they use options/)
        assert not re.search(r"ArgumentParser\(|parse_args\(|parse_known_args\(", text), path


def test_every_user_error_derives_from_usererror_and_keeps_its_builtin_base():
    from cyclegan.data.scan import BadDatasetError
    from cyclegan.errors import MissingFileError, SettingError, UserError
    from cyclegan.images import ImageFileError
    from cyclegan.inference.errors import ImageInputError, MissingModelError, ModelFileError, NotTileable
    from cyclegan.io import CheckpointError
    from cyclegan.media.video import VideoError
    from cyclegan.metrics.c2st import C2STError
    from cyclegan.metrics.fid import InceptionWeightsMissing
    from cyclegan.nst.weights import WeightsError
    from cyclegan.runs.guards import NonFiniteLoss
    from cyclegan.runs.run_folder import RunFolderError
    from cyclegan.training.distributed import LaunchError
    for cls, builtin in ((RunFolderError, RuntimeError), (C2STError, ValueError), (ImageFileError, ValueError),
                         (VideoError, ValueError), (WeightsError, RuntimeError), (BadDatasetError, ValueError),
                         (CheckpointError, RuntimeError), (NonFiniteLoss, RuntimeError),
                         (NonFiniteLoss, FloatingPointError), (InceptionWeightsMissing, RuntimeError),
                         (MissingFileError, FileNotFoundError), (SettingError, ValueError), (LaunchError, Exception),
                         (ModelFileError, RuntimeError), (MissingModelError, FileNotFoundError),
                         (ImageInputError, ValueError), (NotTileable, RuntimeError)):
        assert issubclass(cls, UserError) and issubclass(cls, builtin), cls


@pytest.mark.parametrize("module", ["train", "test", "gatys", "fast_nst", "video", "compare", "evaluate", "benchmark",
                                    "c2st", "visdom_server", "verify_weights", "quickstart", "export",
                                    "demo", "ablate", "stereo"])
def test_every_entry_point_catches_user_errors_once(module):
    """Each command's main is wrapped by cyclegan.cli.main_guard, the one place a UserError is caught."""
    import importlib
    from cyclegan.cli import main_guard
    main = importlib.import_module(f"cyclegan.cli.{module}").main
    assert main.__code__ is main_guard(print).__code__ and callable(main.__wrapped__)


def test_a_user_error_is_one_line_on_stderr_and_exit_1(tmp_path, capsys):
    from cyclegan.cli import main_guard
    from cyclegan.errors import UserError
    from cyclegan.cli.gatys import main as gatys

    @main_guard
    def fail(argv=None):
        raise UserError("the file x.pth is broken; download it again")
    assert fail([]) == 1 and capsys.readouterr().err == "error: the file x.pth is broken; download it again\n"
    (tmp_path / "s.jpg").write_bytes(b"")
    assert gatys(["--content", str(tmp_path / "nope.jpg"), "--style", str(tmp_path / "s.jpg")]) == 1
    assert capsys.readouterr().err.strip() == f"error: {tmp_path / 'nope.jpg'}: no such image file"


def test_one_named_constant_per_default():
    from cyclegan.metrics.c2st import DEFAULT_FOLDS, DEFAULT_STEPS
    from cyclegan.metrics.evaluate import DEFAULT_EVAL_MAX
    from cyclegan.nst.fast import FAST_NST_TV_WEIGHT
    from cyclegan.nst.optimize import DEFAULT_TV_WEIGHT
    from options.eval_options import EvalOptions
    from options.fast_nst_options import FastNSTOptions
    from options.gatys_options import GatysOptions
    train = TrainOptions().build_parser([])
    assert train.get_default("eval_c2st_steps") == EvalOptions().build_parser([]).get_default("c2st_steps") \
        == DEFAULT_STEPS
    assert train.get_default("eval_max") == EvalOptions().build_parser([]).get_default("eval_max") == DEFAULT_EVAL_MAX
    assert EvalOptions().build_parser([]).get_default("folds") == DEFAULT_FOLDS
    assert GatysOptions().build_parser([]).get_default("tv_weight") == DEFAULT_TV_WEIGHT
    from cyclegan.nst.losses import DEFAULT_MMD_SAMPLES
    from cyclegan.nst.optimize import DEFAULT_NUM_ITERS
    from options.benchmark_options import FastNSTBenchmarkOptions, GatysBenchmarkOptions
    assert GatysOptions().build_parser([]).get_default("num_iters") == DEFAULT_NUM_ITERS \
        == FastNSTBenchmarkOptions().build_parser([]).get_default("gatys_num_iters")
    assert GatysBenchmarkOptions().build_parser([]).get_default("mmd_samples") == DEFAULT_MMD_SAMPLES
    fast = FastNSTOptions().parse(["train", "--photos", str(REPO), "--style", str(REPO / "setup.py"), "--name",
                                   "never_written", "--checkpoints_dir", "/nonexistent"])
    assert fast.tv_weight == FAST_NST_TV_WEIGHT != DEFAULT_TV_WEIGHT  # two defaults, two names
    for path in (REPO / "cyclegan").rglob("*.py"):
        text = path.read_text()
        assert not re.search(r"DEFAULT_TV_WEIGHT = ", text) or path.name == "optimize.py", path
        assert '"eval_c2st_steps", 150' not in text, path


def test_train_help_lists_the_models_and_the_recipes_flags(capsys):
    from options.train_options import TrainOptions
    with pytest.raises(SystemExit) as e:
        TrainOptions().parse(["--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    for flag in ("--lambda_A", "--lambda_identity", "--recipe", "--diffaug", "--ema_decay", "--spectral_norm",
                 "--dataroot", "--use_wandb"):
        assert flag in out, flag
    assert "the cycle_gan model's losses" in out and "training recipe" in out  # grouped by owner


def test_python_callers_name_values_and_get_the_command_lines_options(tmp_path):
    """parse_values takes the same road as the command line: the model's flags and presets, switches both ways
    (store_true, --no-x, the CUT code's `--x false`), explicit flags for resuming; a flag the command lacks names
    itself."""
    typed = TrainOptions().parse(["--dataroot", str(tmp_path), "--model", "cut", "--CUT_mode", "FastCUT",
                                  "--flip_equivariance", "false", "--no_flip", "--amp", "bf16", "--gpu_ids", "-1"])
    named = TrainOptions().parse_values(dataroot=tmp_path, model="cut", CUT_mode="FastCUT", flip_equivariance=False,
                                        no_flip=True, amp="bf16", gpu_ids=-1)
    assert vars(named) == vars(typed)
    assert named.lambda_NCE == 10.0 and named.flip_equivariance is False and named.n_epochs == 150  # the preset
    assert TrainOptions().parse_values(dataroot=tmp_path, compile=False).compile is False
    with pytest.raises(ValueError, match="--lambda_NCE"):  # cycle_gan has no CUT flags
        TrainOptions().parse_values(dataroot=tmp_path, lambda_NCE=2.0)


def test_every_console_script_points_at_a_callable_main():
    """setup.py's console scripts name module:function; each must import (cyclegan-c2st once pointed at the
    three-line python -m shim, which has no main)."""
    import importlib
    scripts = re.findall(r'"(cyclegan-[\w-]+)=([\w.]+):(\w+)"', (REPO / "setup.py").read_text())
    assert len(scripts) >= 15
    for name, module, attr in scripts:
        assert callable(getattr(importlib.import_module(module), attr, None)), f"{name} -> {module}:{attr}"
