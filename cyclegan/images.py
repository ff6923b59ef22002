"""Image files in and out, for every part of the library (data, display, testing, metrics, nst, comparison).

- one extension list (`IMG_EXTENSIONS`, the official name) and one folder lister (`list_images`);
- loading as 8-bit RGB whatever the file's mode (`load_rgb`), at an explicit size: `size=(H, W)`
  (an int N means N x N), or `longest=N` (longest side N, aspect kept), then `multiple=k` rounds
  both sides to a multiple of k (4 for the ResNet generators, which halve the image twice);
- tensors: float [0, 1] ("unsigned", metrics and nst) or [-1, 1] ("signed", the networks), uint8;
- saving any of these, written atomically through cyclegan.io.

Bad files raise ImageFileError (a ValueError and a UserError) naming the file; missing ones MissingFileError
(read_rgb: ImageFileError for those too).
"""
import io as _bytes_io
import os
import warnings
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from .errors import MissingFileError, UserError
from .io import atomic_write_bytes

IMG_EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".tif", ".tiff", ".webp")


class ImageFileError(UserError, ValueError):
    """A file that cannot be read or written as an image; the message names it and says what to do."""


def is_image_file(name):
    return str(name).lower().endswith(IMG_EXTENSIONS)


def list_images(folder, recursive=False):
    """Sorted image files (Paths) in `folder`, sub-folders too when `recursive`; an error names the
    folder when it is missing or holds none. Symlinked folders are not followed (no loops)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise MissingFileError(f"{folder}: no such folder")
    if recursive:
        files = []
        for root, dirs, names in os.walk(folder):
            dirs.sort()
            files += [Path(root, n) for n in sorted(names) if is_image_file(n)]
    else:
        files = sorted(p for p in folder.iterdir() if p.is_file() and is_image_file(p.name))
    if not files:
        raise MissingFileError(f"{folder}: no images found (looked for {', '.join(IMG_EXTENSIONS)})")
    return files


def to_rgb(img):
    """Convert any PIL mode (L, LA, P, RGBA, CMYK, I;16, I, F) to 8-bit RGB; transparency becomes white."""
    if img.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        a = np.asarray(img, dtype=np.float64)
        hi = 65535.0 if img.mode.startswith("I;16") or a.max() > 255 else 255.0
        img = Image.fromarray(np.clip(a / hi * 255.0 + 0.5, 0, 255).astype(np.uint8), "L")
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        img = img.convert("RGBA")
        background = Image.new("RGBA", img.size, (255, 255, 255, 255))
        img = Image.alpha_composite(background, img)
    return img.convert("RGB")


def load_rgb(path):
    """Open an image file fully (so truncation shows up here, not later) and return it as RGB.
    PIL's own errors pass through (the dataset skips such files); load_image wraps them."""
    with Image.open(path) as img:
        img.load()
        return to_rgb(img)


def read_rgb(path):
    """An image file as a PIL RGB image, every failure an ImageFileError naming the file: missing, not an
    image, truncated, or a decompression bomb (over PIL.Image.MAX_IMAGE_PIXELS; refused, not just warned)."""
    if not os.path.isfile(path):
        raise ImageFileError(f"{path}: no such image file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            return load_rgb(path)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        raise ImageFileError(f"{path}: refused as a possible decompression bomb ({e}); if you trust the file, raise "
                             f"PIL.Image.MAX_IMAGE_PIXELS") from None
    except (OSError, SyntaxError, ValueError) as e:
        raise ImageFileError(f"{path}: not a readable image ({e}); replace or remove the file") from None


def target_size(wh, size=None, longest=None, multiple=1):
    """(W, H) of an image of size `wh` after the size rules above."""
    if size is not None and longest is not None:
        raise ValueError("give either size=(H, W) or longest=N, not both")
    w, h = wh
    if size is not None:
        h, w = (size, size) if isinstance(size, int) else size
    elif longest:
        s = longest / max(w, h)
        w, h = max(1, round(w * s)), max(1, round(h * s))
    if multiple > 1:
        w, h = max(multiple, round(w / multiple) * multiple), max(multiple, round(h / multiple) * multiple)
    return int(w), int(h)


def resize(img, size=None, longest=None, multiple=1):
    """PIL image resized (bicubic) by the size rules; the same object when nothing changes."""
    wh = target_size(img.size, size, longest, multiple)
    return img if wh == img.size else img.resize(wh, Image.BICUBIC)


