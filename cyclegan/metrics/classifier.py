"""A small photo-vs-painting classifier: the "painting-ness" score of a set of images.

Trained on a dataset's trainA (paintings) and trainB (photos) at 64 px with a tiny CNN
(seconds to a CPU minute), scored on testA/testB, and cached per dataset: the cache file name is a
hash of the dataset path, its file list (names and sizes) and the training settings, so a
changed dataset or setting trains a new one. Saved with cyclegan.io.atomic_save, read with
safe_load. P(painting) > 0.5 counts as "called a painting".
"""
import hashlib
import json
import os
import time
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..errors import MissingFileError
from ..io import CheckpointError, atomic_save, safe_load
from .image_tensors import iter_images, list_images, load_image
from .threads import torch_threads

FORMAT = "cyclegan-painting-classifier/1"
DEFAULT_SETTINGS = {"image_size": 64, "load_size": 72, "width": 16, "epochs": 30,
                    "batch_size": 32, "lr": 0.003, "seed": 0}


def default_cache_dir():
    """~/.cache/cyclegan/painting_classifier (or under $XDG_CACHE_HOME)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "cyclegan" / "painting_classifier"


def _settings(settings):
    merged = dict(DEFAULT_SETTINGS, **(settings or {}))
    unknown = set(merged) - set(DEFAULT_SETTINGS)
    if unknown:
        raise ValueError(f"unknown classifier settings {sorted(unknown)}; known: {sorted(DEFAULT_SETTINGS)}")
    if merged["load_size"] < merged["image_size"]:
        raise ValueError("classifier settings: load_size must be >= image_size")
    return merged


def build_net(width):
    """Four stride-2 conv-BN-LeakyReLU blocks (64 -> 4 px), global average pool, one "painting" logit."""
    chans = [3, width, 2 * width, 4 * width, 4 * width]
    layers = []
    for cin, cout in zip(chans, chans[1:]):
        layers += [nn.Conv2d(cin, cout, 3, stride=2, padding=1), nn.BatchNorm2d(cout), nn.LeakyReLU(0.2)]
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(chans[-1], 1))


def _square(img, size):
    """(3, H, W) -> (3, size, size): scale the shorter side to `size`, centre crop."""
    h, w = img.shape[-2:]
    s = size / min(h, w)
    nh, nw = max(size, round(h * s)), max(size, round(w * s))
    x = F.interpolate(img.unsqueeze(0), size=(nh, nw), mode="bilinear", align_corners=False, antialias=True)[0]
    top, left = (nh - size) // 2, (nw - size) // 2
    return x[:, top:top + size, left:left + size]


def _load_folder(folder, load_size):
    """All images of a folder as a (N, 3, load_size, load_size) tensor, prepared as predict_prob does."""
    return torch.stack([_square(load_image(path), load_size) for path in list_images(folder)])


class PaintingClassifier:
    """A trained net plus its settings; predict_prob / fraction_paintings on images in [0, 1]."""

    def __init__(self, net, settings, device="cpu", num_threads=1):
        self.settings = settings
        self.device = torch.device(device)
        self.net = net.to(self.device).eval()
        self.num_threads = num_threads  # a net this small runs fastest on one thread, above all on a busy CPU

    def _batch(self, images):
        # the training view without the randomness: load_size square, centre crop of image_size
        load, size = self.settings["load_size"], self.settings["image_size"]
        off = (load - size) // 2
        return torch.stack([_square(im, load)[:, off:off + size, off:off + size] for im in images])

    @torch.no_grad()
    def predict_prob(self, images, batch_size=64):
        """P(painting) per image: images a (N,3,H,W) batch, list of (3,H,W) tensors, or file paths -> (N,)."""
        self.net.eval()
        probs, chunk = [], []
        with torch_threads(self.num_threads):
            for img in iter_images(images, "images"):
                chunk.append(img)
                if len(chunk) == batch_size:
                    probs.append(self._predict(chunk))
                    chunk = []
            if chunk:
                probs.append(self._predict(chunk))
        return torch.cat(probs)

    def _predict(self, chunk):
        x = self._batch(chunk).to(self.device)
        return torch.sigmoid(self.net(x * 2 - 1)).squeeze(1).float().cpu()

    def fraction_paintings(self, images, threshold=0.5):
        """Fraction of the images with P(painting) > threshold."""
        return float((self.predict_prob(images) > threshold).float().mean())


def _augment(x, size, gen):
    """Random crop to `size`, random horizontal flip, mild brightness jitter (per image)."""
    n, _, h, w = x.shape
    tops = torch.randint(0, h - size + 1, (n,), generator=gen)
    lefts = torch.randint(0, w - size + 1, (n,), generator=gen)
    flips = torch.rand(n, generator=gen) < 0.5
    gains = 1 + (torch.rand(n, generator=gen) - 0.5) * 0.2
    out = []
    for i in range(n):
        c = x[i, :, tops[i]:tops[i] + size, lefts[i]:lefts[i] + size]
        out.append((c.flip(-1) if flips[i] else c) * gains[i])
    return torch.stack(out).clamp(0, 1)


def train_classifier(paintings, photos, settings=None, device="cpu", log=None, num_threads=1):
    """Train on two folders (paintings = label 1, photos = label 0); returns a PaintingClassifier.

    num_threads: torch CPU threads while training (1 is fastest for this tiny net; None keeps torch's).
    """
    s = _settings(settings)
    with torch_threads(num_threads):
        xa, xb = _load_folder(paintings, s["load_size"]), _load_folder(photos, s["load_size"])
        with torch.random.fork_rng(devices=[]):  # seeded init without touching the caller's RNG
            torch.manual_seed(s["seed"])
            net = build_net(s["width"])
        _fit(net.to(device), xa, xb, s, torch.device(device), log)
    return PaintingClassifier(net, s, device, num_threads)


def _fit(net, xa, xb, s, dev, log):
    x = torch.cat([xa, xb])
    y = torch.cat([torch.ones(len(xa)), torch.zeros(len(xb))])
    gen = torch.Generator().manual_seed(s["seed"])
    opt = torch.optim.Adam(net.parameters(), lr=s["lr"])
    steps = s["epochs"] * -(-len(x) // s["batch_size"])
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=s["lr"], total_steps=steps)
    pos_weight = torch.tensor([len(xb) / len(xa)], device=dev)  # balance the two classes
    net.train()
    for epoch in range(s["epochs"]):
        order = torch.randperm(len(x), generator=gen)
        total = 0.0
        for i in range(0, len(x), s["batch_size"]):
            idx = order[i:i + s["batch_size"]]
            batch = _augment(x[idx], s["image_size"], gen).to(dev) * 2 - 1
            loss = F.binary_cross_entropy_with_logits(net(batch).squeeze(1), y[idx].to(dev), pos_weight=pos_weight)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item() * len(idx)
        if log:
            log(f"painting classifier epoch {epoch + 1}/{s['epochs']}: loss {total / len(x):.4f}")
    net.eval()


def evaluate(clf, paintings, photos):
    """Held-out accuracy on two folders: accuracy, balanced accuracy and per-class counts."""
    pa = clf.predict_prob(list_images(paintings))
    pb = clf.predict_prob(list_images(photos))
    right_a, right_b = int((pa > 0.5).sum()), int((pb <= 0.5).sum())
    return {"accuracy": (right_a + right_b) / (len(pa) + len(pb)),
            "balanced_accuracy": (right_a / len(pa) + right_b / len(pb)) / 2,
            "paintings_right": right_a, "paintings": len(pa), "photos_right": right_b, "photos": len(pb)}


def cache_key(dataroot, settings):
    """Hash of the dataset path, its trainA/trainB/testA/testB file names and sizes, and the settings."""
    root = Path(dataroot).resolve()
    files = {}
    for sub in ("trainA", "trainB", "testA", "testB"):
        folder = root / sub
        files[sub] = [[p.name, p.stat().st_size] for p in list_images(folder)] if folder.is_dir() else None
    blob = json.dumps({"format": FORMAT, "dataroot": str(root), "files": files, "settings": settings}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


def _load_cached(path, key, device, num_threads):
    state = safe_load(path)
    if not isinstance(state, dict) or state.get("format") != FORMAT or state.get("key") != key:
        raise CheckpointError(f"{path}: not a painting-classifier cache for this dataset and settings")
    net = build_net(state["settings"]["width"])
    net.load_state_dict(state["state_dict"])
    return PaintingClassifier(net, state["settings"], device, num_threads), state


def painting_classifier(dataroot, cache_dir=None, settings=None, device="cpu", log=None, num_threads=1):
    """The classifier for `dataroot` (with trainA = paintings, trainB = photos), from the cache or trained.

    Returns (classifier, info). info: trained (False when loaded from the cache), cache_path,
    train_seconds, heldout (evaluate() on testA/testB, or None when they are missing) and, when
    a cache file was unusable, cache_problem.
    """
    root = Path(dataroot)
    for sub in ("trainA", "trainB"):
        if not (root / sub).is_dir():
            raise MissingFileError(f"{root / sub}: missing; the painting classifier trains on "
                                    f"{root}/trainA (paintings) and {root}/trainB (photos)")
    s = _settings(settings)
    key = cache_key(root, s)
    path = Path(cache_dir or default_cache_dir()) / f"painting_classifier_{key[:20]}.pth"
    problem = None
    if path.is_file():
        try:
            clf, state = _load_cached(path, key, device, num_threads)
            return clf, {"trained": False, "cache_path": str(path), "train_seconds": state["train_seconds"],
                         "heldout": state["heldout"]}
        except (CheckpointError, KeyError, RuntimeError) as e:
            problem = f"{e}; retrained and overwrote it"
            if log:
                log(f"painting classifier cache unusable ({problem})")
    start = time.perf_counter()
    clf = train_classifier(root / "trainA", root / "trainB", s, device, log, num_threads)
    seconds = time.perf_counter() - start
    heldout = evaluate(clf, root / "testA", root / "testB") \
        if (root / "testA").is_dir() and (root / "testB").is_dir() else None
    atomic_save({"format": FORMAT, "key": key, "dataroot": str(root.resolve()), "settings": s,
                 "state_dict": {k: v.cpu() for k, v in clf.net.state_dict().items()},
                 "train_seconds": seconds, "heldout": heldout}, path)
    info = {"trained": True, "cache_path": str(path), "train_seconds": seconds, "heldout": heldout}
    if problem:
        info["cache_problem"] = problem
    return clf, info
