"""Colour match to the paintings: sRGB -> CIE Lab, and a sliced Wasserstein distance between
the Lab colour distribution of one image and a pooled sample of painting pixels.

No weights needed. Projection directions and pixel subsamples come from fixed seeds, so the
same inputs always give the same number. Distances are in Lab units (L in [0, 100]).
"""
import torch

from .image_tensors import as_batch, iter_images

# sRGB (D65) -> XYZ matrix from IEC 61966-2-1; the D65 white is its row sums, so white maps to a = b = 0.
_RGB_TO_XYZ = ((0.4124564, 0.3575761, 0.1804375),
               (0.2126729, 0.7151522, 0.0721750),
               (0.0193339, 0.1191920, 0.9503041))
_DELTA = 6 / 29


def srgb_to_lab(rgb):
    """sRGB in [0, 1] -> CIE L*a*b* (D65). Works on any tensor whose LAST dimension is 3."""
    if rgb.shape[-1] != 3:
        raise ValueError(f"srgb_to_lab: the last dimension must hold R, G, B, got shape {tuple(rgb.shape)}")
    rgb = rgb.double().clamp(0, 1)
    linear = torch.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    m = torch.tensor(_RGB_TO_XYZ, dtype=rgb.dtype, device=rgb.device)
    xyz = linear @ m.t() / m.sum(dim=1)  # normalised by the white point
    f = torch.where(xyz > _DELTA ** 3, xyz.clamp_min(1e-12) ** (1 / 3), xyz / (3 * _DELTA ** 2) + 4 / 29)
    fx, fy, fz = f.unbind(-1)
    return torch.stack([116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)], dim=-1)


def image_to_lab(images):
    """(N, 3, H, W) or (3, H, W) RGB in [0, 1] -> Lab with the same layout (channels L, a, b)."""
    batch = as_batch(images)
    lab = srgb_to_lab(batch.movedim(1, -1)).movedim(-1, 1)
    return lab[0] if torch.is_tensor(images) and images.dim() == 3 else lab


def lab_pixels(image, n_pixels=4096, seed=0):
    """Lab values of up to `n_pixels` pixels of one (3, H, W) image, sampled with a fixed seed: (M, 3)."""
    pixels = image.reshape(3, -1).t()
    if pixels.shape[0] > n_pixels:
        g = torch.Generator().manual_seed(seed)
        pixels = pixels[torch.randperm(pixels.shape[0], generator=g)[:n_pixels].to(pixels.device)]
    return srgb_to_lab(pixels)


def pool_lab_pixels(images, per_image=2048, max_total=65536, seed=0):
    """Pool a Lab pixel sample from many images (tensors or file paths) into one (M, 3) tensor.

    Use it once on the painting set; every output is then compared to the same pool. The pool
    is subsampled (fixed seed) to at most `max_total` pixels to bound memory and time.
    """
    pool = torch.cat([lab_pixels(im, per_image, seed + i) for i, im in enumerate(iter_images(images, "images"))])
    if len(pool) > max_total:
        g = torch.Generator().manual_seed(seed)
        pool = pool[torch.randperm(len(pool), generator=g)[:max_total].to(pool.device)]
    return pool


def _directions(n, dim, seed, device):
    g = torch.Generator().manual_seed(seed)
    d = torch.randn(n, dim, generator=g, dtype=torch.float64)
    return (d / d.norm(dim=1, keepdim=True)).to(device)


def _projected_quantiles(points, dirs, n_levels):
    """(N, D) points -> (P, n_levels): each direction's sorted projections, read at evenly spaced levels."""
    proj = (dirs @ points.double().to(dirs.device).t()).sort(dim=1).values  # sort rows: contiguous, fast
    n = proj.shape[1]
    levels = (torch.arange(n_levels, dtype=proj.dtype, device=proj.device) + 0.5) / n_levels
    # linear interpolation of the empirical quantile function
    pos = (levels * n - 0.5).clamp(0, n - 1)
    lo = pos.floor().long()
    hi = (lo + 1).clamp(max=n - 1)
    w = pos - lo
    return proj[:, lo] * (1 - w) + proj[:, hi] * w


def _check_points(a, b):
    if a.dim() != 2 or b.dim() != 2 or a.shape[1] != b.shape[1] or len(a) < 1 or len(b) < 1:
        raise ValueError(f"sliced_wasserstein: expected two non-empty (N, D) point sets with the same D, "
                         f"got {tuple(a.shape)} and {tuple(b.shape)}")


def sliced_wasserstein(a, b, n_projections=128, seed=0, max_levels=4096):
    """Sliced 2-Wasserstein distance between two point sets a (Na, D) and b (Nb, D).

    Both sets are projected onto the same random unit directions; on each line the 1-D
    distance compares the two sorted projections at matching quantile levels (so Na and Nb
    may differ; at most `max_levels` evenly spaced levels keep big pools cheap). Result: sqrt
    of the mean squared quantile gap over all directions. Swapping a and b gives the same value.
    """
    _check_points(a, b)
    dirs = _directions(n_projections, a.shape[1], seed, a.device)
    n = min(max(len(a), len(b)), max_levels)
    qa, qb = _projected_quantiles(a, dirs, n), _projected_quantiles(b, dirs, n)
    return float(((qa - qb) ** 2).mean().sqrt())


def color_distance(images, painting_pixels, n_pixels=4096, n_projections=128, seed=0, max_levels=4096):
    """Sliced Wasserstein distance (Lab units) from each image's colours to a painting pixel pool.

    images: a (N, 3, H, W) batch, a list of (3, H, W) tensors, or file paths.
    painting_pixels: an (M, 3) Lab pool from pool_lab_pixels(paintings). Returns a float tensor (N,),
    each value equal to sliced_wasserstein(lab_pixels(image, n_pixels, seed), painting_pixels, ...).
    Lower means the image's colour distribution is closer to the paintings'.
    """
    dirs = _directions(n_projections, 3, seed, painting_pixels.device)
    pool_quantiles = {}  # the pool's projections are sorted once per level count, not per image
    out = []
    for im in iter_images(images, "images"):
        pixels = lab_pixels(im, n_pixels, seed)
        _check_points(pixels, painting_pixels)
        n = min(max(len(pixels), len(painting_pixels)), max_levels)
        if n not in pool_quantiles:
            pool_quantiles[n] = _projected_quantiles(painting_pixels, dirs, n)
        q = _projected_quantiles(pixels, dirs, n)
        out.append(float(((q - pool_quantiles[n]) ** 2).mean().sqrt()))
    return torch.tensor(out, dtype=torch.float32)
