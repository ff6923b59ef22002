"""How much content an output keeps from its input: grayscale SSIM and Sobel edge-map correlation.

Both take two batches (N, 3, H, W) in [0, 1] of the same size (or single (3, H, W) images)
and return one value per image pair as a float tensor (N,). No network or weights needed.
"""
import torch
import torch.nn.functional as F

from .image_tensors import as_batch

# ITU-R BT.601 luma weights, the usual RGB -> gray conversion (PIL's "L" mode uses them too).
_LUMA = (0.299, 0.587, 0.114)


def to_gray(images):
    """(N, 3, H, W) RGB in [0, 1] -> (N, 1, H, W) luma."""
    w = torch.tensor(_LUMA, dtype=images.dtype, device=images.device).view(1, 3, 1, 1)
    return (images * w).sum(dim=1, keepdim=True)


def _pair(x, y, device):
    x, y = as_batch(x, "x").to(device), as_batch(y, "y").to(device)
    if x.shape != y.shape:
        raise ValueError(f"x and y must have the same shape, got {tuple(x.shape)} and {tuple(y.shape)}; "
                         f"resize the output to the input's size first")
    return to_gray(x).double(), to_gray(y).double()


def _gaussian_window(size, sigma, device):
    ax = torch.arange(size, dtype=torch.float64, device=device) - (size - 1) / 2
    g = torch.exp(-ax ** 2 / (2 * sigma ** 2))
    g = g / g.sum()
    return (g[:, None] * g[None, :]).view(1, 1, size, size)


def ssim(x, y, window_size=11, sigma=1.5, data_range=1.0, device="cpu"):
    """Mean structural similarity (Wang et al. 2004) of the grayscale images, one value per pair.

    Gaussian window (11, sigma 1.5), K1 = 0.01, K2 = 0.03, only windows fully inside the image
    ("valid"), as in the paper's reference code. 1 means identical; the range is [-1, 1].
    """
    gx, gy = _pair(x, y, device)
    if min(gx.shape[-2:]) < window_size:
        raise ValueError(f"images of {tuple(gx.shape[-2:])} pixels are smaller than the SSIM window "
                         f"({window_size}); pass a smaller window_size")
    win = _gaussian_window(window_size, sigma, gx.device)
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    mu_x, mu_y = F.conv2d(gx, win), F.conv2d(gy, win)
    var_x = F.conv2d(gx * gx, win) - mu_x ** 2
    var_y = F.conv2d(gy * gy, win) - mu_y ** 2
    cov = F.conv2d(gx * gy, win) - mu_x * mu_y
    num = (2 * mu_x * mu_y + c1) * (2 * cov + c2)
    den = (mu_x ** 2 + mu_y ** 2 + c1) * (var_x + var_y + c2)
    return (num / den).mean(dim=(1, 2, 3)).float().cpu()


def sobel_edges(images, device="cpu"):
    """Sobel gradient magnitude of the grayscale images: (N, 3, H, W) -> (N, 1, H, W)."""
    gray = to_gray(as_batch(images).to(device)).double()
    kx = torch.tensor([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=gray.dtype, device=gray.device)
    kernels = torch.stack([kx, kx.t()]).unsqueeze(1)
    # replicate padding so borders do not show up as strong artificial edges
    grad = F.conv2d(F.pad(gray, (1, 1, 1, 1), mode="replicate"), kernels)
    return grad.pow(2).sum(dim=1, keepdim=True).sqrt()


def edge_correlation(x, y, device="cpu"):
    """Pearson correlation of the two images' Sobel edge maps, one value per pair, in [-1, 1].

    1 means the edges sit in the same places with proportional strength; near 0 means unrelated.
    A pair where either image has no edges at all (a flat image) gives NaN, not a made-up value.
    """
    x, y = as_batch(x, "x"), as_batch(y, "y")
    if x.shape != y.shape:
        raise ValueError(f"x and y must have the same shape, got {tuple(x.shape)} and {tuple(y.shape)}; "
                         f"resize the output to the input's size first")
    ex = sobel_edges(x, device).flatten(1)
    ey = sobel_edges(y, device).flatten(1)
    ex = ex - ex.mean(dim=1, keepdim=True)
    ey = ey - ey.mean(dim=1, keepdim=True)
    den = ex.norm(dim=1) * ey.norm(dim=1)
    r = (ex * ey).sum(dim=1) / den
    r = torch.where(den > 1e-12, r.clamp(-1, 1), torch.full_like(r, float("nan")))
    return r.float().cpu()
