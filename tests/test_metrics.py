"""Tests for the weight-free metrics: image inputs, grayscale SSIM, Sobel edge correlation,
sRGB -> Lab and the sliced Wasserstein colour distance."""
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from cyclegan.metrics import (as_batch, color_distance, edge_correlation, image_to_lab, list_images, load_image,
                              load_images, pool_lab_pixels, sliced_wasserstein, sobel_edges, srgb_to_lab, ssim)
from cyclegan.metrics.color import lab_pixels

REAL = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "vangogh2photo-mini"


def smooth_images(n, size=48, seed=0):
    """Smooth random images: a random colour plus bilinearly upsampled coarse noise."""
    g = torch.Generator().manual_seed(seed)
    base = torch.rand(n, 3, 1, 1, generator=g)
    coarse = torch.rand(n, 3, 6, 6, generator=g)
    up = torch.nn.functional.interpolate(coarse, size=size, mode="bilinear", align_corners=False)
    return (0.5 * base + 0.5 * up).clamp(0, 1)


# ---- inputs -------------------------------------------------------------------------------

def test_as_batch_accepts_single_images_and_lists():
    x = smooth_images(2)
    assert as_batch(x[0]).shape == (1, 3, 48, 48)
    assert torch.equal(as_batch([x[0], x[1]]), x)


@pytest.mark.parametrize("bad, message", [
    (torch.rand(2, 4, 8, 8), "expected shape"),
    ((torch.rand(3, 8, 8) * 255).to(torch.uint8), "float"),
    (torch.rand(3, 8, 8) * 2 - 1, r"\[0, 1\]"),
    (np.zeros((3, 8, 8)), "expected a tensor"),
])
def test_bad_inputs_get_clear_errors(bad, message):
    with pytest.raises((ValueError, TypeError), match=message):
        as_batch(bad)


def test_mixed_sizes_need_a_resize():
    with pytest.raises(ValueError, match="different sizes"):
        as_batch([torch.rand(3, 8, 8), torch.rand(3, 9, 8)])


def test_load_image_roundtrip_and_errors(tmp_path):
    arr = (np.random.default_rng(0).random((20, 30, 3)) * 255).astype(np.uint8)
    Image.fromarray(arr).save(tmp_path / "a b.png")  # a space in the name, as in trainB
    img = load_image(tmp_path / "a b.png")
    assert img.shape == (3, 20, 30) and img.dtype == torch.float32
    assert torch.allclose(img.permute(1, 2, 0) * 255, torch.from_numpy(arr).float(), atol=1e-3)
    assert load_images([tmp_path / "a b.png"] * 2, size=16).shape == (2, 3, 16, 16)
    with pytest.raises(FileNotFoundError, match="missing.png"):
        load_image(tmp_path / "missing.png")
    (tmp_path / "junk.jpg").write_text("not an image")
    with pytest.raises(ValueError, match="junk.jpg"):
        load_image(tmp_path / "junk.jpg")


# ---- SSIM ---------------------------------------------------------------------------------