def to_tensor(img, signed=False, grayscale=False):
    """PIL image -> float (C, H, W): [0, 1], or [-1, 1] when `signed`; C is 1 when `grayscale`."""
    if grayscale:
        img = img.convert("L")
    a = np.asarray(img, dtype=np.float32)
    a = a / 127.5 - 1.0 if signed else a / 255.0
    a = a[:, :, None] if a.ndim == 2 else a
    return torch.from_numpy(np.ascontiguousarray(a.transpose(2, 0, 1)))


def load_image(path, size=None, longest=None, multiple=1, signed=False):
    """Image file -> float (3, H, W) in [0, 1] ([-1, 1] when `signed`), resized by the size rules.

    Missing files raise MissingFileError (a FileNotFoundError), unreadable ones ImageFileError, both naming the file."""
    if not os.path.isfile(path):
        raise MissingFileError(f"{path}: no such image file")
    return to_tensor(resize(read_rgb(path), size, longest, multiple), signed)


def to_uint8(t, signed=False):
    """(C, H, W) or (1, C, H, W) tensor in [0, 1] ([-1, 1] when `signed`) -> (H, W, 3) uint8 array.
    One channel is repeated to three, extra channels dropped, NaN shown as black."""
    t = t.detach()
    if t.dim() == 4:
        t = t[0]
    if t.dim() == 2:
        t = t[None]
    # numpy, single-threaded: as torch ops each of these waits for every thread, which on a busy CPU cost
    # ~50 ms per 256 x 256 image (measured), a tenth of a bf16 forward
    a = np.nan_to_num(t.float().cpu()[:3].numpy(), nan=-1.0 if signed else 0.0)
    scaled = (np.clip(a, -1, 1) + 1.0) * 127.5 if signed else np.clip(a, 0, 1) * 255.0
    a = np.clip(scaled + 0.5, 0, 255).astype(np.uint8).transpose(1, 2, 0)
    return np.repeat(a, 3, axis=2) if a.shape[2] == 1 else a


def from_uint8(a, signed=False):
    """(H, W, C) uint8 array -> float (C, H, W) in [0, 1] ([-1, 1] when `signed`)."""
    return to_tensor(Image.fromarray(np.asarray(a, dtype=np.uint8)), signed)


def pixels_to_batch(pixels):
    """(B, H, W, C) uint8 tensor -> (B, C, H, W) float in [0, 1], channels-last in memory like the pixels (no
    transposing copy). Torch ops only, so a compiled graph fuses them (inference.compiled.PixelNet)."""
    return pixels.permute(0, 3, 1, 2).float().div_(255)


def batch_to_pixels(batch):
    """(B, C, H, W) in [0, 1] -> (B, H, W, C) uint8 tensor, rounded and clamped; in place after the first product.
    Free of a copy when the batch is channels-last. Torch ops only, as pixels_to_batch."""
    return batch.mul(255).add_(0.5).clamp_(0, 255).to(torch.uint8).permute(0, 2, 3, 1).contiguous()


def save_image(image, path, signed=False, aspect_ratio=1.0, quality=95):
    """Write a tensor (as to_uint8 takes it), an (H, W, 3) uint8 array or a PIL image to `path`
    (format from the suffix, JPEG at `quality`), atomically; returns `path` as a Path.

    aspect_ratio > 1 widens the picture, < 1 makes it taller, as the official test script does."""
    path = Path(path)
    fmt = Image.registered_extensions().get(path.suffix.lower())
    if fmt is None:
        raise ImageFileError(f"{path}: unknown image suffix; use one of {', '.join(IMG_EXTENSIONS)}")
    if torch.is_tensor(image):
        image = to_uint8(image, signed)
    img = image if isinstance(image, Image.Image) else Image.fromarray(image)
    w, h = img.size
    if aspect_ratio > 1.0:
        img = img.resize((int(w * aspect_ratio), h), Image.BICUBIC)
    elif aspect_ratio < 1.0:
        img = img.resize((w, int(h / aspect_ratio)), Image.BICUBIC)
    buf = _bytes_io.BytesIO()
    img.save(buf, format=fmt, **({"quality": quality} if fmt == "JPEG" else {}))
    atomic_write_bytes(path, buf.getvalue())
    return path
