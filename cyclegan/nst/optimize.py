"""The Gatys et al. optimisation: build the network once, pool style targets once, stylize often.

    st = Stylizer("vgg19", weights=None)             # ImageNet weights from the torch cache
    targets = st.style_targets([starry, wheat], blend=[0.7, 0.3])
    image, stats = st.stylize(photo, targets, num_iters=300)

Images are (1, 3, H, W) float tensors in [0, 1]. With preserve_color the optimisation runs on
the luminance channel only (targets built with luminance_of=photo) and the photo's I and Q
chrominance channels are put back at the end.
"""
import copy
import math
import sys
import time
from dataclasses import dataclass, field

import torch
from tqdm import tqdm

from cyclegan.errors import SettingError
from cyclegan.nst.backbones import BACKBONES, DEFAULT_LAYERS, load_extractor
from cyclegan.nst.image_ops import luminance, match_luminance, resize_to, rgb_to_yiq, yiq_to_rgb
from cyclegan.nst.losses import DEFAULT_MMD_SAMPLES, STYLE_LOSSES, content_loss, make_style_loss, tv_loss
from cyclegan.runs.guards import NonFiniteLoss

INITS = ("content", "style", "gaussian", "uniform")
OPTIMIZERS = ("lbfgs", "adam")
DEFAULT_LR = {"lbfgs": 1.0, "adam": 0.02}
# Starting points per style loss: each loss has its own scale (see losses.py), so one number
# cannot suit all. gram's follows the usual Gatys setting with size-normalised Gram matrices.
DEFAULT_STYLE_WEIGHT = {"gram": 1e6, "mmd_poly": 1e2, "mmd_linear": 1e3, "mmd_gauss": 1e3, "bn": 1e3}
DEFAULT_TV_WEIGHT = 1e-2
DEFAULT_NUM_ITERS = 500


@dataclass
class StyleTargets:
    """Pooled style statistics per layer, ready for any number of stylize() calls."""
    layers: dict
    luminance: bool
    first_style: torch.Tensor  # used by init="style"
    count: int


@dataclass
class RunStats:
    """What one stylize() call did: losses per function evaluation, counts and wall time."""
    history: list = field(default_factory=list)  # per iterate (0 = start): iter, evals, total, content, style, tv
    evaluations: int = 0  # function evaluations (forward + backward), line searches included
    iterations: int = 0
    wall_s: float = 0.0

    @property
    def final(self):
        return self.history[-1] if self.history else {}


class Objective:
    """One function evaluation: weighted content + style + total-variation loss of image `x`."""

    def __init__(self, extractor, style_loss, content_targets, style_targets, layer_weights,
                 content_weight, style_weight, tv_weight):
        self.extractor, self.style_loss = extractor, style_loss
        self.content_targets, self.style_targets = content_targets, style_targets
        self.layer_weights = layer_weights
        self.weights = (content_weight, style_weight, tv_weight)

    def __call__(self, x):
        feats = self.extractor(x.expand(-1, 3, -1, -1) if x.shape[1] == 1 else x)
        c = sum(content_loss(feats[n], t) for n, t in self.content_targets.items())
        s = sum(w * self.style_loss(feats[n], self.style_targets[n]) for n, w in self.layer_weights.items())
        tv = tv_loss(x)
        cw, sw, tw = self.weights
        total = cw * c + sw * s + tw * tv
        parts = {k: float(v.detach()) for k, v in (("total", total), ("content", c), ("style", s), ("tv", tv))}
        return total, parts


def _check(name, value, choices):
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(choices)}, got {value!r}")


