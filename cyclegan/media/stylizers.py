"""Frame stylisers for video: each returns process((B, 3, H, W) in [0, 1] on the CPU) -> the same shape.

CycleGAN and fast NST run through cyclegan.inference's Translator (a batch at once, the device's precision,
tiles for frames too large for the memory budget); Gatys optimises frame by frame, optionally starting each
from the previous stylised frame (--temporal_init), which both saves iterations and steadies the result.
"""
import torch

from ..inference import load
from ..inference.loading import load_with_flags


def cyclegan_frames(run_dir, epoch="latest", direction="AtoB", model_suffix=None, device="cpu", raw=False, **load_kw):
    """A CycleGAN run's generator as the flags name it (AtoB: photo -> painting; its EMA weights when saved,
    unless raw; see cyclegan.inference.loading.load_with_flags): a Translator, which takes and returns such
    batches. load_kw go to cyclegan.load (amp="none" for float32)."""
    return load_with_flags(run_dir, epoch, direction, model_suffix, device, raw_weights=raw, **load_kw)


def fast_nst_frames(run_dir, epoch="latest", device="cpu", **load_kw):
    return load(run_dir, epoch=epoch, device=device, **load_kw)


def gatys_frames(stylizer, targets, temporal_init=True, **stylize_kwargs):
    """Gatys per frame with pooled `targets`; stylize_kwargs go to Stylizer.stylize (num_iters, weights...)."""
    prev = []

    def process(x):
        outs = []
        for frame in x.split(1):
            init = prev[-1] if temporal_init and prev else "content"
            y, _ = stylizer.stylize(frame, targets, init=init, progress=False, **stylize_kwargs)
            prev[:] = [y]
            outs.append(y)
        return torch.cat(outs)
    return process
