"""Tests for FID and KID: the numerics on synthetic features, Inception feature extraction with
random weights saved to a file, and the "not computed: no Inception weights" path."""
import time

import numpy as np
import pytest
import torch
import torchvision

from cyclegan.io import CheckpointError
from cyclegan.metrics import (NOT_COMPUTED, InceptionFeatures, InceptionWeightsMissing, compute_fid_kid,
                              fid_from_features, fid_kid_from_features, kid_from_features)
from cyclegan.metrics.fid import _real_part, _trace_sqrt_product


# ---- numerics on features -----------------------------------------------------------------

def test_fid_of_gaussians_matches_the_closed_form():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(4000, 4))
    mu = np.array([1.0, -2.0, 0.5, 0.0])
    # N(0, I) vs N(mu, I): |mu|^2 = 5.25; N(0, I) vs N(0, 4I): d * (1 + 4 - 2 * 2) = 4
    assert fid_from_features(a, rng.normal(size=(4000, 4)) + mu) == pytest.approx(5.25, abs=0.25)
    assert fid_from_features(a, 2 * rng.normal(size=(4000, 4))) == pytest.approx(4.0, abs=0.3)
    assert fid_from_features(a, a) == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize("n1, n2, d", [(30, 20, 64), (20, 30, 64), (80, 90, 16)])
def test_gram_and_full_square_roots_agree(n1, n2, d):
    # with n < d the covariance product is singular: the full sqrtm must still agree with the
    # exact small-matrix route
    rng = np.random.default_rng(1)
    b1 = rng.normal(size=(n1, d)) / np.sqrt(n1 - 1)
    b2 = (rng.normal(size=(n2, d)) * 1.5 + 0.3) / np.sqrt(n2 - 1)
    full, gram = _trace_sqrt_product(b1, b2, "full"), _trace_sqrt_product(b1, b2, "gram")
    assert full == pytest.approx(gram, rel=1e-6)


def test_complex_square_roots_are_handled():
    real = np.eye(3)
    assert np.array_equal(_real_part(real + 1e-9j * np.ones((3, 3)), "x"), real)  # rounding noise dropped
    with pytest.warns(UserWarning, match="imaginary"):
        assert _real_part(real + 0.5j * np.ones((3, 3)), "x") is None  # a real problem is not hidden
    assert _real_part(np.full((3, 3), np.inf), "x") is None


def test_kid_near_zero_for_one_distribution_and_grows_with_a_shift():
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=(300, 32)), rng.normal(size=(300, 32))
    same_mean, same_std = kid_from_features(a, b, n_subsets=50, subset_size=100)
    shifted = [kid_from_features(a, b + s, n_subsets=50, subset_size=100)[0] for s in (0.3, 1.0)]
    assert abs(same_mean) < 3 * same_std + 1e-3
    assert same_mean < shifted[0] < shifted[1]
    assert kid_from_features(a, b, seed=5) == kid_from_features(a, b, seed=5)


def test_feature_inputs_are_checked():
    with pytest.raises(ValueError, match="N >= 2"):
        fid_from_features(np.zeros((1, 4)), np.zeros((5, 4)))
    with pytest.raises(ValueError, match="feature sizes differ"):
        fid_from_features(np.zeros((3, 4)), np.zeros((3, 5)))


def test_small_sample_caveat_is_reported():
    rng = np.random.default_rng(3)
    result = fid_kid_from_features(rng.normal(size=(10, 2048)), rng.normal(size=(12, 2048)), kid_subsets=5)
    assert result.computed and result.fid > 0
    assert any("fewer than 2048" in note for note in result.notes)
    assert "FID" in str(result) and "KID" in str(result)


# ---- Inception with random weights from a file (conftest.random_inception_file) ----------------------

def smooth_images(n, seed):
    g = torch.Generator().manual_seed(seed)
    coarse = torch.rand(n, 3, 6, 6, generator=g)
    return torch.nn.functional.interpolate(coarse, size=48, mode="bilinear", align_corners=False)


@pytest.fixture(scope="module")
def features(random_inception_file):
    extract = InceptionFeatures(random_inception_file, batch_size=8, num_threads=1)  # fastest on a shared CPU
    a, other = smooth_images(5, seed=0), smooth_images(5, seed=1)
    return {"a": extract(a), "other": extract(other),
            "shift_small": extract(a * 0.8 + 0.2), "shift_big": extract(a * 0.4 + 0.6),
            "a_list": extract(list(a[:2]))}


def test_inception_features_shape_and_determinism(features):
    assert features["a"].shape == (5, 2048) and np.isfinite(features["a"]).all()
    assert features["a"].dtype == np.float64
    np.testing.assert_allclose(features["a"][:2], features["a_list"], rtol=1e-5, atol=0)  # list input == batch


def test_fid_with_random_inception_is_zero_for_identical_sets_and_grows_with_shift(features):
    f = features
    same, small, big = (fid_from_features(f["a"], f[k]) for k in ("a", "shift_small", "shift_big"))
    # random-weight features are tiny (~1e-8), so compare relative sizes, not absolute values
    assert small > 0 and big > small
    assert same <= 1e-6 * small


def test_kid_with_random_inception_grows_with_shift(features):
    f = features
    k_other = kid_from_features(f["a"], f["other"])[0]
    k_small = kid_from_features(f["a"], f["shift_small"])[0]
    k_big = kid_from_features(f["a"], f["shift_big"])[0]
    assert abs(k_other) < k_small < k_big


def test_compute_fid_kid_end_to_end(random_inception_file):
    a = smooth_images(3, seed=3)
    result = compute_fid_kid(a, a * 0.5 + 0.5, weights=random_inception_file, kid_subsets=10, num_threads=1)
    assert result.computed and result.fid > 0 and result.kid_mean > 0
    assert result.n_outputs == 3 and result.n_reference == 3 and result.kid_std == 0  # whole sets each subset


# ---- missing or wrong weights ------------------------------------------------------------

def test_missing_weights_file_gives_not_computed_quickly(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    start = time.perf_counter()
    result = compute_fid_kid(torch.rand(2, 3, 32, 32), torch.rand(2, 3, 32, 32))
    explicit = compute_fid_kid(torch.rand(2, 3, 32, 32), torch.rand(2, 3, 32, 32), weights=tmp_path / "none.pth")
    assert time.perf_counter() - start < 2
    for r in (result, explicit):
        assert not r.computed and r.fid is None and r.kid_mean is None
        assert str(r).startswith(NOT_COMPUTED)
    assert "inception_v3_google-0cc3c7bd.pth" in str(result) and str(tmp_path / "hub") in str(result)
    assert "none.pth" in str(explicit)
    with pytest.raises(InceptionWeightsMissing, match="no Inception weights"):
        InceptionFeatures()


def test_wrong_weights_file_is_refused(tmp_path):
    path = tmp_path / "resnet.pth"
    torch.save(torchvision.models.resnet18(weights=None).state_dict(), path)
    with pytest.raises(CheckpointError, match="resnet.pth.*not Inception v3 weights"):
        InceptionFeatures(path)
