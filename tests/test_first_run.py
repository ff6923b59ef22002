"""A new user's first run: pages that load and fit, domains named, no silent overwrite, logs for people."""
import argparse
import io
import json
import subprocess
import sys

import pytest
import torch

from _browser import CHROMIUM, SKIP_REASON, probe_page
from conftest import REPO, TINY, run_env

NAMES = ["real_A", "fake_B", "rec_A", "real_B", "fake_A", "rec_B"]
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason=SKIP_REASON)


def run(module, *args, cwd=REPO):
    p = subprocess.run([sys.executable, "-m", module, *map(str, args)], cwd=cwd, env=run_env(),
                       capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, f"{module} failed ({p.returncode}):\n{p.stdout[-3000:]}\n{p.stderr[-3000:]}"
    return p


def test_train_log_and_options_dump_are_for_people(tiny_run):
    """The shared tiny run (conftest: 2 + 1 epochs of 4 images, --print_freq 2, --display_freq 1)."""
    assert "\r" not in tiny_run.output  # no progress-bar redraws in a log
    run_dir = tiny_run.run_dir
    assert "explicit" not in (run_dir / "train_opt.txt").read_text()
    assert "explicit" not in json.loads((run_dir / "train_opt.json").read_text())
    assert "explicit" not in (run_dir / "web" / "index.html").read_text()  # the page's options table
    # 3 epochs of 4 images at one line per print_freq, plus one progress line per epoch end
    assert all(tiny_run.output.count(f"epoch {e}/3: 4/4 100.0%") == 1 for e in (1, 2, 3))


@pytest.mark.slow
@needs_chromium
@pytest.mark.parametrize("relative", [True, False])
def test_training_page_images_load_wherever_checkpoints_dir_points(tmp_path, monkeypatch, relative):
    from cyclegan.display.visualizer import Visualizer

    monkeypatch.chdir(tmp_path)
    ck = "checkpoints" if relative else str(tmp_path / "abs" / "checkpoints")
    opt = argparse.Namespace(name="pg", checkpoints_dir=ck, display_id=0, display_winsize=64, display_ncols=4,
                             no_html=False, isTrain=True, use_wandb=False, use_tensorboard=False)
    vis = Visualizer(opt)
    for epoch in (1, 2):
        vis.display_current_results({k: torch.rand(1, 3, 16, 16) * 2 - 1 for k in NAMES}, epoch, save_result=True)
        vis.plot_current_losses(epoch, 0.5, {"G_A": 1.0 / epoch})
    vis.close(timeout=20)
    page = tmp_path / ck / "pg" / "web" / "index.html"
    info = probe_page(page)
    assert len(info["images"]) == 2 * len(NAMES)
    broken = [src for src, width in info["images"] if width == 0]
    assert not broken, f"images that do not load from {page}: {broken}"


@needs_chromium
def test_results_page_fits_names_domains_links_training_page_and_shows_losses(tiny_run, tmp_path):
    p = run("cyclegan.test", "--dataroot", tiny_run.dataroot, "--name", tiny_run.name, "--checkpoints_dir",
            tiny_run.checkpoints_dir, "--results_dir", tmp_path, "--load_size", 32, "--crop_size", 32)
    page = tmp_path / tiny_run.name / "test_latest" / "index.html"
    assert f"results page: {page}" in p.stdout
    info = probe_page(page, width=1200)
    assert info["scrollWidth"] <= 1200, f"the results page is {info['scrollWidth']} px wide in a 1200 px window"
    assert len(info["images"]) == 4 * 6 and all(width > 0 for _, width in info["images"])
    assert "A = Van Gogh paintings, B = photos" in info["text"]
    assert "fake_B: photos" in info["text"] and "fake_A: Van Gogh paintings" in info["text"]
    train_page = (tiny_run.run_dir / "web" / "index.html").resolve().as_uri()
    assert train_page in info["links"]
    assert "Training losses" in info["text"] and "<polyline" in page.read_text()  # the loss curves


def test_a_different_test_never_replaces_an_earlier_page_silently(tiny_run, tmp_path):
    base = ["--dataroot", tiny_run.dataroot, "--name", tiny_run.name, "--checkpoints_dir", tiny_run.checkpoints_dir,
            "--results_dir", tmp_path / "ow", "--load_size", 32, "--crop_size", 32]
    first = tmp_path / "ow" / tiny_run.name / "test_latest"
    run("cyclegan.test", *base)
    before = (first / "index.html").read_text()
    p = run("cyclegan.test", *base, "--num_test", 1)  # a different test: it goes beside, and says so
    second = first.parent / "test_latest_2"
    assert (first / "index.html").read_text() == before
    assert f"this one goes to {second}" in p.stdout and f"results page: {second / 'index.html'}" in p.stdout
    assert len(list((second / "images").glob("*_fake_B.png"))) == 1
    p = run("cyclegan.test", *base, "--num_test", 1)  # the same test again reuses its own folder
    assert f"results page: {second / 'index.html'}" in p.stdout and not (first.parent / "test_latest_3").exists()
    p = run("cyclegan.test", *base, "--num_test", 1, "--overwrite")
    assert f"replacing the earlier results page in {first}" in p.stdout
    assert len(list((first / "images").glob("*_fake_B.png"))) == 1  # the old images went with the old page


def test_progress_lines_in_logs_come_at_most_every_30_s_and_at_the_end(monkeypatch):
    from cyclegan.display import progress

    clock = [0.0]
    monkeypatch.setattr(progress.time, "monotonic", lambda: clock[0])
    out = io.StringIO()
    bar = progress.Progress(10_000, desc="epoch 1/200", unit="img", stream=out)
    for _ in range(10_000):  # 10,000 images at 10 ms each: 100 s
        clock[0] += 0.01
        bar.update(1, G_A=0.5)
    bar.close()
    lines = out.getvalue().splitlines()
    assert len(lines) == 4  # at 30, 60 and 90 s, and the end of the epoch
    assert lines[-1].startswith("epoch 1/200: 10000/10000 100.0%") and "\r" not in out.getvalue()


def test_visdom_status_shows_the_decayed_learning_rate(tiny_dataset, tmp_path, monkeypatch, one_thread):
    from cyclegan.display.visualizer import Visualizer
    from cyclegan.training import train
    from options.train_options import TrainOptions

    shown = []
    monkeypatch.setattr(Visualizer, "show_status", lambda self, epoch, iters, lr, t, step=None: shown.append(lr))
    opt = TrainOptions().parse(["--dataroot", str(tiny_dataset), "--name", "lr", "--checkpoints_dir", str(tmp_path),
                                *TINY, "--n_epochs", "1", "--n_epochs_decay", "2", "--max_dataset_size", "1",
                                "--print_freq", "1", "--no_html"])
    model = train(opt)
    final = model.optimizers[0].param_groups[0]["lr"]
    assert final < opt.lr and shown[-1] == final


@pytest.mark.slow
def test_help_texts_say_what_the_flags_take():
    compare = subprocess.run([sys.executable, "-m", "cyclegan.compare", "--help"], cwd=REPO, env=run_env(),
                             capture_output=True, text=True, timeout=120).stdout
    gatys = subprocess.run([sys.executable, "-m", "cyclegan.gatys", "--help"], cwd=REPO, env=run_env(),
                           capture_output=True, text=True, timeout=120).stdout
    assert "folder of paintings" in " ".join(compare.split())  # the README passes testA/ to --style
    assert "image file" in " ".join(gatys.split()) and "folder" not in gatys.split("--style ")[1].split("--")[0]
    test = subprocess.run([sys.executable, "-m", "cyclegan.test", "--help"], cwd=REPO, env=run_env(),
                          capture_output=True, text=True, timeout=120).stdout
    assert "--overwrite" in test


def test_domain_names_come_from_the_dataset(tmp_path):
    from cyclegan.data.domains import domain_names

    assert domain_names("datasets/vangogh2photo") == {"A": "Van Gogh paintings", "B": "photos"}
    assert domain_names("/x/horse2zebra/") == {"A": "horses", "B": "zebras"}
    (tmp_path / "domains.json").write_text(json.dumps({"A": "sketches", "B": "renders"}))
    assert domain_names(tmp_path) == {"A": "sketches", "B": "renders"}
    assert domain_names(tmp_path / "mine")["A"].startswith("domain A")
