"""Benchmark and calibration of the C2ST: its time on 250 real + 50 fake 256-px images, and the spread of
its balanced accuracy over seeds for known answers (real vs real, vs noise, vs blurred, paintings vs photos).

    python -m cyclegan.metrics.c2st_bench --dataroot ../shared/data/vangogh2photo-mini --seeds 3
Prints figures; nothing is asserted (the sanity tests are in tests/test_c2st.py).
"""
import argparse
import os
import statistics
import time

import torch
import torchvision.transforms.functional as TF

from .c2st import c2st
from .images import list_images, load_image


def blurred(images, sigma=2.0):
    return [TF.gaussian_blur(im, kernel_size=int(4 * sigma) | 1, sigma=sigma) for im in images]


def noise_like(images, seed=0):
    g = torch.Generator().manual_seed(seed)
    return [torch.rand(im.shape, generator=g) for im in images]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--dataroot", required=True, help="a dataset with trainA (paintings) and trainB (photos)")
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--num_threads", type=int, default=None)
    p.add_argument("--skip_timing", action="store_true")
    p.add_argument("--skip_spread", action="store_true")
    p.add_argument("--only", default="", help="run only the cases whose name contains this text")
    a = p.parse_args(argv)
    photos = [str(x) for x in list_images(os.path.join(a.dataroot, "trainB"))]
    paintings = [str(x) for x in list_images(os.path.join(a.dataroot, "trainA"))]
    print(f"cores {os.cpu_count()}, torch threads {a.num_threads or torch.get_num_threads()}, "
          f"load average before {os.getloadavg()}")
    if not a.skip_timing:
        start, cpu = time.perf_counter(), time.process_time()
        r = c2st(photos[:250], paintings[:50], seed=0, num_threads=a.num_threads)
        print(f"timing: 250 real + 50 fake 256-px files (loading included): {time.perf_counter() - start:.1f} s "
              f"wall, {time.process_time() - cpu:.1f} s CPU (this process) on {r.device}; {r}; "
              f"load average after {os.getloadavg()}")
    if a.skip_spread:
        return 0
    real = [load_image(x) for x in paintings[:100]]
    cases = {"real vs real (interleaved halves of 100 paintings)": (real[0::2], real[1::2]),
             "real vs noise (50 paintings vs 50 uniform noise)": (real[:50], noise_like(real[50:])),
             "real vs blurred real (50 vs 50 others, Gaussian sigma 2 px)": (real[:50], blurred(real[50:])),
             "paintings vs photos (50 vs 50)": (real[:50], [load_image(x) for x in photos[:50]])}
    for name, (x, y) in cases.items():
        if a.only not in name:
            continue
        rs = [c2st(x, y, seed=s, num_threads=a.num_threads) for s in range(a.seeds)]
        bas = [r.balanced_accuracy for r in rs]
        print(f"{name}: balanced accuracy over seeds {[round(b, 3) for b in bas]} mean {statistics.fmean(bas):.3f} "
              f"sd {statistics.pstdev(bas):.3f}; CI of seed 0 {rs[0].ci_low:.3f}-{rs[0].ci_high:.3f}, "
              f"p {rs[0].p_value:.3g}; {statistics.fmean(r.seconds for r in rs):.1f} s each")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