def test_ssim_identity_noise_and_range():
    x = smooth_images(3)
    assert torch.allclose(ssim(x, x), torch.ones(3), atol=1e-6)
    g = torch.Generator().manual_seed(1)
    values = [ssim(x, (x + s * torch.randn(x.shape, generator=g)).clamp(0, 1)) for s in (0.02, 0.1, 0.3)]
    for lo_noise, hi_noise in zip(values, values[1:]):
        assert (hi_noise < lo_noise).all()
    unrelated = ssim(x, torch.rand(x.shape, generator=g))
    stripes = (torch.arange(48) // 3 % 2).float().expand(3, 48, 48) * 0.8 + 0.1
    inverted = ssim(stripes, 1 - stripes)  # same mean, opposite structure
    for v in values + [unrelated, inverted]:
        assert ((v >= -1) & (v <= 1)).all()
    assert float(inverted[0]) < -0.9


def test_ssim_needs_same_size_and_big_enough_images():
    with pytest.raises(ValueError, match="same shape"):
        ssim(torch.rand(3, 32, 32), torch.rand(3, 32, 33))
    with pytest.raises(ValueError, match="window"):
        ssim(torch.rand(3, 8, 8), torch.rand(3, 8, 8))


# ---- edges --------------------------------------------------------------------------------

def test_sobel_finds_a_vertical_edge():
    img = torch.zeros(3, 16, 16)
    img[:, :, 8:] = 1
    e = sobel_edges(img)[0, 0]
    assert e[:, 7:9].min() > 1 and e[:, :6].max() == 0 and e[:, 10:].max() == 0


def test_edge_correlation_identity_unrelated_and_range():
    x = smooth_images(4, size=64)
    assert torch.allclose(edge_correlation(x, x), torch.ones(4), atol=1e-6)
    g = torch.Generator().manual_seed(2)
    a, b = torch.rand(4, 3, 64, 64, generator=g), torch.rand(4, 3, 64, 64, generator=g)
    r = edge_correlation(a, b)
    assert r.abs().max() < 0.1
    # brightness/contrast changes keep the edges where they were
    assert (edge_correlation(x, 0.5 * x + 0.2) > 0.99).all()
    for v in (r, edge_correlation(x, a)):
        assert ((v >= -1) & (v <= 1)).all()


def test_edge_correlation_of_a_flat_image_is_nan():
    r = edge_correlation(torch.full((3, 16, 16), 0.5), torch.rand(3, 16, 16))
    assert math.isnan(float(r[0]))


# ---- colour -------------------------------------------------------------------------------

@pytest.mark.parametrize("rgb, lab", [
    ((1.0, 1.0, 1.0), (100.0, 0.0, 0.0)),
    ((0.0, 0.0, 0.0), (0.0, 0.0, 0.0)),
    ((1.0, 0.0, 0.0), (53.24, 80.09, 67.20)),
    ((0.0, 1.0, 0.0), (87.73, -86.18, 83.18)),
    ((0.0, 0.0, 1.0), (32.30, 79.19, -107.86)),
])
def test_lab_of_known_colours(rgb, lab):
    got = srgb_to_lab(torch.tensor(rgb))
    assert torch.allclose(got, torch.tensor(lab, dtype=got.dtype), atol=0.05), got


def test_lab_of_gray_is_neutral_and_image_layout_is_kept():
    gray = torch.full((3, 4, 5), 0.5)
    lab = image_to_lab(gray)
    assert lab.shape == (3, 4, 5)
    assert lab[1:].abs().max() < 1e-4 and abs(float(lab[0, 0, 0]) - 53.39) < 0.05


def test_sliced_wasserstein_zero_symmetric_and_grows_with_shift():
    g = torch.Generator().manual_seed(3)
    a = torch.randn(2000, 3, generator=g, dtype=torch.float64) * 10 + 50
    b = torch.randn(1500, 3, generator=g, dtype=torch.float64) * 10 + 50
    assert sliced_wasserstein(a, a) == 0
    shift = torch.tensor([5.0, 0, 0], dtype=torch.float64)
    d0, d5, d20 = sliced_wasserstein(a, b), sliced_wasserstein(a, b + shift), sliced_wasserstein(a, b + 4 * shift)
    assert d0 < d5 < d20
    # a pure translation by t gives |t| / sqrt(3) in expectation over directions in 3-D
    assert abs(d20 - 20 / math.sqrt(3)) < 1.5
    assert abs(sliced_wasserstein(b, a + shift) - sliced_wasserstein(a + shift, b)) < 1e-9


def test_color_distance_to_a_painting_pool():
    paintings = smooth_images(4, seed=10) * 0.5 + torch.tensor([0.5, 0.3, 0.0]).view(1, 3, 1, 1)  # warm
    pool = pool_lab_pixels(paintings, per_image=512)
    assert pool.shape == (4 * 512, 3)
    close = color_distance(smooth_images(2, seed=11) * 0.5 + torch.tensor([0.5, 0.3, 0.0]).view(1, 3, 1, 1), pool)
    far = color_distance(smooth_images(2, seed=11) * 0.5 + torch.tensor([0.0, 0.2, 0.5]).view(1, 3, 1, 1), pool)
    assert close.shape == (2,) and (close < far).all()
    assert torch.equal(color_distance(paintings[:1], pool), color_distance(paintings[:1], pool))  # fixed seeds
    assert float(color_distance(paintings[1], pool)[0]) == pytest.approx(
        sliced_wasserstein(lab_pixels(paintings[1]), pool), rel=1e-6)


def test_color_distance_reads_files(tmp_path):
    arr = (np.random.default_rng(1).random((24, 24, 3)) * 255).astype(np.uint8)
    Image.fromarray(arr).save(tmp_path / "p.png")
    pool = pool_lab_pixels([tmp_path / "p.png"])
    assert float(color_distance([tmp_path / "p.png"], pool)[0]) < 1e-6


def test_real_data_paintings_vs_photos():
    if not REAL.is_dir():
        pytest.skip(f"real data not found at {REAL} (shared/data/vangogh2photo-mini beside the repo)")
    pool = pool_lab_pixels(list_images(REAL / "trainA")[:40], per_image=1024)
    paintings, photos = list_images(REAL / "testA")[:8], list_images(REAL / "testB")[:8]
    to_paintings, to_photos = color_distance(paintings, pool), color_distance(photos, pool)
    print(f"\nLab sliced Wasserstein to 40 trainA paintings: held-out paintings {to_paintings.mean():.2f}, "
          f"photos {to_photos.mean():.2f}")
    assert to_paintings.mean() < to_photos.mean()
    # content kept: a lightly blurred photo keeps far more than an unrelated painting does
    x = load_images(photos[:4])
    blurred = torch.nn.functional.avg_pool2d(x, 3, stride=1, padding=1)
    other = load_images(paintings[:4])
    assert (ssim(x, blurred) > ssim(x, other) + 0.3).all()
    assert (edge_correlation(x, blurred) > edge_correlation(x, other) + 0.3).all()
