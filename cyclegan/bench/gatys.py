"""Benchmark of the Gatys optimiser: `python -m cyclegan.benchmark gatys [--sizes 256,512] ...`
(flags: options/benchmark_options.py; this module takes plain values).

For each image size and style loss it times one L-BFGS function evaluation (truncated forward,
losses, backward to the image), records peak memory and the FLOPs torch's FlopCounterMode sees
(convolutions and matmuls, forward and backward), and compares the achieved GFLOP/s with the
machine's measured float32 GEMM rate. As a reference it times an untruncated torchvision VGG19
forward + backward with respect to the input. Human-readable lines go to stderr; each config
prints one JSON line on stdout, then a summary line. The images are a photo and a painting given by path
(--content/--style), else seeded noise (the time does not depend on the pixels).
"""
import json
import sys
import warnings

import torch
from torchvision import models as tvm

from .. import perf
from ..images import load_image
from ..nst.losses import DEFAULT_MMD_SAMPLES
from ..nst.optimize import Stylizer


def _images(size, content=None, style=None):
    """The photo and painting files when both are given, else seeded noise; square, size px; and their source."""
    if content and style:
        return load_image(content, size=size)[None], load_image(style, size=size)[None], "files"
    g = torch.Generator().manual_seed(size)
    return torch.rand(1, 3, size, size, generator=g), torch.rand(1, 3, size, size, generator=g), "noise"


def full_vgg19_ms(size, device, repeats):
    """Untruncated torchvision VGG19 (features and classifier), frozen, forward+backward to the input."""
    model = tvm.vgg19(weights=None).to(device).eval().requires_grad_(False)
    x = torch.rand(1, 3, size, size, device=device, requires_grad=True)

    def step():
        x.grad = None
        model(x).sum().backward()

    ms = perf.median_ms(step, warmup=1, repeats=repeats, device=device)
    flops, _ = perf.count_flops(step)
    return ms, flops


def bench_config(stylizer, content, style, device, evals, warmup, count):
    """One size x loss: ms per evaluation, peak memory, FLOPs."""
    targets = stylizer.style_targets([style])
    obj, base, _ = stylizer.objective(content, targets)
    x = base.clone().requires_grad_(True)

    def evaluate():
        x.grad = None
        loss, _ = obj(x)
        loss.backward()

    perf.reset_peak_memory(device)
    before = perf.current_memory_mb(device)
    ms = perf.median_ms(evaluate, warmup=warmup, repeats=evals, device=device)
    peak = perf.peak_memory_mb(device)
    flops = perf.count_flops(evaluate)[0] if count else None
    return ms, peak, peak - before, flops


def run(sizes, losses, backbone="vgg19", weights="random", device="auto", evals=3, warmup=1, baseline_repeats=2,
        mmd_samples=DEFAULT_MMD_SAMPLES, threads=None, count_flops=True, out=sys.stdout, content=None, style=None):
    """Time each size x style loss; JSON lines to `out`, readable lines to stderr; returns the summary dict.
    content/style: a photo and a painting file to time on (default: seeded noise)."""
    device = perf.resolve_device(device)
    if threads:
        torch.set_num_threads(threads)
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # random weights are the point here, not a mistake
        base = Stylizer(backbone, weights, device=device)
    gemm = perf.gemm_gflops(device)
    threads = torch.get_num_threads()
    print(f"# gatys benchmark on {device} ({threads} threads): float32 GEMM {gemm:.1f} GFLOP/s, backbone "
          f"{backbone} truncated to {base.extractor.depth} steps, weights {weights}", file=sys.stderr)
    summary = {"benchmark": "gatys", "summary": True, "device": str(device), "threads": threads,
               "gemm_gflops": round(gemm, 1)}
    for size in sizes:
        photo, painting, source = _images(size, content, style)
        full_ms = full_flops = None
        if baseline_repeats > 0:
            full_ms, full_flops = full_vgg19_ms(size, device, baseline_repeats)
            print(f"# {size}px untruncated VGG19 forward+backward: {full_ms:.0f} ms "
                  f"({full_flops / 1e9:.1f} GFLOP)", file=sys.stderr)
            summary[f"full_vgg19_ms_{size}"] = round(full_ms, 1)
        for loss in losses:
            st = base.with_style_loss(loss, mmd_samples)
            ms, peak, delta, flops = bench_config(st, photo, painting, device, evals, warmup,
                                                  count_flops)
            row = {"benchmark": "gatys", "backbone": backbone, "size": size, "loss": loss,
                   "device": str(device), "threads": threads, "weights": weights, "images": source,
                   "ms_per_eval": round(ms, 1), "evals": evals, "peak_mb": round(peak, 1),
                   "peak_delta_mb": round(delta, 1), "gemm_gflops": round(gemm, 1),
                   "mmd_samples": mmd_samples if loss == "mmd_gauss" else None}
            if flops is not None:
                rate = flops / (ms * 1e-3) / 1e9
                row.update(gflop_per_eval=round(flops / 1e9, 2), gflops=round(rate, 1),
                           gemm_fraction=round(rate / gemm, 3))
            if full_ms:
                row.update(full_vgg19_ms=round(full_ms, 1), ratio_vs_full=round(ms / full_ms, 3))
            summary[f"{loss}_{size}_ms"] = row["ms_per_eval"]
            summary[f"{loss}_{size}_peak_delta_mb"] = row["peak_delta_mb"]
            print(f"# {size}px {loss:10s} {ms:8.0f} ms/eval  peak {peak:7.0f} MB (+{delta:.0f})"
                  + (f"  {row['gflops']:.1f} GFLOP/s = {row['gemm_fraction']:.0%} of GEMM" if flops else "")
                  + (f"  {row['ratio_vs_full']:.2f}x the full VGG19 pass" if full_ms else ""), file=sys.stderr)
            print(json.dumps(row), file=out, flush=True)
    print(json.dumps(summary), file=out, flush=True)
    return summary
