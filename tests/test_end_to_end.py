"""train -> save -> test through the real command-line entry points, on generated and on real data."""
import re
import subprocess
import sys

import pytest
from PIL import Image

from conftest import REPO, TINY, make_images, run_env

pytestmark = pytest.mark.slow  # every test here starts the commands as subprocesses


def run(module, *args, check=True):
    p = subprocess.run([sys.executable, "-m", module, *map(str, args)], cwd=REPO, env=run_env(),
                       capture_output=True, text=True, timeout=600)
    if check and p.returncode != 0:
        raise AssertionError(f"{module} failed ({p.returncode}):\n{p.stdout[-3000:]}\n{p.stderr[-3000:]}")
    return p


def test_train_save_test_on_generated_data(tiny_run, tmp_path):
    """The shared tiny run (conftest: trained with --n_epochs 2 --n_epochs_decay 1 --save_epoch_freq 2
    --print_freq 2 on 4 images per folder) and cyclegan-test on it."""
    res = tmp_path / "res"
    run_dir = tiny_run.run_dir
    names = {p.name for p in run_dir.iterdir()}
    for label in ("2", "3", "latest"):  # epoch 3 is the last: saved although 3 % save_epoch_freq != 0
        for net in ("G_A", "G_B", "D_A", "D_B"):
            assert f"{label}_net_{net}.pth" in names
    assert {"train_opt.txt", "train_opt.json", "loss_log.txt", "latest_state.pth"} <= names
    log = (run_dir / "loss_log.txt").read_text()
    # two lines per epoch (--print_freq 2 over 4 images; the epochs' ends fall on them) and the first iteration's
    lines = re.findall(r"\(epoch: (\d+), iters: (\d+), time: [\d.]+, data: [\d.]+\) D_A: [\d.]+ G_A", log)
    assert lines == [("1", "1"), ("1", "2"), ("1", "4"), ("2", "2"), ("2", "4"), ("3", "2"), ("3", "4")]

    p = run("cyclegan.test", "--dataroot", tiny_run.dataroot, "--name", tiny_run.name, "--checkpoints_dir",
            tiny_run.checkpoints_dir, "--results_dir", res, "--load_size", 32, "--crop_size", 32)
    page = res / tiny_run.name / "test_latest" / "index.html"
    assert str(page) in p.stdout
    imgs = sorted(p.name for p in (page.parent / "images").iterdir())
    assert len(imgs) == 4 * 6  # real/fake/rec for A and B
    assert "im é 0_fake_B.png" in imgs
    html = page.read_text()
    assert "fake_B" in html and "rec_A" in html and "im%20%C3%A9%200_real_A.png" in html


def test_single_direction_tests_all_images_not_50(tmp_path, tiny_run):
    ck, one = tiny_run.checkpoints_dir, tiny_run.name
    photos = tmp_path / "photos"
    make_images(photos, 55, size=(20, 28), seed=5)
    res = tmp_path / "res"
    run("cyclegan.test", "--dataroot", photos, "--name", one, "--checkpoints_dir", ck, "--results_dir", res,
        "--model", "test", "--model_suffix", "_A", "--preprocess", "none")
    fakes = list((res / one / "test_latest" / "images").glob("*_fake.png"))
    assert len(fakes) == 55
    assert Image.open(fakes[0]).size == (20, 28)  # --preprocess none keeps the size
    # a single image file works too, and --num_test is opt-in
    run("cyclegan.test", "--dataroot", photos / "img3.jpg", "--name", one, "--checkpoints_dir", ck,
        "--results_dir", tmp_path / "res1", "--model", "test", "--model_suffix", "_A")
    assert len(list((tmp_path / "res1" / one / "test_latest" / "images").glob("*_fake.png"))) == 1
    run("cyclegan.test", "--dataroot", photos, "--name", one, "--checkpoints_dir", ck, "--num_test", 5,
        "--results_dir", tmp_path / "res2", "--model", "test", "--model_suffix", "_A", "--batch_size", 4,
        "--load_size", 16, "--crop_size", 16)
    assert len(list((tmp_path / "res2" / one / "test_latest" / "images").glob("*_fake.png"))) == 5


def test_bad_name_or_missing_weights_is_a_clear_error(tmp_path, tiny_dataset):
    p = run("cyclegan.test", "--dataroot", tiny_dataset / "testA", "--name", "nothing", "--model", "test",
            "--checkpoints_dir", tmp_path, check=False)
    assert p.returncode == 1 and "latest_net_G.pth not found" in p.stderr


def test_train_and_test_on_real_vangogh2photo(shared_data, tmp_path):
    root = shared_data / "vangogh2photo-mini"
    ck, res = tmp_path / "ck", tmp_path / "res"
    run("cyclegan.train", "--dataroot", root, "--name", "real", "--checkpoints_dir", ck, *TINY,
        "--n_epochs", 1, "--n_epochs_decay", 0, "--max_dataset_size", 6, "--print_freq", 3)
    assert (ck / "real" / "latest_net_G_A.pth").is_file()
    run("cyclegan.test", "--dataroot", root, "--name", "real", "--checkpoints_dir", ck, "--results_dir", res,
        "--load_size", 32, "--crop_size", 32, "--batch_size", 8)
    images = res / "real" / "test_latest" / "images"
    n_A, n_B = len(list((root / "testA").iterdir())), len(list((root / "testB").iterdir()))
    assert len(list(images.glob("*_fake_B.png"))) == n_A  # every painting and every photo translated
    assert len(list(images.glob("*_fake_A.png"))) == n_B


def test_quickstart_falls_back_to_the_builtin_dataset_and_says_so(tmp_path):
    """The README's first command, with the dataset unreachable (a closed local port as the mirror)."""
    env = run_env()
    env["CYCLEGAN_DATA_URL"] = "http://127.0.0.1:9/nothing-here"
    p = subprocess.run([sys.executable, "-m", "cyclegan.quickstart", "--datasets_dir", str(tmp_path / "datasets"),
                        "--checkpoints_dir", str(tmp_path / "ck"), "--results_dir", str(tmp_path / "res"),
                        "--synthetic_images", "4", "--n_epochs", "1", "--n_epochs_decay", "0",
                        "--num_threads", "0"], cwd=REPO, env=env, capture_output=True, text=True, timeout=900)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    assert "could not be reached" in p.stdout and "BUILT-IN SYNTHETIC" in p.stdout
    page = tmp_path / "res" / "synthetic_vangogh_small" / "test_latest" / "index.html"
    assert f"results page: {page}" in p.stdout and page.is_file()
    assert len(list((tmp_path / "datasets" / "synthetic_vangogh" / "trainA").iterdir())) == 4
    # a second run continues the finished run (name reuse is refused otherwise) and tests it again
    weights = (tmp_path / "ck" / "synthetic_vangogh_small" / "latest_net_G_A.pth").read_bytes()
    p = subprocess.run(p.args, cwd=REPO, env=env, capture_output=True, text=True, timeout=900)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    assert "holds an earlier quickstart run: continuing it" in p.stdout
    assert (tmp_path / "ck" / "synthetic_vangogh_small" / "latest_net_G_A.pth").read_bytes() == weights
    assert "results page:" in p.stdout
