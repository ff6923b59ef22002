"""Classifier two-sample test (C2ST, Lopez-Paz & Oquab 2017): can a small CNN trained from scratch tell
generated images from real ones? No pretrained weights.

k-fold cross-validation (stratified, default 5): per fold a fresh CNN (the painting classifier's net) is
trained on class-balanced batches of augmented random crops and predicts the held-out fold (mean over
five fixed crops). The out-of-fold predictions give the balanced accuracy, a 95% interval (stratified
bootstrap) and a one-sided p-value against 0.5 (label permutation). 0.5 = indistinguishable (best for a
generator), 1.0 = always told apart. Deterministic for a seed: every random draw uses a seeded generator,
never torch's global RNG (so it can run beside training without changing its random stream).

On a few dozen images the classifier's own draws move the figure by up to 0.15 between seeds. `repeats` R > 1
runs the whole cross-validation R times (seeds seed .. seed+R-1: new folds, weights and crops) and reports the
mean balanced accuracy over the repeats (repeated k-fold cross-validation); its interval and p-value resample
images with the same draw across the repeats. R = 1 is the single test, unchanged.

Command line: python -m cyclegan.c2st REAL_DIR FAKE_DIR [--json] [--folds 5] [--seed 0] (options/c2st_options.py).
"""
import math
import time
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from ..errors import UserError
from ..perf import resolve_device
from .classifier import _augment, _square, build_net
from .image_tensors import iter_images, list_images, load_image
from .threads import torch_threads

DEFAULT_STEPS = 150  # training steps per fold (speed vs power)
DEFAULT_FOLDS = 5
DEFAULT_REPEATS = 1
DEFAULTS = {"repeats": DEFAULT_REPEATS, "load_size": 96, "crop": 64, "width": 16, "steps": DEFAULT_STEPS,
            "batch_size": 32, "lr": 3e-3, "n_boot": 2000, "n_perm": 2000}
MIN_PER_FOLD = 2  # images of each class in every held-out fold


class C2STError(UserError, ValueError):
    """Inputs the test cannot run on (empty folder, too few images); the message says what to do."""


@dataclass
class C2STResult:
    balanced_accuracy: float
    ci_low: float
    ci_high: float
    p_value: float
    n_real: int
    n_fake: int
    folds: int
    seed: int
    accuracy_real: float = 0.0  # fraction of real images called real
    accuracy_fake: float = 0.0  # fraction of fakes called fake
    seconds: float = 0.0
    device: str = "cpu"
    skipped: list = field(default_factory=list)  # [path, reason] of unreadable files
    repeats: int = 1  # cross-validations averaged (seeds seed .. seed+repeats-1)
    per_repeat: list = field(default_factory=list)  # each repeat's balanced accuracy (repeats > 1)

    def as_dict(self):
        return asdict(self)

    def __str__(self):
        return (f"C2ST balanced accuracy {self.balanced_accuracy:.3f} (95% CI {self.ci_low:.3f}-{self.ci_high:.3f}, "
                f"p = {self.p_value:.3g} vs 0.5; {self.n_real} real, {self.n_fake} fake, {self.folds} folds, "
                f"{self._seeds()}, {self.seconds:.1f} s on {self.device})")

    def _seeds(self):
        each = ", ".join(f"{a:.3f}" for a in self.per_repeat)
        return seeds_text(self.seed, self.repeats) + (f": {each}" if each else "")


def seeds_text(seed, repeats):
    """'seed S', or the seeds a repeated test averages over."""
    return f"seed {seed}" if repeats == 1 else f"mean of {repeats} repeats, seeds {seed}-{seed + repeats - 1}"


def needed_per_class(folds):
    return MIN_PER_FOLD * folds


def load_folder(folder, load_size):
    """(N, 3, load_size, load_size) tensor of a folder's images, and [path, reason] of the unreadable ones."""
    imgs, skipped = [], []
    for path in list_images(folder):
        try:
            imgs.append(_square(load_image(path), load_size))
        except Exception as e:  # noqa: BLE001 - a broken file is reported, the others are used
            skipped.append([str(path), f"{type(e).__name__}: {e}"])
    return imgs, skipped


