"""Benchmark and calibration of the C2ST: its time on 250 real + 50 fake 256-px images, and the spread of
its balanced accuracy over seeds for known answers (real vs real, vs noise, vs blurred, paintings vs photos).

    python -m cyclegan.benchmark c2st --dataroot DATASET --seeds 3   (DATASET: trainA paintings, trainB photos)
(flags: options/benchmark_options.py; this module takes plain values). Prints figures; nothing is asserted
(the sanity tests are in tests/test_c2st.py).
"""
import os
import statistics
import time

import torch
import torchvision.transforms.functional as TF

from ..metrics.c2st import c2st
from ..metrics.image_tensors import list_images, load_image


def blurred(images, sigma=2.0):
    return [TF.gaussian_blur(im, kernel_size=int(4 * sigma) | 1, sigma=sigma) for im in images]


def noise_like(images, seed=0):
    g = torch.Generator().manual_seed(seed)
    return [torch.rand(im.shape, generator=g) for im in images]


def run(dataroot, seeds=3, num_threads=None, timing=True, spread=True, only=""):
    """Time the C2ST on DATAROOT's trainB (real) and trainA (fake) files, then its balanced accuracy over
    `seeds` seeds for each known-answer case whose name contains `only`; prints one line each."""
    photos = [str(x) for x in list_images(os.path.join(dataroot, "trainB"))]
    paintings = [str(x) for x in list_images(os.path.join(dataroot, "trainA"))]
    print(f"cores {os.cpu_count()}, torch threads {num_threads or torch.get_num_threads()}, "
          f"load average before {os.getloadavg()}")
    if timing:
        start, cpu = time.perf_counter(), time.process_time()
        r = c2st(photos[:250], paintings[:50], seed=0, num_threads=num_threads)
        print(f"timing: 250 real + 50 fake 256-px files (loading included): {time.perf_counter() - start:.1f} s "
              f"wall, {time.process_time() - cpu:.1f} s CPU (this process) on {r.device}; {r}; "
              f"load average after {os.getloadavg()}")
    if not spread:
        return
    real = [load_image(x) for x in paintings[:100]]
    cases = {"real vs real (interleaved halves of 100 paintings)": (real[0::2], real[1::2]),
             "real vs noise (50 paintings vs 50 uniform noise)": (real[:50], noise_like(real[50:])),
             "real vs blurred real (50 vs 50 others, Gaussian sigma 2 px)": (real[:50], blurred(real[50:])),
             "paintings vs photos (50 vs 50)": (real[:50], [load_image(x) for x in photos[:50]])}
    for name, (x, y) in cases.items():
        if only not in name:
            continue
        rs = [c2st(x, y, seed=s, num_threads=num_threads) for s in range(seeds)]
        bas = [r.balanced_accuracy for r in rs]
        print(f"{name}: balanced accuracy over seeds {[round(b, 3) for b in bas]} mean {statistics.fmean(bas):.3f} "
              f"sd {statistics.pstdev(bas):.3f}; CI of seed 0 {rs[0].ci_low:.3f}-{rs[0].ci_high:.3f}, "
              f"p {rs[0].p_value:.3g}; {statistics.fmean(r.seconds for r in rs):.1f} s each")
