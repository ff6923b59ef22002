"""Training a fast neural style network (cyclegan-fast-nst train), read top to bottom, and stylising files
with a trained one (cyclegan-fast-nst stylize).

Per iteration: a batch of square photo crops (a pure function of seed and iteration, see PhotoSampler)
-> TransformerNet -> PerceptualLoss against the style targets (one painting, or a folder pooled like
Gatys's domain mode) [+ lambda_temporal * the consistency loss on moved views, models/temporal.py] -> Adam.
Every print_freq: the losses to the report (loss_log.txt and the progress bar).
Every save_freq, at the end and on SIGINT/SIGTERM: the full state through runs.checkpoint.save_state
(net, optimiser, RNG, counters, options, loss history), then the report's page. A run resumes exactly with
--continue_train. What the user sees comes in as a `report` (cyclegan.display.fast_nst.FastNSTReport from the
command; Quiet by default), so this module imports nothing from display.
"""
import os
import time

import torch

from ..data.image_folder import make_dataset
from ..data.scan import scan_images
from ..errors import MissingFileError
from ..images import save_image
from ..models import speed
from ..models.temporal import temporal_loss
from ..perf import resolve_device
from ..runs import checkpoint, run_folder
from ..runs.layout import RunFolder
from ..runs.guards import NanGuard, StopSignal
from .fast import PerceptualLoss, PhotoSampler
from .image_ops import load_image
from .optimize import Stylizer
from .transformer import TransformerNet

LOSSES = ("total", "content", "style", "tv")


class Quiet:
    """The report of a run that shows nothing (a notebook's default): checkpoints are still written."""

    def start(self, total):
        pass

    def step(self):
        pass

    def losses(self, epoch, iteration, values, t_iter, t_data):
        pass

    def saved(self, net, samples, counters, cfg):
        pass

    def close(self):
        pass


def style_paths(style):
    """--style PATH|DIR -> the painting files (a folder's images are pooled, as Gatys's domain mode)."""
    return make_dataset(style) if os.path.isdir(style) else [style]


def train(opt, opt_dict, log=print, on_ready=None, report=None):
    """Train as `opt` says (see options/fast_nst_options.py); returns a summary dict. `report` shows the run
    (progress, loss log, samples page; see Quiet for its methods).
    on_ready() is called once everything is loaded, before the first iteration (the entry saves the options
    then, so a run that fails to start leaves no run folder behind).
    The run folder is locked for the whole run, as cyclegan-train's is (run_folder.RunLock): a second
    process training into it fails at once, naming the holder."""
    report = report or Quiet()
    save_dir = os.path.join(opt.checkpoints_dir, opt.name)
    with run_folder.claimed(save_dir, opt.continue_train, "fast-NST"):
        return _train(opt, opt_dict, save_dir, log, on_ready, report)


