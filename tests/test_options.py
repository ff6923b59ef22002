"""Options: official names and defaults, saved options, architecture taken from the saved run at test time."""
import inspect
import json

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
    update_html_freq=1000, print_freq=100, no_html=False, save_latest_freq=5000, save_epoch_freq=5)


def test_train_defaults_are_the_official_ones():
    opt = TrainOptions().parse(["--dataroot", "d"])
    for k, v in OFFICIAL_DEFAULTS.items():
        assert getattr(opt, k) == v, k
    assert opt.display_env == "experiment_name"  # the experiment name, not 'main'
    assert 1 <= opt.num_threads <= 4


def test_gpu_ids_default_to_cpu_without_a_gpu():
    import torch
    opt = TrainOptions().parse(["--dataroot", "d"])
    assert opt.gpu_ids == ([0] if torch.cuda.is_available() else [])
    assert opt.device == (torch.device("cuda", 0) if torch.cuda.is_available() else torch.device("cpu"))
    assert TrainOptions().parse(["--dataroot", "d", "--gpu_ids", "-1"]).device == torch.device("cpu")
    if not torch.cuda.is_available():
        with pytest.raises(SystemExit, match="--gpu_ids 0.*no CUDA"):
            TrainOptions().parse(["--dataroot", "d", "--gpu_ids", "0"])


def test_several_gpu_ids_point_at_torchrun():
    for argv in (["--gpu_ids", "0,1"], ["--gpu_ids", "2,3,5"]):
        with pytest.raises(SystemExit, match=r"one process trains on one GPU.*torchrun --standalone --nproc_per_node="):
            TrainOptions().parse(["--dataroot", "d", *argv])
    with pytest.raises(SystemExit, match="--gpu_ids x: give one GPU id"):
        TrainOptions().parse(["--dataroot", "d", "--gpu_ids", "x"])


def test_test_defaults():
    opt = TestOptions().parse(["--dataroot", "d", "--checkpoints_dir", "/nonexistent"])
    assert opt.num_test is None  # everything, not 50
    assert opt.model == "test" and opt.dataset_mode == "single"  # no saved run: one generator
    assert opt.load_size == opt.crop_size == 256 and opt.no_flip and opt.serial_batches
    assert opt.results_dir == "./results/" and opt.aspect_ratio == 1.0 and opt.phase == "test"


def test_missing_dataroot_says_how_to_get_one():
    with pytest.raises(SystemExit, match="download_cyclegan_dataset"):
        TrainOptions().parse([])


def saved_run(tmp_path, *flags):
    parser = TrainOptions()
    opt = parser.parse(["--dataroot", "d", "--name", "run", "--checkpoints_dir", str(tmp_path), *flags])
    save_options(opt, tmp_path / "run", "train", parser.parser, echo=False)
    return opt


def test_options_are_saved_as_text_and_json(tmp_path):
    saved_run(tmp_path, "--ngf", "16")
    assert "ngf: 16" in " ".join((tmp_path / "run" / "train_opt.txt").read_text().split())
    assert json.loads((tmp_path / "run" / "train_opt.json").read_text())["ngf"] == 16


def test_test_time_architecture_comes_from_the_saved_run(tmp_path):
    saved_run(tmp_path, "--ngf", "16", "--netG", "unet_128", "--norm", "batch")
    opt = TestOptions().parse(["--dataroot", "d", "--name", "run", "--checkpoints_dir", str(tmp_path)])
    assert (opt.ngf, opt.netG, opt.norm, opt.model) == (16, "unet_128", "batch", "cycle_gan")
    with pytest.raises(SystemExit, match=r"--ngf 32 was given, but the run was trained with ngf=16"):
        TestOptions().parse(["--dataroot", "d", "--name", "run", "--checkpoints_dir", str(tmp_path), "--ngf", "32"])
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
                                     ["benchmark", "gatys"], ["visdom_server"]])
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
