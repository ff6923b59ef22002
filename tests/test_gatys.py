"""Gatys style transfer, library level: loss maths, MMD chunking, weights handling, backbones."""
import time
import warnings

import pytest
import torch

from cyclegan.nst import BACKBONES, Stylizer, WeightsError, available_layers, load_extractor
from cyclegan.nst.losses import (GaussMMDStyle, GramStyle, MeanStdStyle, PolyMMDStyle, gram, gram_loss,
                                 make_style_loss)
from cyclegan.nst.mmd import gauss_kernel_sum, gauss_kernel_sum_dense
from conftest import smooth_image

pytestmark = pytest.mark.usefixtures("one_thread")


def random_stylizer(**kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return Stylizer(weights="random", device="cpu", **kw)


# ---- losses ---------------------------------------------------------------------------------

def test_gram_matches_hand_computation():
    # Two channels over a 2x2 map: channel a = 1,2,3,4 and channel b = 0,1,0,-1.
    feat = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]], [[0.0, 1.0], [0.0, -1.0]]]])
    aa, ab, bb = 1 + 4 + 9 + 16, 0 + 2 + 0 - 4, 0 + 1 + 0 + 1
    expected = torch.tensor([[aa, ab], [ab, bb]]) / (2 * 4)  # normalised by C * H * W
    assert torch.allclose(gram(feat), expected)
    target = torch.zeros(2, 2)
    assert torch.isclose(gram_loss(feat, target), (expected ** 2).mean())
    # its hand-written one-GEMM backward, in both memory layouts the extractor produces
    f = torch.randn(1, 5, 4, 3, dtype=torch.float64)
    for layout in (torch.contiguous_format, torch.channels_last):
        assert torch.autograd.gradcheck(gram, (f.contiguous(memory_format=layout).requires_grad_(True),))


def test_gram_is_size_normalised():
    # A tiled copy of a feature map has the same Gram matrix, so weights carry over between sizes.
    feat = torch.randn(1, 8, 5, 7)
    assert torch.allclose(gram(feat), gram(feat.repeat(1, 1, 3, 2)), atol=1e-6)


def _poly_mmd2_by_kernel_sums(x, y):
    """Li et al.'s MMD^2 with k(u, v) = (u.v)^2, written out as three explicit kernel means."""
    kxx, kyy, kxy = (x @ x.t()) ** 2, (y @ y.t()) ** 2, (x @ y.t()) ** 2
    return kxx.mean() + kyy.mean() - 2 * kxy.mean()


def test_mmd_poly_equals_gram_up_to_a_constant():
    torch.manual_seed(0)
    c = 6
    fx, fy = torch.randn(1, c, 5, 9, dtype=torch.float64), torch.randn(1, c, 7, 4, dtype=torch.float64) + 0.3
    x, y = fx.reshape(c, -1).t(), fy.reshape(c, -1).t()  # different sample counts: 45 and 28
    mmd2 = _poly_mmd2_by_kernel_sums(x, y)
    g = gram_loss(fx, gram(fy))
    assert mmd2 > 0 and g > 0
    assert torch.isclose(mmd2, c ** 4 * g, rtol=1e-10)  # the constant: C^4 with G = F F^T / (C N)
    # The mmd_poly style loss divides MMD^2 by C^2 (Li et al.'s Z), so it is C^2 times the gram loss.
    poly = PolyMMDStyle()
    assert torch.isclose(poly(fx, poly.combine([poly.stat(fy)])), mmd2 / c ** 2, rtol=1e-10)


