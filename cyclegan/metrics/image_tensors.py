"""Image inputs for the metrics: checking tensors; files are listed and loaded by cyclegan.images.

Convention for every metric: an image is a float tensor (3, H, W) with values in [0, 1]
(RGB, as PIL's "RGB" mode gives), a batch is (N, 3, H, W). Lists of (3, H, W) tensors are
accepted where sizes may differ (the classifier and Inception resize every image anyway).
"""
import os

import torch

from ..images import list_images, load_image


def check_image(img, name="image"):
    """Return `img` as float (3, H, W); clear errors for wrong shapes, dtypes and ranges."""
    if not torch.is_tensor(img):
        raise TypeError(f"{name}: expected a torch tensor (3, H, W) in [0, 1], got {type(img).__name__}; "
                        f"load files with cyclegan.metrics.load_image(path)")
    if img.dim() != 3 or img.shape[0] != 3:
        raise ValueError(f"{name}: expected shape (3, H, W) (RGB, channels first), got {tuple(img.shape)}")
    return _check_values(img, name)


def as_batch(images, name="images"):
    """Return `images` as a float (N, 3, H, W) batch; accepts (3,H,W), (N,3,H,W) or a list of same-size (3,H,W)."""
    if isinstance(images, (list, tuple)):
        if not images:
            raise ValueError(f"{name}: the list is empty")
        imgs = [check_image(im, f"{name}[{i}]") for i, im in enumerate(images)]
        sizes = {tuple(im.shape) for im in imgs}
        if len(sizes) > 1:
            raise ValueError(f"{name}: images have different sizes {sorted(sizes)}; resize them to one size "
                             f"first (e.g. load_images(paths, size=256))")
        return torch.stack(imgs)
    if not torch.is_tensor(images):
        raise TypeError(f"{name}: expected a tensor (N, 3, H, W) in [0, 1] or a list of (3, H, W) tensors, "
                        f"got {type(images).__name__}")
    if images.dim() == 3:
        images = images.unsqueeze(0)
    if images.dim() != 4 or images.shape[1] != 3:
        raise ValueError(f"{name}: expected shape (N, 3, H, W) or (3, H, W), got {tuple(images.shape)}")
    if images.shape[0] == 0:
        raise ValueError(f"{name}: the batch is empty")
    return _check_values(images, name)


def iter_images(images, name="images"):
    """Yield single (3, H, W) tensors from a batch, a list of tensors, or a list of file paths."""
    if torch.is_tensor(images):
        yield from as_batch(images, name)
        return
    if not isinstance(images, (list, tuple)) or not images:
        raise ValueError(f"{name}: expected a non-empty tensor batch or list of images/paths")
    for i, im in enumerate(images):
        if isinstance(im, (str, os.PathLike)):
            yield load_image(im)
        else:
            yield check_image(im, f"{name}[{i}]")


def _check_values(t, name):
    if not t.is_floating_point():
        raise TypeError(f"{name}: expected a float tensor with values in [0, 1], got dtype {t.dtype} "
                        f"(divide uint8 images by 255)")
    lo, hi = float(t.min()), float(t.max())
    if lo < -1e-3 or hi > 1 + 1e-3:
        raise ValueError(f"{name}: values must lie in [0, 1], found [{lo:.3g}, {hi:.3g}] "
                         f"(a generator's [-1, 1] output needs (x + 1) / 2)")
    return t.float().clamp(0, 1)


def load_images(paths, size=None):
    """Read image files into one (N, 3, H, W) float batch in [0, 1]; pass `size` ((H, W), or N for N x N)
    when the files differ in size. One file: cyclegan.images.load_image (also exported here)."""
    return as_batch([load_image(p, size) for p in paths], name="load_images")


__all__ = ["check_image", "as_batch", "iter_images", "list_images", "load_image", "load_images"]
