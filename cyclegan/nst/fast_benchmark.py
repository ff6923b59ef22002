"""Benchmark of fast-NST stylisation beside Gatys: `python -m cyclegan.benchmark fast_nst [options]`.

For each size, a TransformerNet (Johnson et al.'s 32 channels, 5 residual blocks, random weights:
speed does not depend on the values) stylises batch 1 and a larger batch: images per second and
peak memory (CUDA allocator, or the process's resident set on the CPU). Beside it, Gatys's time per
image: a few L-BFGS iterations are timed and the seconds per iteration multiplied by --gatys_num_iters
(cyclegan-gatys's default 500), stated as a projection. Runs on the CPU, and on the GPU when there is
one; otherwise the GPU lines say "not measured". One JSON line per configuration on stdout.
"""
import argparse
import json
import sys
import time
import warnings

import torch

from cyclegan import perf
from cyclegan.nst.optimize import Stylizer
from cyclegan.nst.transformer import TransformerNet, stylize


def parse_args(argv=None):
    p = argparse.ArgumentParser(prog="cyclegan-benchmark fast_nst", description=__doc__.split("\n")[0])
    p.add_argument("--sizes", default="256,512", help="comma-separated square sizes (default: 256,512)")
    p.add_argument("--batch", type=int, default=4, help="the batched configuration's batch size (default: 4)")
    p.add_argument("--repeats", type=int, default=3, help="timed passes per configuration (median)")
    p.add_argument("--gatys_iters", type=int, default=2, help="timed Gatys L-BFGS iterations per size (default: 2)")
    p.add_argument("--gatys_num_iters", type=int, default=500,
                   help="iterations per image for the projected Gatys time (default: 500, cyclegan-gatys's)")
    p.add_argument("--no_gatys", action="store_true", help="skip the Gatys lines")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    return p.parse_args(argv)


def fast_row(net, size, batch, device, repeats):
    gpu = device.type == "cuda"
    amp = torch.bfloat16 if gpu else None  # the stylize defaults: bf16 + channels_last on a GPU
    fmt = torch.channels_last if gpu else torch.contiguous_format
    net = net.to(device, memory_format=fmt)
    x = torch.rand(batch, 3, size, size)
    perf.reset_peak_memory(device)
    before = perf.current_memory_mb(device)
    ms = perf.median_ms(lambda: stylize(net, x, amp, fmt), warmup=1, repeats=repeats, device=device)
    peak = perf.peak_memory_mb(device)
    return {"benchmark": "fast_nst", "device": str(device), "size": size, "batch": batch,
            "amp": "bf16" if gpu else "none", "ms_per_batch": round(ms, 1),
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


def main(argv=None):
    args = parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    if not sizes or min(sizes) < 32 or args.batch < 1 or args.repeats < 1 or args.gatys_iters < 1:
        print("cyclegan-benchmark fast_nst: error: --sizes must be at least 32 px and --batch, --repeats, "
              "--gatys_iters positive", file=sys.stderr)
        return 2
    if args.threads:
        torch.set_num_threads(args.threads)
    devices = [torch.device("cpu")] + ([torch.device("cuda")] if torch.cuda.is_available() else [])
    torch.manual_seed(0)
    net = TransformerNet().eval()
    print(f"# fast NST benchmark ({torch.get_num_threads()} CPU threads), TransformerNet(32, 5) random weights",
          file=sys.stderr)
    for device in devices:
        for size in sizes:
            for batch in sorted({1, args.batch}):
                row = fast_row(net, size, batch, device, args.repeats)
                print(f"# {device.type} {size}px batch {batch}: {row['images_per_s']:.2f} images/s, "
                      f"peak {row['peak_mb']:.0f} MB (+{row['peak_delta_mb']:.0f})", file=sys.stderr)
                print(json.dumps(row), flush=True)
        if args.no_gatys:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # random weights: timing does not depend on them
            st = Stylizer("vgg19", "random", device=device)
        for size in sizes:
            row = gatys_row(st, size, device, args.gatys_iters, args.gatys_num_iters)
            print(f"# {device.type} {size}px Gatys: {row['s_per_iter']:.2f} s/iteration -> about "
                  f"{row['projected_s_per_image']:.0f} s per image at {args.gatys_num_iters} iterations",
                  file=sys.stderr)
            print(json.dumps(row), flush=True)
    if len(devices) == 1:
        print("# GPU: not measured (no CUDA device here)", file=sys.stderr)
        print(json.dumps({"benchmark": "fast_nst", "device": "cuda", "result": "not measured"}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
