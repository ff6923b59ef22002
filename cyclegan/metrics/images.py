"""Image inputs for the metrics: checking tensors, and loading image files as tensors.

Convention for every metric: an image is a float tensor (3, H, W) with values in [0, 1]
(RGB, as PIL's "RGB" mode gives), a batch is (N, 3, H, W). Lists of (3, H, W) tensors are
accepted where sizes may differ (the classifier and Inception resize every image anyway).
"""
import os
from pathlib import Path

import torch

from ..data.image_folder import load_tensor

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")


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


def load_image(path, size=None):
    """Read an image file as a float (3, H, W) tensor in [0, 1]; `size` int (square) or (H, W) resizes."""
    return load_tensor(path, (size, size) if isinstance(size, int) else size)[0]


def load_images(paths, size=None):
    """Read image files into one (N, 3, H, W) batch; pass `size` when the files differ in size."""
    return as_batch([load_image(p, size) for p in paths], name="load_images")


def list_images(folder):
    """Sorted image files in `folder` (not recursive); an error names the folder when there are none."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: no such folder")
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)
    if not files:
        raise FileNotFoundError(f"{folder}: no image files ({', '.join(IMAGE_EXTENSIONS)}) in it")
    return files
