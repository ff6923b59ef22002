"""Finding images in a folder and reading any of them as 8-bit RGB."""
import os

import numpy as np
import torch
from PIL import Image

IMG_EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".tif", ".tiff", ".webp")


def is_image_file(filename):
    return filename.lower().endswith(IMG_EXTENSIONS)


def make_dataset(folder, max_dataset_size=float("inf")):
    """Sorted image paths under `folder` (recursively); a clear error if it is missing or has none."""
    if os.path.isfile(folder) and is_image_file(folder):
        return [folder]
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"{folder}: no such folder. Check --dataroot (expected {os.path.basename(folder)}/ "
                                f"inside it) or download a dataset with scripts/download_cyclegan_dataset.sh")
    paths = []
    for root, dirs, files in os.walk(folder):  # followlinks=False: a symlink loop cannot trap the scan
        dirs.sort()
        paths += [os.path.join(root, f) for f in sorted(files) if is_image_file(f)]
    if not paths:
        raise FileNotFoundError(f"{folder}: no images found (looked for {', '.join(IMG_EXTENSIONS)}). "
                                f"Put images there or point --dataroot at the right dataset")
    return paths[:int(min(max_dataset_size, len(paths)))]


def to_rgb(img):
    """Convert any PIL mode (L, LA, P, RGBA, CMYK, I;16, I, F) to 8-bit RGB."""
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
    """Open an image file fully (so truncation shows up here, not later) and return it as RGB."""
    with Image.open(path) as img:
        img.load()
        return to_rgb(img)


def load_tensor(path, size=None, multiple=1):
    """Image file -> (1, 3, H, W) float tensor in [0, 1].

    size: None keeps the size; an int is the longest side; (H, W) is exact. Sides are then rounded
    to a multiple of `multiple` (e.g. 4 for the ResNet generators). Missing files raise
    FileNotFoundError, unreadable ones ValueError, both naming the file.
    """
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path}: no such image file")
    try:
        img = load_rgb(path)
    except (OSError, SyntaxError) as e:
        raise ValueError(f"{path}: not a readable image ({e})") from None
    w, h = img.size
    if isinstance(size, (tuple, list)):
        h, w = size
    elif size:
        s = size / max(w, h)
        w, h = max(1, round(w * s)), max(1, round(h * s))
    if multiple > 1:
        w, h = max(multiple, round(w / multiple) * multiple), max(multiple, round(h / multiple) * multiple)
    if (w, h) != img.size:
        img = img.resize((w, h), Image.BICUBIC)
    a = np.asarray(img, dtype=np.float32) / 255.0
    return torch.from_numpy(a).permute(2, 0, 1).unsqueeze(0).contiguous()
