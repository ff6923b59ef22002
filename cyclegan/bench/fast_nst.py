"""Benchmark of fast-NST stylisation beside Gatys: `python -m cyclegan.benchmark fast_nst [options]`.

For each size, a TransformerNet (Johnson et al.'s 32 channels, 5 residual blocks, random weights:
speed does not depend on the values) stylises batch 1 and a larger batch: images per second and
peak memory (CUDA allocator, or the process's resident set on the CPU). Beside it, Gatys's time per
image: a few L-BFGS iterations are timed and the seconds per iteration multiplied by --gatys_num_iters
(cyclegan-gatys's default 500), stated as a projection. Runs on the CPU, and on the GPU when there is
one; otherwise the GPU lines say "not measured". One JSON line per configuration on stdout.
"""
import json
import sys
import time
import warnings

import torch

from .. import perf
from ..models.speed import resolve
from ..nst.optimize import DEFAULT_NUM_ITERS, Stylizer
from ..nst.transformer import TransformerNet, stylize


def fast_row(net, size, batch, device, repeats):
    cfg = resolve(device.type)  # the stylize defaults: bf16 + channels_last on a GPU
    amp, fmt = cfg.amp_dtype, cfg.memory_format
    net = net.to(device, memory_format=fmt)
    x = torch.rand(batch, 3, size, size)
    perf.reset_peak_memory(device)
    before = perf.current_memory_mb(device)
    ms = perf.median_ms(lambda: stylize(net, x, amp, fmt), warmup=1, repeats=repeats, device=device)
    peak = perf.peak_memory_mb(device)
    return {"benchmark": "fast_nst", "device": str(device), "size": size, "batch": batch,
            "amp": cfg.amp, "ms_per_batch": round(ms, 1),
            "images_per_s": round(batch / (ms / 1e3), 2), "peak_mb": round(peak, 1),
            "peak_delta_mb": round(peak - before, 1)}


def gatys_row(stylizer, size, device, iters, num_iters):
    g = torch.Generator().manual_seed(size)
    photo, painting = torch.rand(1, 3, size, size, generator=g), torch.rand(1, 3, size, size, generator=g)
    targets = stylizer.style_targets([painting])
    perf.reset_peak_memory(device)
    start = time.perf_counter()
    _, stats = stylizer.stylize(photo, targets, num_iters=iters, progress=False)
    perf.synchronize(device)
    per_iter = (time.perf_counter() - start) / iters
    return {"benchmark": "gatys_per_image", "device": str(device), "size": size, "timed_iters": iters,
            "evaluations": stats.evaluations, "s_per_iter": round(per_iter, 3),
            "projected_s_per_image": round(per_iter * num_iters, 1), "num_iters": num_iters,
            "peak_mb": round(perf.peak_memory_mb(device), 1)}


def run(sizes=(256, 512), batch=4, repeats=3, gatys_iters=2, gatys_num_iters=DEFAULT_NUM_ITERS, gatys=True,
        threads=None):
    """Print the fast-NST rows (and Gatys's when `gatys`) for every size on each device; see the module docstring."""
    if threads:
        torch.set_num_threads(threads)
    devices = [torch.device("cpu")] + ([torch.device("cuda")] if torch.cuda.is_available() else [])
    torch.manual_seed(0)
    net = TransformerNet().eval()
    print(f"# fast NST benchmark ({torch.get_num_threads()} CPU threads), TransformerNet(32, 5) random weights",
          file=sys.stderr)
    for device in devices:
        for size in sizes:
            for n in sorted({1, batch}):
                row = fast_row(net, size, n, device, repeats)
                print(f"# {device.type} {size}px batch {n}: {row['images_per_s']:.2f} images/s, "
                      f"peak {row['peak_mb']:.0f} MB (+{row['peak_delta_mb']:.0f})", file=sys.stderr)
                print(json.dumps(row), flush=True)
        if not gatys:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # random weights: timing does not depend on them
            st = Stylizer("vgg19", "random", device=device)
        for size in sizes:
            row = gatys_row(st, size, device, gatys_iters, gatys_num_iters)
            print(f"# {device.type} {size}px Gatys: {row['s_per_iter']:.2f} s/iteration -> about "
                  f"{row['projected_s_per_image']:.0f} s per image at {gatys_num_iters} iterations",
                  file=sys.stderr)
            print(json.dumps(row), flush=True)
    if len(devices) == 1:
        print("# GPU: not measured (no CUDA device here)", file=sys.stderr)
        print(json.dumps({"benchmark": "fast_nst", "device": "cuda", "result": "not measured"}), flush=True)
