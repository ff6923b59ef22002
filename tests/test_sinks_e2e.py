"""A 30-iteration training run through the real command (30 images, one epoch, the official --print_freq 100 and
--display_freq 400) with --use_wandb (WANDB_MODE=offline) and --use_tensorboard: each leaves logs that read back
with the losses at more than one step, the visuals and the options; its training page shows pictures and a loss
curve of more than one point in headless Chromium; cyclegan-test --use_wandb logs every translated image; and a
missing wandb or tensorboard package stops cyclegan-train at start with one line (exit 1), before any data is read."""
import glob
import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

from _browser import CHROMIUM, SKIP_REASON, dump_dom, probe_page
from conftest import REPO, TINY, make_images, run_env

pytestmark = pytest.mark.slow  # trains a model through the real command
HAS_WANDB = importlib.util.find_spec("wandb") is not None
HAS_TENSORBOARD = importlib.util.find_spec("tensorboard") is not None
NO_WANDB = "wandb not installed: pip install .[wandb] (the test extra has it, so CI runs this)"
NO_TENSORBOARD = "tensorboard not installed: pip install .[tensorboard] (the test extra has it, so CI runs this)"
LOSSES = ["D_A", "G_A", "cycle_A", "idt_A", "D_B", "G_B", "cycle_B", "idt_B"]
VISUALS = ["real_A", "fake_B", "rec_A", "idt_B", "real_B", "fake_A", "rec_B", "idt_A"]


def offline_env():
    return dict(run_env(), WANDB_MODE="offline", WANDB_SILENT="true")


@pytest.fixture(scope="module")
def short_run(tmp_path_factory):
    """30 images per domain, one epoch of 30 iterations, official print/display frequencies; W&B and TensorBoard
    on where installed."""
    base = tmp_path_factory.mktemp("short_run")
    for i, sub in enumerate(("trainA", "trainB", "testA", "testB")):
        make_images(base / "data" / sub, 30 if sub.startswith("train") else 2, size=(36, 36), seed=i)
    extra = (["--use_wandb"] if HAS_WANDB else []) + (["--use_tensorboard"] if HAS_TENSORBOARD else [])
    cmd = [sys.executable, "-m", "cyclegan.train", "--dataroot", str(base / "data"), "--name", "short",
           "--checkpoints_dir", str(base / "ck"), *TINY, "--n_epochs", "1", "--n_epochs_decay", "0", *extra]
    p = subprocess.run(cmd, cwd=REPO, env=offline_env(), capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-3000:]
    return base, base / "ck" / "short"


def test_loss_log_has_the_first_step_and_the_end_in_the_official_format(short_run):
    _, run_dir = short_run
    lines = [line for line in (run_dir / "loss_log.txt").read_text().splitlines() if line.startswith("(")]
    assert [re.match(r"\(epoch: (\d+), iters: (\d+), time: [\d.]+, data: [\d.]+\) ", line).groups()
            for line in lines] == [("1", "1"), ("1", "30")]
    assert all(re.search(r"\bG_A: [\d.]+ ", line + " ") for line in lines)


@pytest.mark.skipif(not HAS_WANDB, reason=NO_WANDB)
def test_offline_wandb_run_holds_losses_visuals_and_options(short_run):
    from _wandb_reader import read_run

    _, run_dir = short_run
    (folder,) = glob.glob(str(run_dir / "wandb" / "offline-run-*"))
    run = read_run(folder)
    assert run["project"] == "CycleGAN-and-pix2pix" and run["name"] == "short" and run["finished"]
    assert run["config"]["name"] == "short" and run["config"]["lr"] == 0.0002 and run["config"]["use_wandb"] is True
    loss_rows = [row for row in run["history"] if "G_A" in row]
    assert [row["iters"] for row in loss_rows] == [1, 30] and all(set(LOSSES) <= set(row) for row in loss_rows)
    assert loss_rows[0]["G_A"] != loss_rows[1]["G_A"]
    image_rows = [row for row in run["history"] if "fake_B/path" in row]
    assert [row["iters"] for row in image_rows] == [1, 30]
    for name in VISUALS:
        assert image_rows[-1][f"{name}/_type"] == "image-file"
        png = run["files"] / image_rows[-1][f"{name}/path"]
        assert png.is_file() and png.read_bytes()[:4] == b"\x89PNG"
    assert any("Result/_type" in row for row in run["history"])  # the official per-epoch table
    assert [row["lr"] for row in run["history"] if "lr" in row][0] == 0.0002


