"""A small built-in two-domain dataset for when no real one can be downloaded.

Domain A ("paintings"): saturated blue/yellow swirling brush strokes on a textured ground.
Domain B ("photos"): smooth sky-over-land gradients with soft blurred shapes and sensor noise.
Written in the official trainA/trainB/testA/testB layout, deterministic for a given seed.
"""
import math
import os

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

PALETTE = [(30, 60, 150), (60, 110, 200), (240, 200, 40), (250, 230, 120), (20, 40, 90), (90, 150, 80)]


def painting(rng, size):
    img = Image.new("RGB", (size, size), PALETTE[rng.integers(len(PALETTE))])
    draw = ImageDraw.Draw(img)
    for _ in range(int(size * 1.5)):
        cx, cy = rng.uniform(0, size, 2)
        r, a0 = rng.uniform(size * 0.05, size * 0.4), rng.uniform(0, 2 * math.pi)
        colour = tuple(int(c) for c in np.clip(np.array(PALETTE[rng.integers(len(PALETTE))])
                                               + rng.normal(0, 25, 3), 0, 255))
        pts = [(cx + r * math.cos(a0 + t) * (1 + 0.1 * t), cy + r * math.sin(a0 + t)) for t in np.linspace(0, 2.5, 8)]
        draw.line(pts, fill=colour, width=max(1, size // 40))
    return img


def photo(rng, size):
    yy, xx = np.mgrid[0:size, 0:size] / size
    horizon = rng.uniform(0.35, 0.65)
    sky = np.array([120, 170, 230]) + rng.normal(0, 15, 3)
    land = np.array([70, 110, 60]) + rng.normal(0, 15, 3)
    t = np.clip((yy - horizon) * 8, 0, 1)[..., None]
    a = (1 - t) * (sky * (0.8 + 0.2 * yy[..., None])) + t * land * (1.1 - 0.3 * yy[..., None])
    img = Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(img)
    for _ in range(rng.integers(2, 6)):
        x, y, r = rng.uniform(0, size), rng.uniform(horizon * size, size), rng.uniform(size * 0.05, size * 0.2)
        draw.ellipse((x - r, y - r / 2, x + r, y + r / 2), fill=tuple(int(v) for v in land * rng.uniform(0.5, 0.9)))
    img = img.filter(ImageFilter.GaussianBlur(size / 128))
    noisy = np.asarray(img, dtype=np.float32) + rng.normal(0, 4, (size, size, 3))
    return Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8))


def make_synthetic_dataset(root, n_train=120, n_test=20, size=96, seed=0):
    """Write the dataset under root/{trainA,trainB,testA,testB}; returns root."""
    rng = np.random.default_rng(seed)
    for phase, n in (("train", n_train), ("test", n_test)):
        for domain, make in (("A", painting), ("B", photo)):
            folder = os.path.join(root, phase + domain)
            os.makedirs(folder, exist_ok=True)
            for i in range(n):
                make(rng, size).save(os.path.join(folder, f"{i:04d}.png"))
    return root