def _prepare(images, name, load_size):
    if isinstance(images, (str, bytes)) or hasattr(images, "__fspath__"):
        imgs, skipped = load_folder(images, load_size)
    else:
        imgs, skipped = [_square(im, load_size) for im in iter_images(images, name)], []
    return (torch.stack(imgs) if imgs else torch.zeros(0, 3, load_size, load_size)), skipped


def _seeded_net(width, gen):
    """build_net with weights drawn from `gen` (PyTorch's default init scheme). Built on the meta device
    first: constructing layers on the CPU would draw from torch's global RNG, which training owns."""
    with torch.device("meta"):
        net = build_net(width)
    net = net.to_empty(device="cpu")
    for m in net.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.kaiming_uniform_(m.weight, a=math.sqrt(5), generator=gen)
            bound = 1 / math.sqrt(m.weight[0].numel())
            nn.init.uniform_(m.bias, -bound, bound, generator=gen)
        elif isinstance(m, nn.BatchNorm2d):
            m.reset_parameters()  # ones, zeros and fresh running statistics: no randomness
    return net


def _fold_ids(n, folds, gen):
    ids = torch.empty(n, dtype=torch.long)
    ids[torch.randperm(n, generator=gen)] = torch.arange(n) % folds
    return ids


def _balanced_batch(idx_real, idx_fake, half, gen):
    pick = [i[torch.randint(len(i), (half,), generator=gen)] for i in (idx_real, idx_fake)]
    return torch.cat(pick), torch.cat([torch.zeros(half), torch.ones(half)])


