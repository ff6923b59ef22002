"""A small built-in two-domain dataset for when no real one can be downloaded.

Every image is a random scene (sky, ground, hills, trees, houses, a sun or a moon, in a random layout)
drawn one of two ways. Domain A, "paintings": a Van Gogh palette, swirling brush strokes and thick dark
outlines. Domain B, "photos": smooth natural colours, soft shading and a little sensor noise. The two
domains hold different scenes (unpaired, as CycleGAN expects), but since they share the same kind of
layout a model that learns the translation keeps the input's layout, which a person can check by eye.
Written in the official trainA/trainB/testA/testB layout, deterministic for a given seed.
"""
import math
import os

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from ..images import save_image
from ..io import atomic_write_json

SKY, HILL, GROUND, TRUNK, CROWN, WALL, ROOF, SUN = range(8)
# per region: photo colour (day) and Van Gogh palette (a few stroke colours)
PHOTO = {SKY: (135, 185, 235), HILL: (95, 125, 85), GROUND: (105, 150, 70), TRUNK: (95, 70, 45),
         CROWN: (50, 100, 45), WALL: (215, 200, 175), ROOF: (165, 70, 55), SUN: (255, 245, 215)}
PHOTO_NIGHT = {SKY: (25, 35, 70), SUN: (230, 230, 215)}
VANGOGH = {SKY: [(30, 60, 150), (60, 110, 200), (110, 160, 220), (20, 40, 110)],
           HILL: [(40, 100, 110), (70, 130, 120), (30, 80, 90)],
           GROUND: [(200, 170, 40), (150, 160, 50), (230, 200, 70), (110, 140, 50)],
           TRUNK: [(60, 40, 30), (90, 60, 30)],
           CROWN: [(20, 70, 40), (40, 100, 50), (15, 50, 35)],
           WALL: [(235, 215, 120), (220, 190, 90)],
           ROOF: [(200, 90, 40), (230, 120, 50)],
           SUN: [(250, 220, 60), (255, 240, 130), (240, 190, 40)]}
OUTLINE = (15, 20, 45)


def scene(rng):
    """A random layout: horizon, hills, trees, houses, sun or moon, in unit coordinates."""
    return {
        "night": bool(rng.random() < 0.3),
        "horizon": rng.uniform(0.45, 0.7),
        "hills": [(rng.uniform(0, 1), rng.uniform(0.08, 0.25), rng.uniform(0.2, 0.5)) for _ in range(rng.integers(0, 3))],
        "sun": (rng.uniform(0.1, 0.9), rng.uniform(0.1, 0.3), rng.uniform(0.06, 0.12)),
        "houses": [(rng.uniform(0.05, 0.8), rng.uniform(0.12, 0.2), rng.uniform(0.1, 0.16))
                   for _ in range(rng.integers(0, 3))],
        "trees": [(rng.uniform(0, 1), rng.uniform(0.15, 0.4), rng.uniform(0.05, 0.1), bool(rng.random() < 0.5))
                  for _ in range(rng.integers(0, 4))],
    }


def labels(sc, size):
    """The scene as a (size, size) map of region labels (later shapes cover earlier ones)."""
    yy, xx = np.mgrid[0:size, 0:size] / size
    lab = np.where(yy < sc["horizon"], SKY, GROUND).astype(np.uint8)
    sx, sy, sr = sc["sun"]
    lab[(xx - sx) ** 2 + (yy - sy) ** 2 < sr ** 2] = SUN
    for cx, h, w in sc["hills"]:
        lab[(yy > sc["horizon"] - h * np.exp(-((xx - cx) / w) ** 2)) & (yy < sc["horizon"])] = HILL
    base = sc["horizon"]
    for x, w, h in sc["houses"]:
        bottom = base + 0.05
        lab[(xx > x) & (xx < x + w) & (yy > bottom - h) & (yy < bottom)] = WALL
        roof = (yy < bottom - h) & (yy > bottom - h - w * 0.5) & (np.abs(xx - x - w / 2) < (yy - (bottom - h - w * 0.5)))
        lab[roof] = ROOF
    for x, h, r, cypress in sc["trees"]:
        bottom = base + 0.08
        lab[(np.abs(xx - x) < r * 0.2) & (yy > bottom - h) & (yy < bottom)] = TRUNK
        if cypress:  # a tall flame-like crown
            crown = ((xx - x) / r) ** 2 + ((yy - (bottom - h)) / (h * 0.8)) ** 2 < 1
        else:
            crown = (xx - x) ** 2 + (yy - (bottom - h)) ** 2 < (r * 1.6) ** 2
        lab[crown] = CROWN
    return lab