@pytest.mark.parametrize("batches,n,m,budget", [(1, 300, 200, 1000), (3, 40, 40, 2000), (1, 50, 70, 10 ** 9)])
def test_chunked_gauss_kernel_sum_equals_dense(batches, n, m, budget):
    torch.manual_seed(1)
    x = torch.randn(batches, n, 16, dtype=torch.float64, requires_grad=True)
    y = torch.randn(batches, m, 16, dtype=torch.float64, requires_grad=True)
    a, b = torch.rand(batches, n, dtype=torch.float64), torch.rand(batches, m, dtype=torch.float64)
    gamma = 1 / 32.0
    for first, second, wa, wb in ((x, y, a, b), (x, x, a, a)):  # cross term and x-x term
        chunked = gauss_kernel_sum(first, second, wa, wb, gamma, budget)
        dense = gauss_kernel_sum_dense(first, second, wa, wb, gamma)
        assert torch.isclose(chunked, dense, rtol=1e-10)
        g1 = torch.autograd.grad(chunked, [first, second] if second is not first else [first])
        g2 = torch.autograd.grad(dense, [first, second] if second is not first else [first])
        for u, v in zip(g1, g2):
            assert torch.allclose(u, v, rtol=1e-8, atol=1e-12)
    assert torch.autograd.gradcheck(lambda p, q: gauss_kernel_sum(p, q, a[:, :20], b[:, :9], gamma, 97),
                                   (x[:, :20], y[:, :9]))


def test_mmd_gauss_loss_exact_and_block_estimate():
    torch.manual_seed(2)
    fx, fy = torch.randn(1, 8, 10, 12, dtype=torch.float64), torch.randn(1, 8, 9, 9, dtype=torch.float64) * 1.5
    exact = GaussMMDStyle(samples=None, chunk_elements=500)
    target = exact.combine([exact.stat(fy)])
    x, y = fx.reshape(8, -1).t(), fy.reshape(8, -1).t()
    gamma = target["gamma"]
    k = lambda u, v: torch.exp(-gamma * torch.cdist(u, v) ** 2)  # noqa: E731
    by_hand = k(x, x).mean() + k(y, y).mean() - 2 * k(x, y).mean()
    assert torch.isclose(exact(fx, target), by_hand, rtol=1e-9)
    # sigma^2 is the mean squared distance between style samples
    assert abs(1 / (2 * gamma) - (torch.cdist(y, y) ** 2).mean().item()) < 1e-9
    # Above `samples` positions the x-x sum uses fixed random blocks; every position still gets a gradient.
    block = GaussMMDStyle(samples=32)
    fxg = fx.clone().requires_grad_(True)
    t2 = block.combine([block.stat(fy)])
    value = block(fxg, t2)
    value.backward()
    assert torch.isfinite(value) and value > 0
    assert (fxg.grad.abs().sum(1) > 0).all()
    assert torch.equal(block(fx, t2), block(fx, t2))  # deterministic: L-BFGS needs that


def test_pooled_targets_average_over_images():
    torch.manual_seed(3)
    f1, f2 = torch.randn(1, 4, 6, 6), torch.randn(1, 4, 6, 6) + 1
    g = GramStyle()
    assert torch.allclose(g.combine([g.stat(f1), g.stat(f2)], [3, 1]), 0.75 * gram(f1) + 0.25 * gram(f2))
    # bn pools first and second moments: two equal-size images pool to the statistics of both together
    bn = MeanStdStyle()
    mean, std = bn.combine([bn.stat(f1), bn.stat(f2)])
    both = torch.cat([f1, f2], 3).reshape(4, -1)
    assert torch.allclose(mean, both.mean(1), atol=1e-5)
    assert torch.allclose(std, both.std(1, unbiased=False), atol=1e-4)
    assert bn(f1, bn.combine([bn.stat(f1)])) < 1e-8 < bn(f2, bn.combine([bn.stat(f1)]))
    with pytest.raises(ValueError, match="blend weights"):
        g.combine([g.stat(f1), g.stat(f2)], [1])
    with pytest.raises(ValueError, match="unknown style loss"):
        make_style_loss("gramm")


# ---- weights ---------------------------------------------------------------------------------

