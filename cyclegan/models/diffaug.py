"""DiffAugment (Zhao et al. 2020, "Differentiable Augmentation for Data-Efficient GAN Training"): the same
random, differentiable transformations applied to every image the discriminator sees, real and fake, in the
generator's pass and the discriminator's, so D cannot overfit the few real images and G still gets gradients
through the augmentation. Written from the paper's description; images are in [-1, 1], zero is mid-grey.

A policy is a comma list of: color (brightness, saturation, contrast), translation[:RATIO] (shift by up to
RATIO of the side, default 1/8, zero fill), cutout[:RATIO] (a zeroed square of RATIO of the side, default
1/2). Every draw comes from torch's global RNG, one value per image, so a stacked batch gets independent
draws per image; an empty policy is the identity (no draws, no ops).
"""
import torch

DEFAULT_RATIOS = {"translation": 1 / 8, "cutout": 1 / 2}
OPS = ("color", "translation", "cutout")


def parse_policy(text):
    """'color,translation:0.0625' -> [('color', None), ('translation', 0.0625)]; '' / 'none' -> []."""
    ops = []
    for part in (text or "").replace(" ", "").split(","):
        if not part or part == "none":
            continue
        name, _, ratio = part.partition(":")
        if name not in OPS:
            raise ValueError(f"--diffaug {text!r}: {name!r} is not one of: {', '.join(OPS)} "
                             f"(a comma list, e.g. color,translation:0.0625,cutout:0.25)")
        if name == "color":
            if ratio:
                raise ValueError(f"--diffaug {text!r}: color takes no ratio")
            ops.append((name, None))
            continue
        try:
            r = float(ratio) if ratio else DEFAULT_RATIOS[name]
        except ValueError:
            raise ValueError(f"--diffaug {text!r}: {ratio!r} is not a number (e.g. {name}:0.125)") from None
        if not 0 < r < 1:
            raise ValueError(f"--diffaug {text!r}: the {name} ratio must lie between 0 and 1, got {r}")
        ops.append((name, r))
    return ops


def _rand(x):
    return torch.rand(x.shape[0], 1, 1, 1, device=x.device, dtype=x.dtype)


def color(x):
    x = x + (_rand(x) - 0.5)  # brightness
    mean = x.mean(dim=1, keepdim=True)
    x = (x - mean) * (_rand(x) * 2) + mean  # saturation
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * (_rand(x) + 0.5) + mean  # contrast


def translation(x, ratio=1 / 8):
    """Shift each image by whole pixels, up to ratio * side in each direction; what comes in is zero."""
    n, c, h, w = x.shape
    sy, sx = int(h * ratio + 0.5), int(w * ratio + 0.5)
    ty = torch.randint(-sy, sy + 1, (n, 1, 1), device=x.device)
    tx = torch.randint(-sx, sx + 1, (n, 1, 1), device=x.device)
    ys = torch.arange(h, device=x.device).view(1, h, 1) + ty
    xs = torch.arange(w, device=x.device).view(1, 1, w) + tx
    inside = (ys >= 0) & (ys < h) & (xs >= 0) & (xs < w)
    index = (ys.clamp(0, h - 1) * w + xs.clamp(0, w - 1)).view(n, 1, h * w).expand(n, c, h * w)
    moved = x.reshape(n, c, h * w).gather(2, index).view(n, c, h, w)
    return moved * inside.unsqueeze(1).to(x.dtype)


def cutout(x, ratio=1 / 2):
    """Zero a (ratio * h) x (ratio * w) square per image, its centre anywhere in the image."""
    n, _, h, w = x.shape
    ch, cw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    cy = torch.randint(0, h + (1 - ch % 2), (n, 1, 1), device=x.device) - ch // 2
    cx = torch.randint(0, w + (1 - cw % 2), (n, 1, 1), device=x.device) - cw // 2
    ys = torch.arange(h, device=x.device).view(1, h, 1)
    xs = torch.arange(w, device=x.device).view(1, 1, w)
    hole = (ys >= cy) & (ys < cy + ch) & (xs >= cx) & (xs < cx + cw)
    return x * (~hole).unsqueeze(1).to(x.dtype)


class DiffAugment:
    """Callable: x (N, C, H, W) -> the augmented batch, each op in policy order with fresh draws per image."""

    def __init__(self, policy):
        self.policy = policy
        self.ops = parse_policy(policy)

    def __call__(self, x):
        for name, ratio in self.ops:
            x = color(x) if name == "color" else translation(x, ratio) if name == "translation" else cutout(x, ratio)
        return x

    def __bool__(self):
        return bool(self.ops)


def identity(x):
    return x


def augmenter(policy):
    """DiffAugment(policy), or the identity function when the policy is empty (the official step)."""
    aug = DiffAugment(policy)
    return aug if aug else identity
