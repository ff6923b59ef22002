"""Options of the benchmarks: the CycleGAN speed benchmark (`python -m cyclegan.benchmark`) and the Gatys
one (`python -m cyclegan.benchmark gatys`); see README "Speed"."""
import argparse
import os

import torch

from cyclegan.models.generators import GENERATORS
from cyclegan.nst import BACKBONES, DEVICES, STYLE_LOSSES

from .base_options import Options

CONFIGS = ("official", "eager", "channels_last", "compile", "cudnn", "bf16", "fp16", "fast_norm", "cuda_graph",
           "default", "all")
DEFAULT_CONFIGS = {"cpu": "official,eager,channels_last,fast_norm",
                   "cuda": "official,eager,cudnn,channels_last,bf16,fp16,compile,cuda_graph,default,all"}


class BenchmarkOptions(Options):
    prog = "cyclegan-benchmark"
    description = "Time CycleGAN training steps and inference; one JSON line per configuration on stdout."
    formatter = argparse.ArgumentDefaultsHelpFormatter

    def initialize(self, parser):
        p = parser
        p.add_argument("--size", type=int, default=256, help="image size (crop_size) in pixels")
        p.add_argument("--netG", default="resnet_9blocks", choices=GENERATORS, help="generator architecture")
        p.add_argument("--ngf", type=int, default=64, help="# of gen filters in the last conv layer")
        p.add_argument("--ndf", type=int, default=64, help="# of discrim filters in the first conv layer")
        p.add_argument("--batch_size", type=int, default=1, help="training batch size")
        p.add_argument("--test_batch", type=int, default=None,
                       help="inference batch size (default: 64 on GPU, 4 on CPU)")
        p.add_argument("--device", default="auto", help="cpu, cuda, cuda:N, or auto (cuda when available)")
        p.add_argument("--configs", default=None,
                       help=f"comma-separated, from: {', '.join(CONFIGS)} (default: {DEFAULT_CONFIGS['cpu']} "
                            f"on CPU; {DEFAULT_CONFIGS['cuda']} on GPU). official is float32 in the official call order, "
                            f"eager float32 with batched passes, cuda_graph eager plus the captured step, "
                            f"default the per-device defaults, all = bf16 + channels_last + compile + cudnn. "
                            f"List official first to get speedup_vs_official in the other rows")
        p.add_argument("--warmup", type=int, default=None, help="untimed steps first (default: 1 CPU, 10 GPU)")
        p.add_argument("--repeats", type=int, default=None, help="timed steps; the median is reported "
                                                                 "(default: 3 CPU, 30 GPU)")
        p.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (0: leave torch's default)")
        p.add_argument("--num_workers", type=int, default=min(4, os.cpu_count() or 1),
                       help="DataLoader workers feeding the training steps")
        p.add_argument("--dataroot", default=None,
                       help="folder with trainA/ and trainB/ to load (default: generated JPEGs in a temp folder)")
        p.add_argument("--interleave", action="store_true",
                       help="time the configurations step by step in turns (fairer on a shared machine; "
                            "peak memory is then not reported per configuration)")
        p.add_argument("--no_gemm", action="store_true", help="skip measuring the GEMM rate")
        p.add_argument("--profile", action="store_true",
                       help="profile one step per configuration: top ops in the JSON, a table on stderr")
        p.add_argument("--seed", type=int, default=0, help="seed for weights and data")
        return p

    def finish(self, opt):
        if opt.device == "auto":
            opt.device = "cuda" if torch.cuda.is_available() else "cpu"
        dev = torch.device(opt.device)
        if dev.type == "cuda" and not torch.cuda.is_available():
            raise SystemExit(f"--device {opt.device}: no CUDA GPU is available; use --device cpu")
        if dev.type not in DEFAULT_CONFIGS:
            raise SystemExit(f"--device {opt.device}: only cpu and cuda are supported")
        gpu = dev.type == "cuda"
        opt.configs = [c.strip() for c in (opt.configs or DEFAULT_CONFIGS[dev.type]).split(",") if c.strip()]
        unknown = [c for c in opt.configs if c not in CONFIGS]
        if unknown:
            raise SystemExit(f"--configs: unknown {', '.join(unknown)}; choose from {', '.join(CONFIGS)}")
        for name, value in (("size", opt.size), ("batch_size", opt.batch_size), ("ngf", opt.ngf), ("ndf", opt.ndf)):
            if value < 1:
                raise SystemExit(f"--{name} must be positive, got {value}")
        if opt.size % 4:
            raise SystemExit(f"--size {opt.size}: must be a multiple of 4 (the generator downsamples twice)")
        opt.test_batch = opt.test_batch or (64 if gpu else 4)
        opt.warmup = (10 if gpu else 1) if opt.warmup is None else opt.warmup
        opt.repeats = (30 if gpu else 3) if opt.repeats is None else max(1, opt.repeats)


class GatysBenchmarkOptions(Options):
    """`python -m cyclegan.benchmark gatys`: ms per Gatys evaluation per image size and style loss."""
    prog = "cyclegan-benchmark gatys"
    description = "Time one Gatys L-BFGS evaluation per image size and style loss; one JSON line per configuration."

    def initialize(self, parser):
        p = parser
        p.add_argument("--sizes", default="256,512", help="comma-separated square image sizes (default: 256,512)")
        p.add_argument("--losses", default=",".join(STYLE_LOSSES), help="comma-separated style losses (default: all)")
        p.add_argument("--backbone", default="vgg19", choices=BACKBONES)
        p.add_argument("--weights", default="random",
                       help="'random' (default; timing does not depend on the values) or a weights file")
        p.add_argument("--device", default="auto", choices=DEVICES)
        p.add_argument("--evals", type=int, default=3, help="timed function evaluations per config (median)")
        p.add_argument("--warmup", type=int, default=1, help="untimed evaluations first")
        p.add_argument("--baseline_repeats", type=int, default=2,
                       help="timed untruncated VGG19 forward+backward passes per size; 0 skips the baseline")
        p.add_argument("--mmd_samples", type=int, default=512, help="mmd_gauss sample/block size")
        p.add_argument("--threads", type=int, default=None,
                       help="CPU threads for torch (default: torch's own choice); on a busy shared machine 1 is "
                            "often faster")
        p.add_argument("--no_flops", action="store_true", help="skip the FLOP count (one extra evaluation per config)")
        return p

    def finish(self, opt):
        opt.sizes = parse_sizes(opt.sizes, self.parser)
        opt.losses = [v.strip() for v in opt.losses.split(",") if v.strip()]
        bad = [v for v in opt.losses if v not in STYLE_LOSSES]
        if bad or not opt.losses:
            self.parser.error(f"--losses must come from {', '.join(STYLE_LOSSES)} (got {', '.join(bad) or 'none'})")


def parse_sizes(text, parser):
    """--sizes 256,512 -> [256, 512], each at least 32 px."""
    try:
        sizes = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        parser.error(f"--sizes {text!r}: give comma-separated integers, e.g. 256,512")
    if not sizes or min(sizes) < 32:
        parser.error("--sizes must be at least 32 px")
    return sizes


class InferenceBenchmarkOptions(Options):
    """`cyclegan-benchmark inference`: the official test.py against each inference configuration, side by side."""
    prog = "cyclegan-benchmark inference"
    description = ("Translate the same images with the official test.py's per-image work and with each inference "
                   "configuration, taking turns; one JSON line per configuration (images/s, speed-up, peak RSS, "
                   "difference from the official outputs in uint8 levels). See cyclegan/inference/benchmark.py.")

    def initialize(self, parser):
        from cyclegan.inference.benchmark import CONFIGS
        p = parser
        p.add_argument("--configs", default="official,fp32,bf16,default",
                       help=f"comma-separated, from: {', '.join(CONFIGS)} (default: official,fp32,bf16,default)")
        p.add_argument("--size", type=int, default=256, help="images are resized to size x size (default: 256)")
        p.add_argument("--images", type=int, default=8, help="images per round (default: 8)")
        p.add_argument("--rounds", type=int, default=3, help="timed rounds after one warm-up round (default: 3)")
        p.add_argument("--dataroot", default=None,
                       help="a folder of photos (default: generated photo-like JPEGs)")
        p.add_argument("--netG", default="resnet_9blocks", choices=GENERATORS, help="(default: resnet_9blocks)")
        p.add_argument("--ngf", type=int, default=64, help="(default: 64)")
        p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
        p.add_argument("--large", default=None,
                       help="also one image of WxH pixels (e.g. 4000x3000) per configuration, each in its own process")
        p.add_argument("--no_memory", action="store_true", help="skip the per-configuration peak-RSS processes")
        p.add_argument("--profile", action="store_true", help="print the top operators of one forward per configuration")
        p.add_argument("--seed", type=int, default=0, help="seed of the random weights")
        return p

    def finish(self, opt):
        from cyclegan.inference.benchmark import CONFIGS
        opt.configs = [c.strip() for c in opt.configs.split(",") if c.strip()]
        unknown = [c for c in opt.configs if c not in CONFIGS]
        if unknown or not opt.configs:
            self.parser.error(f"--configs: unknown {', '.join(unknown) or '(none given)'}; choose from {', '.join(CONFIGS)}")
        if opt.dataroot and not os.path.isdir(opt.dataroot):
            self.parser.error(f"--dataroot {opt.dataroot}: not a folder")
        for flag in ("size", "images", "rounds", "ngf"):
            if getattr(opt, flag) < 1:
                self.parser.error(f"--{flag} must be at least 1, got {getattr(opt, flag)}")
        if opt.large:
            try:
                w, h = (int(v) for v in opt.large.lower().split("x"))
            except ValueError:
                self.parser.error(f"--large {opt.large}: give WxH, e.g. 4000x3000")
            opt.large = (w, h)


class FastNSTBenchmarkOptions(Options):
    """`python -m cyclegan.benchmark fast_nst`: fast-NST images/s and memory beside Gatys's time per image."""
    prog = "cyclegan-benchmark fast_nst"
    description = ("Time fast-NST stylisation (batch 1 and batched) and Gatys per image at each size, on the CPU "
                   "and the GPU when there is one; one JSON line per configuration.")

    def initialize(self, parser):
        p = parser
        p.add_argument("--sizes", default="256,512", help="comma-separated square sizes (default: 256,512)")
        p.add_argument("--batch", type=int, default=4, help="the batched configuration's batch size (default: 4)")
        p.add_argument("--repeats", type=int, default=3, help="timed passes per configuration (median)")
        p.add_argument("--gatys_iters", type=int, default=2,
                       help="timed Gatys L-BFGS iterations per size (default: 2)")
        p.add_argument("--gatys_num_iters", type=int, default=500,
                       help="iterations per image for the projected Gatys time (default: 500, cyclegan-gatys's)")
        p.add_argument("--no_gatys", action="store_true", help="skip the Gatys lines")
        p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
        return p

    def finish(self, opt):
        opt.sizes = parse_sizes(opt.sizes, self.parser)
        for flag in ("batch", "repeats", "gatys_iters", "gatys_num_iters"):
            if getattr(opt, flag) < 1:
                self.parser.error(f"--{flag} must be at least 1, got {getattr(opt, flag)}")