def photo(sc, lab, rng):
    """Smooth natural colours with soft vertical shading, a slight blur and noise."""
    size = lab.shape[0]
    colours = {**PHOTO, **(PHOTO_NIGHT if sc["night"] else {})}
    table = np.array([colours[k] for k in range(8)], dtype=np.float32)
    img = table[lab]
    yy = (np.mgrid[0:size, 0:size][0] / size)[..., None]
    shade = np.where((lab == SKY)[..., None], 0.85 + 0.3 * yy, 1.15 - 0.35 * yy)
    img = img * shade * rng.uniform(0.9, 1.1, 3)
    pil = Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(size / 96))
    noisy = np.asarray(pil, dtype=np.float32) + rng.normal(0, 3, (size, size, 3))
    return Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8))


def painting(sc, lab, rng):
    """Van Gogh palette, swirling strokes in the sky, sweeping strokes on the ground, thick outlines."""
    size = lab.shape[0]
    base = np.array([VANGOGH[k][0] for k in range(8)], dtype=np.uint8)[lab]
    img = Image.fromarray(base)
    draw = ImageDraw.Draw(img)
    width = max(1, size // 40)
    swirls = [(rng.uniform(0, size), rng.uniform(0, size * sc["horizon"])) for _ in range(3)]
    for _ in range(int(size * size / 14)):
        x, y = rng.uniform(0, size, 2)
        region = int(lab[int(y), int(x)])
        palette = VANGOGH[region]
        colour = tuple(int(c) for c in np.clip(np.array(palette[rng.integers(len(palette))]) + rng.normal(0, 12, 3),
                                               0, 255))
        if region in (SKY, SUN):  # strokes circle the nearest swirl centre (or the sun)
            cx, cy = (sc["sun"][0] * size, sc["sun"][1] * size) if region == SUN else \
                min(swirls, key=lambda c: (c[0] - x) ** 2 + (c[1] - y) ** 2)
            angle = math.atan2(y - cy, x - cx) + math.pi / 2
        elif region == CROWN:
            angle = -math.pi / 2 + rng.normal(0, 0.4)
        else:
            angle = rng.normal(0, 0.3)
        length = size * rng.uniform(0.04, 0.09)
        pts = [(x + length * t * math.cos(angle + 0.6 * t), y + length * t * math.sin(angle + 0.6 * t))
               for t in np.linspace(-0.5, 0.5, 5)]
        draw.line(pts, fill=colour, width=width)
    out = np.asarray(img).copy()
    edge = np.zeros(lab.shape, bool)
    edge[:-1] |= lab[:-1] != lab[1:]
    edge[:, :-1] |= lab[:, :-1] != lab[:, 1:]
    thick = max(1, size // 64)
    grown = edge.copy()
    for dy in range(-thick, thick + 1):
        for dx in range(-thick, thick + 1):
            grown |= np.roll(np.roll(edge, dy, 0), dx, 1)
    out[grown] = OUTLINE
    return Image.fromarray(out)


def draw_pair(rng, size):
    """One random scene drawn both ways: (painting, photo). Handy to look at what the domains mean."""
    sc = scene(rng)
    lab = labels(sc, size)
    return painting(sc, lab, rng), photo(sc, lab, rng)


def make_synthetic_dataset(root, n_train=120, n_test=20, size=96, seed=0):
    """Write the dataset under root/{trainA,trainB,testA,testB} (A paintings, B photos); returns root."""
    rng = np.random.default_rng(seed)
    for phase, n in (("train", n_train), ("test", n_test)):
        for domain, draw in (("A", painting), ("B", photo)):
            folder = os.path.join(root, phase + domain)
            os.makedirs(folder, exist_ok=True)
            for i in range(n):
                sc = scene(rng)
                save_image(draw(sc, labels(sc, size), rng), os.path.join(folder, f"{i:04d}.png"))
    atomic_write_json(os.path.join(root, "domains.json"),  # read by the results page
                      {"A": "paintings (synthetic)", "B": "photos (synthetic)"})
    return root
