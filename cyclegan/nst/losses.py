"""Style, content and smoothness losses for Gatys-style optimisation.

Style losses turn one layer's activations (1, C, H, W) into a statistic, pool statistics of
several style images with blend weights (the same path averages a whole folder of paintings),
and score a generated image's activations against the pooled target:

  gram        mean squared difference of Gram matrices G = F F^T / (C N), N = H W positions;
              dividing by N makes a weight tuned at one image size work at another.
  mmd_linear  Li et al.'s MMD^2 with k(x, y) = x.y, i.e. |mean_x - mean_y|^2, divided by C.
  mmd_poly    MMD^2 with k(x, y) = (x.y)^2, divided by C^2. Exactly C^2 times the gram loss
              (computed through second moments; tests check it against explicit kernel sums).
  mmd_gauss   MMD^2 with k(x, y) = exp(-|x - y|^2 / (2 s^2)), s^2 the mean squared distance
              between style samples. Kernel sums run in chunks with a recomputing backward
              (gauss_kernel_sum in mmd.py), so memory stays flat at any image size.
  bn          squared differences of per-channel means and standard deviations, divided by C.
"""
import torch
import torch.nn.functional as F

from cyclegan.nst.mmd import gauss_kernel_sum

STYLE_LOSSES = ("gram", "mmd_linear", "mmd_poly", "mmd_gauss", "bn")
DEFAULT_MMD_SAMPLES = 512  # mmd_gauss's sample/block size


def positions(feat):
    """(1, C, H, W) activations as N = H*W samples of C channels: an (N, C) view."""
    if feat.dim() != 4 or feat.shape[0] != 1:
        raise ValueError(f"expected activations of shape (1, C, H, W), got {tuple(feat.shape)}")
    return feat.reshape(feat.shape[1], -1).t()


class _Gram(torch.autograd.Function):
    """x^T x / k with a one-GEMM backward, x (g + g^T) / k; autograd's matmul rule would take two."""

    @staticmethod
    def forward(ctx, x, k):
        ctx.save_for_backward(x)
        ctx.k = k
        return x.t() @ x / k

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return x @ ((g + g.t()) / ctx.k), None


def gram(feat):
    """Gram matrix of (1, C, H, W) activations, normalised by C*H*W: (C, C)."""
    x = positions(feat)
    return _Gram.apply(x, float(x.numel()))


def gram_loss(feat, target_gram):
    return (gram(feat) - target_gram).pow(2).mean()


def content_loss(feat, target):
    return F.mse_loss(feat, target)


def tv_loss(img):
    """Mean squared difference between neighbouring pixels (size independent)."""
    return (img[..., 1:, :] - img[..., :-1, :]).pow(2).mean() + (img[..., :, 1:] - img[..., :, :-1]).pow(2).mean()


def _normalise(weights, n):
    w = torch.as_tensor([1.0] * n if weights is None else list(weights), dtype=torch.float64)
    if len(w) != n or (w < 0).any() or w.sum() <= 0:
        raise ValueError(f"blend weights {list(w.tolist())} must be {n} non-negative numbers with a positive sum")
    return (w / w.sum()).tolist()


class GramStyle:
    """Gatys et al.: pooled target = blend-weighted mean of the style images' Gram matrices."""
    name = "gram"

    def stat(self, feat):
        return gram(feat).detach()

    def combine(self, stats, weights=None):
        return sum(w * s for w, s in zip(_normalise(weights, len(stats)), stats))

    def __call__(self, feat, target):
        return gram_loss(feat, target)


class MeanStdStyle:
    """Li et al.'s BN loss. Pooling keeps first and second moments, i.e. the mixture's mean and std."""
    name = "bn"

    def stat(self, feat):
        x = positions(feat).detach()
        return x.mean(0), x.pow(2).mean(0)

    def combine(self, stats, weights=None):
        w = _normalise(weights, len(stats))
        mean = sum(wi * m for wi, (m, _) in zip(w, stats))
        second = sum(wi * s for wi, (_, s) in zip(w, stats))
        return mean, (second - mean.pow(2)).clamp_min(0).add(1e-8).sqrt()

    def __call__(self, feat, target):
        x = positions(feat)
        mean, std = target
        var = x.var(0, unbiased=False)
        return ((x.mean(0) - mean).pow(2).mean() + ((var + 1e-8).sqrt() - std).pow(2).mean())


class LinearMMDStyle:
    """MMD^2 with the linear kernel is the squared distance between mean activations."""
    name = "mmd_linear"

    def stat(self, feat):
        return positions(feat).detach().mean(0)

    def combine(self, stats, weights=None):
        return sum(w * s for w, s in zip(_normalise(weights, len(stats)), stats))

    def __call__(self, feat, target):
        return (positions(feat).mean(0) - target).pow(2).sum() / target.numel()


