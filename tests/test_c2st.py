"""C2ST: it discriminates (real vs real near 0.5, vs noise ~1, vs blurred above 0.5), is deterministic for a
seed, and its command line gives JSON and clear errors. Small images and few steps keep it quick on CPU."""
import json
import subprocess
import sys

import pytest
import torch
import torchvision.transforms.functional as TF
from PIL import Image

from conftest import make_images, run_env
from cyclegan.metrics.c2st import C2STError, c2st

FAST = {"load_size": 40, "crop": 32, "steps": 60, "n_boot": 500, "n_perm": 500}


def textured(n, seed, size=40):
    """Smooth random colour fields plus fine noise: 'real' images with texture a blur removes."""
    g = torch.Generator().manual_seed(seed)
    low = torch.rand(n, 3, 5, 5, generator=g)
    base = torch.nn.functional.interpolate(low, size=(size, size), mode="bicubic", align_corners=False)
    return (base + 0.12 * torch.randn(n, 3, size, size, generator=g)).clamp(0, 1)


def blur(x):
    return torch.stack([TF.gaussian_blur(im, 5, 1.5) for im in x])


@pytest.mark.slow
def test_real_vs_real_halves_is_within_the_interval_of_one_half(one_thread):
    x = textured(24, 0)
    r = c2st(x[:12], x[12:], seed=0, **FAST)
    assert r.ci_low <= 0.5 <= r.ci_high, r
    assert r.p_value > 0.05, r


@pytest.mark.slow
def test_real_vs_noise_is_near_one(one_thread):
    x = textured(12, 1)
    noise = torch.rand(12, 3, 40, 40, generator=torch.Generator().manual_seed(5))
    r = c2st(x, noise, seed=0, **FAST)
    assert r.balanced_accuracy >= 0.95, r
    assert r.p_value < 0.01


@pytest.mark.slow
def test_real_vs_blurred_real_is_clearly_above_one_half(one_thread):
    x = textured(24, 2)
    r = c2st(x[:12], blur(x[12:]), seed=0, **FAST)
    assert r.balanced_accuracy > 0.75 and r.ci_low > 0.5, r


def test_real_paintings_when_present(shared_data, one_thread):
    from cyclegan.metrics import list_images, load_image
    files = list_images(shared_data / "vangogh2photo-mini" / "trainA")[:40]
    paintings = torch.stack([load_image(p, 64) for p in files])
    s = dict(FAST, load_size=64, crop=48, steps=80)
    # interleaved halves: sorted file names may group a period of his work, so first/second halves may differ
    same = c2st(paintings[0::2], paintings[1::2], seed=0, **s)
    assert same.ci_low <= 0.5 <= same.ci_high, same
    noise = c2st(paintings[:20], torch.rand(20, 3, 64, 64, generator=torch.Generator().manual_seed(0)), **s)
    assert noise.balanced_accuracy >= 0.95, noise
    blurred = c2st(paintings[0::2], blur(paintings[1::2]), seed=0, **s)
    assert blurred.balanced_accuracy > 0.6 and blurred.ci_low > 0.5, blurred


def test_same_seed_same_result_and_global_rng_untouched(one_thread):
    x, y = textured(10, 3), blur(textured(10, 4))
    torch.manual_seed(123)
    before = torch.rand(3)
    torch.manual_seed(123)
    a = c2st(x, y, seed=7, **dict(FAST, steps=20))
    after = torch.rand(3)
    b = c2st(x, y, seed=7, **dict(FAST, steps=20))
    assert torch.equal(before, after), "the C2ST consumed torch's global random stream"
    assert (a.balanced_accuracy, a.ci_low, a.ci_high, a.p_value) == (b.balanced_accuracy, b.ci_low, b.ci_high,
                                                                     b.p_value)


def test_repeats_are_the_mean_of_the_single_seeds(one_thread):
    x, y = textured(10, 3), blur(textured(10, 4))
    s = dict(FAST, steps=20)
    singles = [c2st(x, y, seed=7 + k, **s).balanced_accuracy for k in range(3)]
    r = c2st(x, y, seed=7, repeats=3, **s)
    assert r.per_repeat == singles and r.repeats == 3
    assert r.balanced_accuracy == pytest.approx(sum(singles) / 3)
    assert r.ci_low <= r.balanced_accuracy <= r.ci_high and 0 < r.p_value <= 1
    assert "mean of 3 repeats, seeds 7-9" in str(r)
    one = c2st(x, y, seed=7, repeats=1, **s)
    assert (one.balanced_accuracy, one.per_repeat, one.repeats) == (singles[0], [], 1)
    with pytest.raises(C2STError, match="repeats must be at least 1"):
        c2st(x, y, repeats=0, **s)


def test_too_few_and_empty_give_clear_errors(tmp_path):
    with pytest.raises(C2STError, match="needs at least 10 of each class"):
        c2st(textured(9, 0), textured(12, 1), folds=5, **FAST)
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="empty: no images found"):
        c2st(tmp_path / "empty", textured(12, 1), **FAST)


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "cyclegan.c2st", *map(str, args)], capture_output=True,
                          text=True, env=run_env(), timeout=600)


@pytest.mark.slow
def test_cli_json_and_unreadable_files_are_skipped_and_named(tmp_path):
    make_images(tmp_path / "real", 8, size=(40, 40), seed=0)
    make_images(tmp_path / "fake", 8, size=(40, 40), seed=1)
    (tmp_path / "real" / "broken.jpg").write_bytes(b"not a jpeg")
    r = run_cli(tmp_path / "real", tmp_path / "fake", "--json", "--folds", "3", "--steps", "10", "--seed", "4",
                "--num_threads", "1")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    for key in ("balanced_accuracy", "ci_low", "ci_high", "p_value", "n_real", "n_fake", "folds", "seed"):
        assert key in out
    assert (out["n_real"], out["n_fake"], out["folds"], out["seed"]) == (8, 8, 3, 4)
    assert "broken.jpg" in r.stderr and "skipped" in r.stderr
    two = json.loads(run_cli(tmp_path / "real", tmp_path / "fake", "--json", "--folds", "3", "--steps", "10",
                             "--seed", "4", "--num_threads", "1", "--repeats", "2").stdout)
    assert two["repeats"] == 2 and two["per_repeat"][0] == out["balanced_accuracy"]
    assert two["balanced_accuracy"] == pytest.approx(sum(two["per_repeat"]) / 2)
    few = run_cli(tmp_path / "real", tmp_path / "fake")  # 8 per class, 5 folds need 10
    assert few.returncode == 1 and "needs at least 10" in few.stderr and str(tmp_path / "real") in few.stderr
    (tmp_path / "none").mkdir()
    Image.new("RGB", (4, 4)).save(tmp_path / "none" / "x.txt.png")
    (tmp_path / "none" / "x.txt.png").write_bytes(b"")
    empty = run_cli(tmp_path / "none", tmp_path / "fake", "--folds", "2")
    assert empty.returncode == 1 and "no usable real images" in empty.stderr and "unreadable" in empty.stderr
