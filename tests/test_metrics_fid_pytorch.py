"""FID/KID through pytorch-fid's FID Inception: random weights saved in that network's layout, the same
features as pytorch-fid's own InceptionV3 gives, discovery of its weight file, the missing-file message, and
our Fréchet distance against pytorch-fid's calculate_frechet_distance."""
from unittest import mock

import numpy as np
import pytest
import torch

from cyclegan.metrics.fid import (FID_INCEPTION_FILE, NOT_COMPUTED, InceptionFeatures, compute_fid_kid,
                                  default_inception_path, fid_from_features, find_inception_weights)

pfi = pytest.importorskip("pytorch_fid.inception", reason="pytorch-fid not installed (pip install pytorch-fid)")


def fid_layout_net():
    """pytorch-fid's FID Inception structure (as its fid_inception_v3 builds it) with random weights."""
    net = pfi._inception_v3(num_classes=1008, aux_logits=False, weights=None)
    net.Mixed_5b = pfi.FIDInceptionA(192, pool_features=32)
    net.Mixed_5c = pfi.FIDInceptionA(256, pool_features=64)
    net.Mixed_5d = pfi.FIDInceptionA(288, pool_features=64)
    net.Mixed_6b = pfi.FIDInceptionC(768, channels_7x7=128)
    net.Mixed_6c = pfi.FIDInceptionC(768, channels_7x7=160)
    net.Mixed_6d = pfi.FIDInceptionC(768, channels_7x7=160)
    net.Mixed_6e = pfi.FIDInceptionC(768, channels_7x7=192)
    net.Mixed_7b = pfi.FIDInceptionE_1(1280)
    net.Mixed_7c = pfi.FIDInceptionE_2(2048)
    return net


@pytest.fixture(scope="module")
def fid_weights(tmp_path_factory):
    path = tmp_path_factory.mktemp("fid") / FID_INCEPTION_FILE
    with torch.random.fork_rng():
        torch.manual_seed(0)
        torch.save(fid_layout_net().state_dict(), path)
    return path


def test_pytorch_fid_weights_give_the_packages_features(fid_weights, one_thread):
    ext = InceptionFeatures(fid_weights, batch_size=4)
    assert ext.backend == "pytorch-fid" and "comparable with published" in ext.label
    x = torch.rand(3, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    ours = ext(x)
    assert ours.shape == (3, 2048) and np.isfinite(ours).all()
    state = torch.load(fid_weights, weights_only=True)  # the package's own net, weights from the same file
    with torch.no_grad(), mock.patch.object(pfi, "load_state_dict_from_url", lambda *a, **k: state):
        ref = pfi.InceptionV3([3]).eval()
        theirs = ref(x)[0].flatten(1).double().numpy()
    np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-7)
    result = compute_fid_kid(x, x * 0.5, extractor=ext, kid_subsets=5)
    assert result.computed and result.fid > 0


def test_pytorch_fid_file_is_preferred_in_the_hub_cache(tmp_path, monkeypatch, fid_weights):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    with pytest.raises(Exception) as missing:
        find_inception_weights()
    msg = str(missing.value)
    assert msg.startswith(NOT_COMPUTED) and FID_INCEPTION_FILE in msg and str(tmp_path / "hub") in msg
    assert "machine with internet" in msg and "pip install pytorch-fid" in msg
    tv = default_inception_path("torchvision")
    tv.parent.mkdir(parents=True)
    tv.write_bytes(b"x")
    assert find_inception_weights() == tv  # only the fallback present
    default_inception_path("pytorch-fid").write_bytes(fid_weights.read_bytes())
    assert find_inception_weights() == default_inception_path("pytorch-fid")


def test_our_frechet_distance_matches_pytorch_fid():
    from pytorch_fid.fid_score import calculate_frechet_distance
    rng = np.random.default_rng(0)
    for n1, n2, d in ((300, 200, 16), (12, 9, 64)):  # full rank, and fewer samples than dimensions
        a, b = rng.normal(size=(n1, d)), rng.normal(size=(n2, d)) * 1.3 + 0.2
        theirs = calculate_frechet_distance(a.mean(0), np.cov(a, rowvar=False), b.mean(0), np.cov(b, rowvar=False))
        assert fid_from_features(a, b) == pytest.approx(theirs, rel=1e-4)