class PolyMMDStyle:
    """MMD^2 with k = (x.y)^2: |S_x - S_y|_F^2 with S the mean outer product, divided by C^2."""
    name = "mmd_poly"

    def stat(self, feat):
        x = positions(feat).detach()
        return x.t() @ x / x.shape[0]

    def combine(self, stats, weights=None):
        return sum(w * s for w, s in zip(_normalise(weights, len(stats)), stats))

    def __call__(self, feat, target):
        x = positions(feat)
        return (x.t() @ x / x.shape[0] - target).pow(2).sum() / target.shape[0] ** 2


class GaussMMDStyle:
    """MMD^2 with a Gaussian kernel between the generated image's positions and style samples.

    The style side keeps at most `samples` positions in all (split between the style images by
    blend weight), so the target stays small even for a folder of hundreds of paintings. On the
    generated side, up to `samples` positions the kernel sums are exact; above that the x-x sum
    is exact within fixed random blocks of about `samples` positions (a block MMD estimate:
    every position still gets a gradient), which keeps a 512 px evaluation at O(N * samples)
    instead of O(N^2). `samples=None` always uses the exact, chunked O(N^2) sums.
    """
    name = "mmd_gauss"

    def __init__(self, samples=DEFAULT_MMD_SAMPLES, chunk_elements=1 << 22):
        self.samples = samples
        self.chunk = chunk_elements

    def stat(self, feat):
        x = positions(feat).detach()
        if self.samples is not None and x.shape[0] > self.samples:
            x = x[torch.randperm(x.shape[0], device=x.device)[:self.samples]]
        return x.contiguous()

    def combine(self, stats, weights=None):
        w = _normalise(weights, len(stats))
        ys, bs = [], []
        for wi, y in zip(w, stats):
            if wi == 0:
                continue
            if self.samples is not None:
                keep = min(y.shape[0], max(1, round(self.samples * wi)))
                y = y[torch.randperm(y.shape[0], device=y.device)[:keep]]
            ys.append(y)
            bs.append(torch.full((y.shape[0],), wi / y.shape[0], dtype=y.dtype, device=y.device))
        y, b = torch.cat(ys), torch.cat(bs)
        mean = b @ y
        # Mean squared distance between two weighted samples: 2 (E|y|^2 - |E y|^2).
        sigma2 = max(2 * float(b @ y.pow(2).sum(1) - mean.pow(2).sum()), 1e-12)
        gamma = 1.0 / (2 * sigma2)
        yy = float(gauss_kernel_sum(y[None], y[None], b[None], b[None], gamma, self.chunk))
        return {"y": y, "b": b, "gamma": gamma, "yy": yy, "perms": {}}

    def __call__(self, feat, target):
        x = positions(feat)
        n = x.shape[0]
        y, b, gamma = target["y"], target["b"], target["gamma"]
        a = x.new_full((1, n), 1.0 / n)
        xy = gauss_kernel_sum(x[None], y[None], a, b[None], gamma, self.chunk)
        if self.samples is None or n <= self.samples:
            xx = gauss_kernel_sum(x[None], x[None], a, a, gamma, self.chunk)
        else:
            xx = self._block_xx(x, target, gamma)
        return xx + target["yy"] - 2 * xy

    def _block_xx(self, x, target, gamma):
        n = x.shape[0]
        blocks = -(-n // self.samples)
        size = n // blocks  # equal blocks; the < `blocks` leftover positions only enter the x-y term
        key = (n, x.device)
        if key not in target["perms"]:
            g = torch.Generator().manual_seed(n)  # fixed per size: L-BFGS needs a deterministic objective
            target["perms"][key] = torch.randperm(n, generator=g)[:blocks * size].to(x.device)
        xb = x[target["perms"][key]].view(blocks, size, -1)
        w = xb.new_full((blocks, size), 1.0 / (size * blocks ** 0.5))  # mean over blocks of each block's V-statistic
        return gauss_kernel_sum(xb, xb, w, w, gamma, self.chunk)


def make_style_loss(name, mmd_samples=DEFAULT_MMD_SAMPLES):
    """The style loss object for `name` (one of STYLE_LOSSES)."""
    table = {"gram": GramStyle, "bn": MeanStdStyle, "mmd_linear": LinearMMDStyle, "mmd_poly": PolyMMDStyle}
    if name == "mmd_gauss":
        return GaussMMDStyle(mmd_samples)
    if name not in table:
        raise ValueError(f"unknown style loss {name!r}; choose one of {', '.join(STYLE_LOSSES)}")
    return table[name]()