class Stylizer:
    """A frozen, truncated backbone plus a style loss; see the module docstring."""

    def __init__(self, backbone="vgg19", weights=None, content_layers=None, style_layers=None,
                 style_layer_weights=None, pooling="avg", style_loss="gram", device="cpu",
                 mmd_samples=DEFAULT_MMD_SAMPLES):
        _check("backbone", backbone, BACKBONES)
        _check("style_loss", style_loss, STYLE_LOSSES)
        default_content, default_style = DEFAULT_LAYERS[backbone]
        self.backbone = backbone
        self.content_layers = list(content_layers or default_content)
        self.style_layers = list(style_layers or default_style)
        lw = [1.0] * len(self.style_layers) if style_layer_weights is None else [float(w) for w in style_layer_weights]
        if len(lw) != len(self.style_layers):
            raise SettingError(f"style_layer_weights has {len(lw)} values for {len(self.style_layers)} style layers "
                             f"({', '.join(self.style_layers)}); give one weight per layer")
        self.layer_weights = dict(zip(self.style_layers, lw))
        self.style_loss_name = style_loss
        self.style_loss = make_style_loss(style_loss, mmd_samples)
        self.device = torch.device(device)
        layers = list(dict.fromkeys(self.content_layers + self.style_layers))
        self.extractor = load_extractor(backbone, layers, pooling, weights, self.device)

    def with_style_loss(self, style_loss, mmd_samples=DEFAULT_MMD_SAMPLES):
        """A copy that shares this one's network but scores style with another loss."""
        _check("style_loss", style_loss, STYLE_LOSSES)
        other = copy.copy(self)
        other.style_loss_name, other.style_loss = style_loss, make_style_loss(style_loss, mmd_samples)
        return other

    def _rgb(self, img):
        if img.dim() != 4 or img.shape[0] != 1 or img.shape[1] not in (1, 3):
            raise ValueError(f"expected an image tensor of shape (1, 3, H, W), got {tuple(img.shape)}")
        img = img.to(self.device, torch.float32)
        return img.expand(-1, 3, -1, -1) if img.shape[1] == 1 else img

    @torch.no_grad()
    def style_targets(self, styles, blend=None, luminance_of=None):
        """Pool style statistics over `styles` (tensors) with `blend` weights (default: equal).

        luminance_of: the content image when preserving colour; each style then contributes its
        luminance, shifted and scaled to the photo's luminance mean and spread.
        """
        styles = list(styles)
        if not styles:
            raise ValueError("style_targets needs at least one style image")
        if blend is not None and len(blend) != len(styles):
            raise ValueError(f"{len(blend)} blend weights for {len(styles)} style images; give one per image")
        prepared = []
        for s in styles:
            s = s.to(self.device, torch.float32)
            if luminance_of is not None:
                s = match_luminance(luminance(s), luminance(luminance_of.to(self.device, torch.float32)))
            prepared.append(s)
        stats = {n: [] for n in self.style_layers}
        for s in prepared:
            feats = self.extractor(self._rgb(s))
            for n in self.style_layers:
                stats[n].append(self.style_loss.stat(feats[n]))
        layers = {n: self.style_loss.combine(v, blend) for n, v in stats.items()}
        return StyleTargets(layers, luminance_of is not None, prepared[0], len(prepared))

    def _init_image(self, init, base, targets):
        if torch.is_tensor(init):  # a given start, e.g. the previous stylised video frame (--temporal_init)
            return resize_to(init.to(base), base.shape[-2:]).clone()
        _check("init", init, INITS)
        if init == "content":
            return base.clone()
        if init == "style":
            return resize_to(targets.first_style, base.shape[-2:]).clone()
        if init == "gaussian":
            return (0.5 + 0.2 * torch.randn_like(base))
        return torch.rand_like(base)

    def objective(self, content, targets, content_weight=1.0, style_weight=None, tv_weight=DEFAULT_TV_WEIGHT):
        """(Objective, optimisation base image, function mapping the variable back to RGB)."""
        content = self._rgb(content)
        if targets.luminance:
            yiq = rgb_to_yiq(content)
            base = yiq[:, :1]

            def to_rgb(y):
                return yiq_to_rgb(torch.cat([y, yiq[:, 1:]], 1))
        else:
            base, to_rgb = content, (lambda x: x)
        with torch.no_grad():
            feats = self.extractor(self._rgb(base))
        content_targets = {n: feats[n].detach() for n in self.content_layers}
        sw = DEFAULT_STYLE_WEIGHT[self.style_loss_name] if style_weight is None else style_weight
        obj = Objective(self.extractor, self.style_loss, content_targets, targets.layers, self.layer_weights,
                        content_weight, sw, tv_weight)
        return obj, base, to_rgb

    def stylize(self, content, targets, content_weight=1.0, style_weight=None, tv_weight=DEFAULT_TV_WEIGHT,
                init="content", optimizer="lbfgs", num_iters=DEFAULT_NUM_ITERS, lr=None, seed=None,
                preserve_color=False, save_every=0, on_save=None, progress=True):
        """Optimise an image; returns ((1, 3, H, W) tensor in [0, 1] on the CPU, RunStats).

        init: one of INITS, or an image tensor to start from (resized to the content's size).

        on_save(image, iteration) is called every `save_every` iterations when both are given.
        progress: True for a tqdm bar on a terminal (nothing in logs), False for none, or a factory
        `progress(total, desc)` returning a bar with update(n, **values) and close() (the entry points
        pass cyclegan.display.progress.Progress, which writes plain lines to logs).
        """
        _check("optimizer", optimizer, OPTIMIZERS)
        if preserve_color != targets.luminance:
            raise ValueError("preserve_color needs style targets built with luminance_of=<the content image>"
                             if preserve_color else
                             "these style targets are luminance-only; pass preserve_color=True or rebuild them")
        if num_iters < 1:
            raise ValueError(f"num_iters must be at least 1, got {num_iters}")
        if seed is not None:
            torch.manual_seed(seed)
        obj, base, to_rgb = self.objective(content, targets, content_weight, style_weight, tv_weight)
        # contiguous: L-BFGS flattens the gradient with view(-1), which a channels-last image (video frames) breaks
        x = self._init_image(init, base, targets).contiguous().requires_grad_(True)
        lr = DEFAULT_LR[optimizer] if lr is None else lr
        stats, start = RunStats(), time.perf_counter()
        bar = _bar(progress, num_iters, f"gatys {optimizer}")
        cache = {}

        def closure():
            # The optimisers re-evaluate points already seen (the end of a line search, the point
            # after a step that we score for the progress bar); serve those from the cache.
            if cache and torch.equal(cache["x"], x.detach()):
                x.grad = cache["grad"].clone()
                return cache["loss"]
            x.grad = None
            loss, parts = obj(x)
            if not math.isfinite(parts["total"]):
                raise NonFiniteLoss(f"the loss became {parts['total']} at evaluation {stats.evaluations + 1}; "
                                    f"lower the learning rate or the loss weights")
            loss.backward()
            stats.evaluations += 1
            cache.update(x=x.detach().clone(), grad=x.grad.detach().clone(), loss=loss.detach(), parts=parts)
            return loss

        def record(it):
            closure()  # the loss at the current iterate; the next step's first evaluation is then free
            stats.history.append({"iter": it, "evals": stats.evaluations, **cache["parts"]})

        if optimizer == "lbfgs":
            # One iteration per step() so the bar and save_every see every iterate. max_eval must be
            # explicit: its default (max_iter * 5 // 4 = 1) would leave the line search no evaluations.
            opt = torch.optim.LBFGS([x], lr=lr, max_iter=1, max_eval=26, history_size=50,
                                    line_search_fn="strong_wolfe", tolerance_grad=0.0, tolerance_change=0.0)
        else:
            opt = torch.optim.Adam([x], lr=lr)
        try:
            record(0)
            for it in range(1, num_iters + 1):
                opt.step(closure)
                if optimizer == "adam":
                    with torch.no_grad():
                        x.clamp_(0, 1)  # projected gradient: stay a valid image
                record(it)
                stats.iterations = it
                last = stats.history[-1]
                bar.update(1, loss=last["total"], content=last["content"], style=last["style"], tv=last["tv"])
                if save_every and on_save is not None and it % save_every == 0 and it < num_iters:
                    on_save(to_rgb(x.detach()).clamp(0, 1).cpu(), it)
        finally:
            bar.close()
        stats.wall_s = time.perf_counter() - start
        return to_rgb(x.detach()).clamp(0, 1).cpu(), stats


class _TtyBar:
    """tqdm on a terminal only: its carriage-return redraws must never reach a log file."""

    def __init__(self, total, desc, enabled=True):
        enabled = enabled and sys.stderr.isatty()
        self._bar = tqdm(total=total, desc=desc, unit="it", leave=False) if enabled else None

    def update(self, n, **values):
        if self._bar is not None:
            self._bar.set_postfix({k: f"{v:.4g}" for k, v in values.items()}, refresh=False)
            self._bar.update(n)

    def close(self):
        if self._bar is not None:
            self._bar.close()


def _bar(progress, total, desc):
    return progress(total, desc) if callable(progress) else _TtyBar(total, desc, bool(progress))