@pytest.mark.skipif(not HAS_TENSORBOARD, reason=NO_TENSORBOARD)
def test_tensorboard_events_hold_losses_rates_step_time_and_visuals(short_run):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    _, run_dir = short_run  # the default --tensorboard_dir: the run folder
    acc = EventAccumulator(str(run_dir), size_guidance={"scalars": 0, "images": 0})
    acc.Reload()
    for name in LOSSES:
        assert [e.step for e in acc.Scalars(f"loss/{name}")] == [1, 30], name
    assert {"lr", "time_per_iter"} <= set(acc.Tags()["scalars"])
    for name in VISUALS:
        assert [(e.step, e.width) for e in acc.Images(f"visuals/{name}")] == [(1, 32), (30, 32)], name


@pytest.mark.skipif(CHROMIUM is None, reason=SKIP_REASON)
def test_the_page_of_a_short_run_shows_pictures_and_a_curve(short_run):
    _, run_dir = short_run
    page = run_dir / "web" / "index.html"
    info = probe_page(page, width=1200)
    assert "epoch [1]" in info["headings"]
    assert len(info["images"]) == len(VISUALS) and all(width == 32 for _, width in info["images"]), info["images"]
    dom = dump_dom(page.resolve().as_uri())
    curves = re.findall(r'<polyline[^>]*points="([^"]+)"', dom)
    assert len(curves) == len(LOSSES)  # one line per loss, each of two points (steps 1 and 30)
    assert all(len(points.split()) == 2 for points in curves), curves


@pytest.mark.skipif(not HAS_WANDB, reason=NO_WANDB)
def test_cyclegan_test_logs_every_translated_image_to_wandb(short_run, tmp_path):
    from _wandb_reader import read_run

    base, _ = short_run
    p = subprocess.run([sys.executable, "-m", "cyclegan.test", "--dataroot", str(base / "data"), "--name", "short",
                        "--checkpoints_dir", str(base / "ck"), "--results_dir", str(tmp_path), "--load_size", "32",
                        "--crop_size", "32", "--use_wandb", "--wandb_project_name", "p"], cwd=REPO,
                       env=offline_env(), capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr[-3000:]
    (folder,) = glob.glob(str(tmp_path / "short" / "test_latest" / "wandb" / "offline-run-*"))
    run = read_run(folder)
    assert run["project"] == "p" and run["finished"]
    rows = [row for row in run["history"] if "fake_B/path" in row]
    assert len(rows) == 2 and all((Path(run["files"]) / row["fake_B/path"]).is_file() for row in rows)


@pytest.mark.parametrize("flag,module", [("--use_wandb", "wandb"), ("--use_tensorboard", "torch.utils.tensorboard")])
def test_a_missing_package_stops_the_command_at_start_with_one_line(tmp_path, flag, module):
    code = (f"import sys; sys.modules[{module!r}] = None; from cyclegan.cli.train import main; "
            f"sys.exit(main(sys.argv[1:]))")
    p = subprocess.run([sys.executable, "-c", code, "--dataroot", str(tmp_path / "nothing_here"), "--name", "m",
                        "--checkpoints_dir", str(tmp_path / "ck"), flag, "--display_id", "0"], cwd=REPO,
                       env=run_env(), capture_output=True, text=True, timeout=300)
    assert p.returncode == 1, p.stderr[-2000:]
    assert p.stderr.startswith(f"error: {flag} needs the") and p.stderr.count("\n") == 1 and "pip install" in p.stderr
    assert "Traceback" not in p.stderr and "training images" not in p.stdout  # before the dataset is read
