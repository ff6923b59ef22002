"""Preprocessing (resize_and_crop, crop, scale_width, scale_width_and_crop, none) and flips.

Random choices come from an explicit `random.Random`, so a sample's crop and flip depend only on
its seed: runs are repeatable, resumable mid-epoch and identical across DataLoader workers and ranks.
"""
from PIL import Image

from ..images import resize

PREPROCESS_MODES = ("resize_and_crop", "crop", "scale_width", "scale_width_and_crop", "none")


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
        img = resize(img, multiple=4)  # the generators halve the image twice
    if flip and rng.random() < 0.5:
        img = img.transpose(Image.FLIP_LEFT_RIGHT)
    return img
