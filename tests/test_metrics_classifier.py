"""Tests for the photo-vs-painting classifier: training on generated two-domain images, the
per-dataset cache (reuse, invalidation, a corrupt cache), and the real vangogh2photo-mini data."""
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from cyclegan.metrics import painting_classifier

REAL = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "vangogh2photo-mini"
TINY = {"image_size": 32, "load_size": 36, "width": 8, "epochs": 10, "batch_size": 16, "lr": 0.01}


def smooth(rng, size):
    """Photo stand-in: a smooth gradient between two random colours."""
    c0, c1 = rng.random(3), rng.random(3)
    t = np.linspace(0, 1, size)
    angle = rng.uniform(0, np.pi)
    ramp = (np.cos(angle) * t[None, :] + np.sin(angle) * t[:, None]) / 2 + 0.25
    return c0 * (1 - ramp[..., None]) + c1 * ramp[..., None]


def strokes(rng, size):
    """Painting stand-in: the same kind of colours with high-frequency oriented stripes and noise."""
    yy, xx = np.mgrid[0:size, 0:size]
    angle, freq = rng.uniform(0, np.pi), rng.uniform(0.15, 0.3)  # periods of 3-7 px survive the resize
    wave = np.sin(2 * np.pi * freq * (np.cos(angle) * xx + np.sin(angle) * yy))
    img = smooth(rng, size) + 0.3 * wave[..., None] + 0.1 * rng.standard_normal((size, size, 3))
    return img.clip(0, 1)


def make_dataset(root, n_train=32, n_test=8, size=40, seed=0):
    rng = np.random.default_rng(seed)
    for sub, n, make in (("trainA", n_train, strokes), ("trainB", n_train, smooth),
                         ("testA", n_test, strokes), ("testB", n_test, smooth)):
        (root / sub).mkdir(parents=True, exist_ok=True)
        for i in range(n):
            Image.fromarray((make(rng, size) * 255).astype(np.uint8)).save(root / sub / f"img {i}.png")
    return root


def test_trains_on_generated_domains_and_caches(tmp_path):
    data, cache = make_dataset(tmp_path / "data"), tmp_path / "cache"
    start = time.perf_counter()
    clf, info = painting_classifier(data, cache_dir=cache, settings=TINY)
    assert info["trained"] and time.perf_counter() - start < 60
    assert info["heldout"]["accuracy"] >= 0.9 and info["heldout"]["paintings"] == 8
    rng = np.random.default_rng(99)
    paint = torch.stack([torch.from_numpy(strokes(rng, 40)).permute(2, 0, 1).float() for _ in range(6)])
    photo = torch.stack([torch.from_numpy(smooth(rng, 40)).permute(2, 0, 1).float() for _ in range(6)])
    assert clf.fraction_paintings(paint) > 0.8 and clf.fraction_paintings(photo) < 0.2
    probs = clf.predict_prob(photo)
    assert probs.shape == (6,) and ((probs >= 0) & (probs <= 1)).all()

    # second call: loaded from the cache, no training, same predictions
    clf2, info2 = painting_classifier(data, cache_dir=cache, settings=TINY)
    assert not info2["trained"] and info2["cache_path"] == info["cache_path"]
    assert info2["heldout"] == info["heldout"]
    assert torch.allclose(clf2.predict_prob(photo), probs)

    # a changed file list invalidates the cache
    Image.fromarray(np.zeros((40, 40, 3), np.uint8)).save(data / "trainA" / "new.png")
    _, info3 = painting_classifier(data, cache_dir=cache, settings=TINY)
    assert info3["trained"] and info3["cache_path"] != info["cache_path"]


def test_settings_change_and_corrupt_cache_retrain(tmp_path):
    data, cache = make_dataset(tmp_path / "data", n_train=8, n_test=2, size=36), tmp_path / "cache"
    quick = dict(TINY, epochs=1)
    _, info = painting_classifier(data, cache_dir=cache, settings=quick)
    _, other = painting_classifier(data, cache_dir=cache, settings=dict(quick, seed=1))
    assert other["trained"] and other["cache_path"] != info["cache_path"]
    Path(info["cache_path"]).write_bytes(b"garbage")
    _, again = painting_classifier(data, cache_dir=cache, settings=quick)
    assert again["trained"] and "retrained" in again["cache_problem"]
    _, reused = painting_classifier(data, cache_dir=cache, settings=quick)
    assert not reused["trained"]


def test_bad_dataset_and_settings_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="trainA"):
        painting_classifier(tmp_path, cache_dir=tmp_path / "cache")
    data = make_dataset(tmp_path / "data", n_train=2, n_test=1, size=36)
    with pytest.raises(ValueError, match="unknown classifier settings"):
        painting_classifier(data, cache_dir=tmp_path / "cache", settings={"epoch": 3})


def test_real_vangogh_data(tmp_path):
    if not REAL.is_dir():
        pytest.skip(f"real data not found at {REAL} (shared/data/vangogh2photo-mini beside the repo)")
    start, cpu = time.perf_counter(), time.process_time()
    clf, info = painting_classifier(REAL, cache_dir=tmp_path / "cache")
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    held = info["heldout"]
    print(f"\npainting classifier on {REAL.name}: trained in {info['train_seconds']:.1f} s "
          f"(with held-out scoring {seconds:.1f} s wall, {cpu:.1f} s CPU), held-out accuracy {held['accuracy']:.3f}, balanced "
          f"{held['balanced_accuracy']:.3f} (paintings {held['paintings_right']}/{held['paintings']}, "
          f"photos {held['photos_right']}/{held['photos']})")
    assert info["trained"] and seconds < 150
    # chance is 0.5 balanced, 0.62 for always answering "photo"
    assert held["accuracy"] >= 0.85 and held["balanced_accuracy"] >= 0.85
    paintings = sorted((REAL / "testA").iterdir())[:10]
    photos = sorted((REAL / "testB").iterdir())[:10]
    assert clf.fraction_paintings(paintings) > clf.fraction_paintings(photos)
