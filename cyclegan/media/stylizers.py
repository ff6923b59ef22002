"""Frame stylisers for video: each returns process((B, 3, H, W) in [0, 1] on the CPU) -> the same shape.

CycleGAN and fast NST run a whole batch at once on the device (bf16 and channels_last on a GPU, the
training defaults); Gatys optimises frame by frame, optionally starting each from the previous
stylised frame (--temporal_init), which both saves iterations and steadies the result.
"""
import torch

from ..comparison.translator import Translator
from ..models.speed import resolve
from ..nst.fast import FastStylizer
from ..nst.transformer import pad_to_multiple


def cyclegan_frames(run_dir, arch, epoch="latest", direction="AtoB", model_suffix=None, device="cpu", raw=False):
    """The photo->painting generator of a CycleGAN run (see comparison.translator for which file that is)."""
    net = Translator(run_dir, arch, epoch, direction, model_suffix, device, raw=raw).G
    device = torch.device(device)
    cfg = resolve(device.type)  # bf16 on a GPU, float32 on the CPU

    @torch.no_grad()
    def process(x):
        h, w = x.shape[-2:]
        with cfg.autocast():
            y = net(pad_to_multiple(x.to(device), 4) * 2 - 1)  # the ResNet generators halve the size twice
        return ((y[..., :h, :w].float() + 1) / 2).clamp(0, 1).cpu()
    return process


def fast_nst_frames(run_dir, epoch="latest", device="cpu"):
    return FastStylizer(run_dir, epoch, device)  # bf16 and channels_last on a GPU


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