def _train(opt, opt_dict, save_dir, log, on_ready, report):
    device = resolve_device(opt.device)
    photos = scan_images(make_dataset(opt.photos), opt.image_size, label=f"--photos {opt.photos}")
    styles = style_paths(opt.style)
    for p in styles:
        if not os.path.isfile(p):
            raise MissingFileError(f"--style {p}: no such image file or folder")
    torch.manual_seed(opt.seed)  # random backbone weights and MMD samples repeat on resume
    st = Stylizer(opt.backbone, opt.weights, opt.content_layers, opt.style_layers, opt.style_layer_weights,
                  opt.pooling, opt.style_loss, device)
    style_size = max(16, round(opt.image_size * opt.style_scale))
    targets = st.style_targets([load_image(p, style_size) for p in styles])
    loss_fn = PerceptualLoss(st, targets, opt.content_weight, opt.style_weight, opt.tv_weight)

    cfg = speed.resolve(device.type, opt.amp, opt.channels_last)
    if cfg.channels_last and not speed.instance_norm_channels_last_ok(device.type):
        log(f"channels_last off: instance norm's backward is wrong for channels_last on this {device.type}")
        cfg = speed.resolve(device.type, opt.amp, False)
    torch.manual_seed(opt.seed)
    net = TransformerNet(opt.ngf, opt.n_res).to(device, memory_format=cfg.memory_format)
    run = checkpoint.OneNetRun(save_dir, "T", net, torch.optim.Adam(net.parameters(), lr=opt.lr))
    lam_t = opt.lambda_temporal
    losses = LOSSES + (("temporal",) if lam_t > 0 else ())
    counters = {"iteration": 0, "history": {k: [] for k in ("iter",) + losses}}
    if opt.continue_train:
        counters = checkpoint.resume_required(run, save_dir, log)
    sampler = PhotoSampler(photos, opt.image_size, opt.batch_size, opt.seed)
    samples = [load_image(p, opt.image_size) for p in photos[:opt.num_samples]]
    log(f"fast NST: {len(photos)} photos, {len(styles)} style image(s), {opt.backbone}/{opt.style_loss}, "
        f"{opt.image_size}px batch {opt.batch_size}, device {device}, amp {cfg.amp}, channels_last {cfg.channels_last}")

    guard = NanGuard(losses, device)

    def save():
        guard.check()  # never a checkpoint from a non-finite step on
        checkpoint.save_state(run, ["latest"], counters, opt_dict)
        report.saved(net, samples, counters, cfg)

    if on_ready is not None:
        on_ready()
    start_iter, start_time = counters["iteration"], time.time()
    report.start(opt.num_iters - start_iter)
    try:
        with StopSignal() as stop:
            for it in range(start_iter + 1, opt.num_iters + 1):
                t0 = time.time()
                x = sampler.batch(it).to(device).contiguous(memory_format=cfg.memory_format)
                t_data = time.time() - t0
                with cfg.autocast():
                    out = net(x)
                loss, parts = loss_fn(out, x)
                if lam_t > 0:  # the moved views are a pure function of (seed, iteration), as the crops
                    with cfg.autocast():
                        t = temporal_loss(net, x, out, motion_rng(opt.seed, it))
                    loss = loss + lam_t * t
                    parts.update(temporal=t.detach(), total=loss.detach())
                guard.observe_values([parts[k] for k in losses], it)  # on the CPU: raises at once
                run.optimizer.zero_grad(set_to_none=True)
                loss.backward()
                run.optimizer.step()
                counters["iteration"] = it
                report.step()
                if it % opt.print_freq == 0 or it == opt.num_iters:  # the only host syncs of the loop
                    guard.check()
                    values = {k: float(v) for k, v in parts.items()}
                    counters["history"]["iter"].append(it)
                    for k in losses:
                        counters["history"][k].append(values[k])
                    epoch = (it - 1) * opt.batch_size // len(photos) + 1
                    report.losses(epoch, it, values, time.time() - t0, t_data)
                if it % opt.save_freq == 0 and it < opt.num_iters:  # the end and a stop: saved below
                    save()
                if stop.requested:
                    log(f"stopped by {stop.requested} at iteration {it}; resume with --continue_train")
                    break
    finally:
        report.close()
    save()
    h = counters["history"]
    return {"iteration": counters["iteration"], "seconds": time.time() - start_time,
            "first_loss": h["total"][0] if h["total"] else None, "last_loss": h["total"][-1] if h["total"] else None,
            "net": RunFolder(save_dir).net("latest", "T"),
            "page": os.path.join(save_dir, "web", "index.html")}


def motion_rng(seed, iteration):
    """The generator of iteration's moved views for --lambda_temporal (a stream apart from PhotoSampler's)."""
    return torch.Generator().manual_seed(seed * 1_000_003 + iteration + (1 << 40))


def stylize_paths(stylizer, inputs, output_dir, size=None, log=print, progress=None):
    """Stylise image files (a list, or every image under a folder); write output_dir/<relative path>.png.
    size=None keeps each image's own size; progress(files) may wrap the files in a progress bar. Returns the
    written paths."""
    if os.path.isdir(inputs):
        root, files = inputs, make_dataset(inputs)
    elif os.path.isfile(inputs):
        root, files = os.path.dirname(inputs), [inputs]
    else:
        raise MissingFileError(f"--input {inputs}: no such file or folder")
    written = []
    for path in (progress or iter)(files):
        out = stylizer(load_image(path, size))
        rel = os.path.splitext(os.path.relpath(path, root))[0] + ".png"
        written.append(save_image(out, os.path.join(output_dir, rel)))
    log(f"wrote {len(written)} image(s) to {output_dir}")
    return written