def test_missing_weights_fail_fast_with_instructions(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))
    start = time.perf_counter()
    with pytest.raises(WeightsError) as err:
        Stylizer("vgg19")
    assert time.perf_counter() - start < 5
    msg = str(err.value)
    for part in ("vgg19-dcbb9e9d.pth", "https://download.pytorch.org/models/vgg19-dcbb9e9d.pth",
                 str(tmp_path / "torch_home"), "--weights", "random"):
        assert part in msg


def test_random_weights_warn():
    with pytest.warns(UserWarning, match="RANDOM"):
        Stylizer("vgg19", weights="random", style_layers=["conv1_1"], content_layers=["conv1_1"])


def test_weights_file_round_trip_truncation_and_frozen(vgg_weights_file):
    st = Stylizer("vgg19", weights=str(vgg_weights_file))
    ex = st.extractor
    names = available_layers("vgg19")
    assert ex.depth == names.index("conv5_1") + 1  # evaluated only up to the deepest layer needed
    assert not hasattr(ex.body, "classifier") and len(ex.body.features) == ex.depth
    assert all(not p.requires_grad for p in ex.parameters())
    saved = torch.load(vgg_weights_file, weights_only=True)
    assert torch.equal(ex.body.features[0].weight, saved["features.0.weight"])
    img = smooth_image(0).requires_grad_(True)
    sum(v.sum() for v in ex(img).values()).backward()
    assert img.grad is not None and all(p.grad is None for p in ex.parameters())


def test_bad_weights_files_are_named(tmp_path, vgg_weights_file):
    with pytest.raises(WeightsError, match="no such file"):
        Stylizer("vgg19", weights=str(tmp_path / "nope.pth"))
    # a VGG19 file given to VGG16: shapes differ from conv3_3 on, and the message says which file
    with pytest.raises(WeightsError, match="vgg16 weights file"):
        Stylizer("vgg16", weights=str(vgg_weights_file))
    partial = tmp_path / "partial.pth"
    sd = torch.load(vgg_weights_file, weights_only=True)
    torch.save({k: v for k, v in sd.items() if not k.startswith("features.28.")}, partial)
    with pytest.raises(WeightsError, match="features.28"):
        Stylizer("vgg19", weights=str(partial))
    text = tmp_path / "page.pth"
    text.write_text("<html>not found</html>")
    with pytest.raises(WeightsError, match="page.pth"):
        Stylizer("vgg19", weights=str(text))


def test_unknown_layer_lists_the_valid_names():
    with pytest.raises(ValueError, match="conv9_9.*conv1_1"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        load_extractor("vgg19", ["conv9_9"], weights="random")


# ---- backbones --------------------------------------------------------------------------------

@pytest.mark.parametrize("backbone", BACKBONES)
def test_each_backbone_runs(backbone):
    torch.manual_seed(0)
    st = random_stylizer(backbone=backbone)
    deepest = max(available_layers(backbone).index(n) for n in st.content_layers + st.style_layers)
    assert st.extractor.depth == deepest + 1
    targets = st.style_targets([smooth_image(1)])
    out, stats = st.stylize(smooth_image(2), targets, num_iters=2, optimizer="adam", init="gaussian",
                            progress=False, style_weight=1e3)
    assert out.shape == (1, 3, 64, 64) and torch.isfinite(out).all()
    assert stats.iterations == 2 and stats.evaluations >= 3
    assert stats.history[-1]["total"] < stats.history[0]["total"]
    assert all(p.grad is None and not p.requires_grad for p in st.extractor.parameters())


def test_max_pooling_option_keeps_max_pools():
    avg = random_stylizer(pooling="avg").extractor.body.features
    mx = random_stylizer(pooling="max").extractor.body.features
    assert any(isinstance(m, torch.nn.AvgPool2d) for m in avg)
    assert not any(isinstance(m, torch.nn.AvgPool2d) for m in mx)
    assert any(isinstance(m, torch.nn.MaxPool2d) for m in mx)