def _five_crops(x, crop):
    h, w = x.shape[-2:]
    offs = [(0, 0), (0, w - crop), (h - crop, 0), (h - crop, w - crop), ((h - crop) // 2, (w - crop) // 2)]
    return [x[..., t:t + crop, l:l + crop] for t, l in offs]


def _fit_predict(x, y, train_idx, test_idx, s, gen, device):
    """Train a fresh net on train_idx; return P(fake) for test_idx (mean over five crops)."""
    net = _seeded_net(s["width"], gen).to(device)
    opt = torch.optim.Adam(net.parameters(), lr=s["lr"])
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=s["lr"], total_steps=s["steps"])
    tr_real, tr_fake = train_idx[y[train_idx] == 0], train_idx[y[train_idx] == 1]
    net.train()
    for _ in range(s["steps"]):
        idx, labels = _balanced_batch(tr_real, tr_fake, s["batch_size"] // 2, gen)
        batch = _augment(x[idx], s["crop"], gen).to(device) * 2 - 1
        loss = F.binary_cross_entropy_with_logits(net(batch).squeeze(1), labels.to(device))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
    net.eval()
    with torch.no_grad():
        xt = x[test_idx].to(device) * 2 - 1
        probs = torch.stack([torch.sigmoid(net(c).squeeze(1)) for c in _five_crops(xt, s["crop"])]).mean(0)
    return probs.float().cpu()


def _balanced_accuracy(pred, y):
    """pred, y: (..., N) 0/1 arrays (broadcast); mean of the per-class recalls."""
    real, fake = y == 0, y == 1
    return ((pred == 0) & real).sum(-1) / real.sum(-1) / 2 + ((pred == 1) & fake).sum(-1) / fake.sum(-1) / 2


def interval_and_p(pred, y, seed, n_boot, n_perm):
    """Stratified-bootstrap 95% percentile interval of the balanced accuracy, and the one-sided
    permutation p-value (labels shuffled against the fixed predictions) of it being above 0.5.
    pred: (N,) or (repeats, N); the statistic is the mean over the repeats, each resample shared by all."""
    rng = np.random.default_rng(seed)
    pred, y = np.atleast_2d(np.asarray(pred)), np.asarray(y)  # (repeats, N)
    ir, jf = np.flatnonzero(y == 0), np.flatnonzero(y == 1)
    boot = np.concatenate([rng.choice(ir, (n_boot, len(ir))), rng.choice(jf, (n_boot, len(jf)))], axis=1)
    bas = _balanced_accuracy(pred[:, boot], y[boot]).mean(0)
    lo, hi = np.percentile(bas, [2.5, 97.5])
    observed = _balanced_accuracy(pred, y).mean()
    perms = np.argsort(rng.random((n_perm, len(y))), axis=1)
    null = _balanced_accuracy(pred[:, None, :], y[perms]).mean(0)
    p = (1 + np.sum(null >= observed - 1e-12)) / (1 + n_perm)
    return float(lo), float(hi), float(p)


def c2st(real, fake, folds=DEFAULT_FOLDS, seed=0, device=None, num_threads=None, **settings):
    """Run the test. real/fake: a folder path, a (N, 3, H, W) batch in [0, 1] or a list of (3, H, W) tensors.

    settings override DEFAULTS (repeats, load_size, crop, width, steps, batch_size, lr, n_boot, n_perm).
    Raises C2STError for empty or too small sets. Returns a C2STResult.
    """
    unknown = set(settings) - set(DEFAULTS)
    if unknown:
        raise ValueError(f"unknown C2ST settings {sorted(unknown)}; known: {sorted(DEFAULTS)}")
    s = dict(DEFAULTS, **settings)
    if folds < 2:
        raise C2STError(f"--folds must be at least 2, got {folds}")
    if s["repeats"] < 1:
        raise C2STError(f"C2ST repeats must be at least 1, got {s['repeats']}")
    start = time.perf_counter()
    device = resolve_device(device)
    with torch_threads(num_threads):
        xr, skip_r = _prepare(real, "real", s["load_size"])
        xf, skip_f = _prepare(fake, "fake", s["load_size"])
        need = needed_per_class(folds)
        for name, x, src, skipped in (("real", xr, real, skip_r), ("fake", xf, fake, skip_f)):
            where = f" in {src}" if isinstance(src, str) or hasattr(src, "__fspath__") else ""
            unread = f" ({len(skipped)} unreadable file(s) skipped)" if skipped else ""
            if len(x) == 0:
                raise C2STError(f"no usable {name} images{where}{unread}")
            if len(x) < need:
                raise C2STError(f"{len(x)} {name} images{where}{unread}: C2ST with {folds} folds needs at least "
                                f"{need} of each class ({MIN_PER_FOLD} per held-out fold); add images or pass "
                                f"fewer --folds (at least 2)")
        x = torch.cat([xr, xf])
        y = torch.cat([torch.zeros(len(xr), dtype=torch.long), torch.ones(len(xf), dtype=torch.long)])
        probs = torch.stack([_cross_validate(x, y, folds, seed + r, s, device) for r in range(s["repeats"])])
    pred, yn = (probs > 0.5).long().numpy(), y.numpy()
    lo, hi, p = interval_and_p(pred, yn, seed, s["n_boot"], s["n_perm"])
    each = [float(a) for a in _balanced_accuracy(pred, yn)]
    return C2STResult(float(np.mean(each)), lo, hi, p, len(xr), len(xf), folds, seed,
                      float(np.mean(pred[:, yn == 0] == 0)), float(np.mean(pred[:, yn == 1] == 1)),
                      time.perf_counter() - start, str(device), skip_r + skip_f, s["repeats"],
                      each if s["repeats"] > 1 else [])


def _cross_validate(x, y, folds, seed, s, device):
    """Out-of-fold P(fake) of every image: stratified folds and a fresh net per fold, all drawn from `seed`."""
    gen = torch.Generator().manual_seed(seed)
    fold = torch.empty(len(y), dtype=torch.long)
    for cls in (0, 1):
        members = torch.nonzero(y == cls).squeeze(1)
        fold[members] = _fold_ids(len(members), folds, gen)
    probs = torch.empty(len(y))
    for k in range(folds):
        test_idx, train_idx = torch.nonzero(fold == k).squeeze(1), torch.nonzero(fold != k).squeeze(1)
        probs[test_idx] = _fit_predict(x, y, train_idx, test_idx, s, gen, device)
    return probs

