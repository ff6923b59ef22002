"""Preprocessing (resize_and_crop, crop, scale_width, scale_width_and_crop, none) and flips.

Random choices come from an explicit `random.Random`, so a sample's crop and flip depend only on
its seed: runs are repeatable, resumable mid-epoch and identical across DataLoader workers and ranks.
"""
import numpy as np
import torch
from PIL import Image

PREPROCESS_MODES = ("resize_and_crop", "crop", "scale_width", "scale_width_and_crop", "none")


def _make_multiple(img, base=4):
    """Round the size to a multiple of `base` (the generators halve the image twice)."""
    w, h = img.size
    nw, nh = max(base, int(round(w / base) * base)), max(base, int(round(h / base) * base))
    return img if (nw, nh) == (w, h) else img.resize((nw, nh), Image.BICUBIC)


def _scale_width(img, target_width, crop_size):
    w, h = img.size
    if w == target_width and h >= crop_size:
        return img
    h = int(max(target_width * h / w, crop_size))
    return img.resize((target_width, h), Image.BICUBIC)


def _random_crop(img, size, rng):
    w, h = img.size
    if w < size or h < size:  # too small to crop: enlarge, keeping the aspect ratio
        s = size / min(w, h)
        img = img.resize((max(size, round(w * s)), max(size, round(h * s))), Image.BICUBIC)
        w, h = img.size
    x, y = rng.randint(0, w - size), rng.randint(0, h - size)
    return img.crop((x, y, x + size, y + size))


def preprocess(img, opt_preprocess, load_size, crop_size, flip, rng):
    """PIL RGB image -> PIL image after the chosen preprocessing and (if `flip`) a random horizontal flip."""
    if opt_preprocess not in PREPROCESS_MODES:
        raise ValueError(f"--preprocess {opt_preprocess!r} is not one of: {', '.join(PREPROCESS_MODES)}")
    if "resize" in opt_preprocess:
        img = img.resize((load_size, load_size), Image.BICUBIC)
    elif "scale_width" in opt_preprocess:
        img = _scale_width(img, load_size, crop_size)
    if "crop" in opt_preprocess:
        img = _random_crop(img, crop_size, rng)
    if opt_preprocess == "none":
        img = _make_multiple(img, 4)
    if flip and rng.random() < 0.5:
        img = img.transpose(Image.FLIP_LEFT_RIGHT)
    return img


def to_tensor(img, grayscale=False):
    """PIL image -> float tensor (C,H,W) normalised to [-1, 1]."""
    if grayscale:
        img = img.convert("L")
    a = np.asarray(img, dtype=np.float32) / 127.5 - 1.0
    a = a[:, :, None] if a.ndim == 2 else a
    return torch.from_numpy(np.ascontiguousarray(a.transpose(2, 0, 1)))


def tensor_to_image(t):
    """(C,H,W) or (1,C,H,W) tensor in [-1, 1] -> uint8 HxWx3 numpy array."""
    t = t.detach()
    if t.dim() == 4:
        t = t[0]
    a = ((t.float().cpu().clamp(-1, 1) + 1.0) * 127.5 + 0.5).clamp(0, 255).to(torch.uint8).numpy()
    a = a.transpose(1, 2, 0)
    return np.repeat(a, 3, axis=2) if a.shape[2] == 1 else a
