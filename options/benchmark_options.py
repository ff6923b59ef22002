"""Options of the benchmarks (`python -m cyclegan.benchmark [gatys|fast_nst|c2st|inference]`): the CycleGAN speed
benchmark, the Gatys one, fast NST beside Gatys, the C2ST's time and spread and translation against the official
test.py; see docs/speed.md and docs/inference.md."""
import argparse
import os

from cyclegan.bench.cyclegan import CONFIG_SETTINGS
from cyclegan.models.generators import GENERATORS
from cyclegan.nst import BACKBONES, STYLE_LOSSES
from cyclegan.nst.losses import DEFAULT_MMD_SAMPLES
from cyclegan.nst.optimize import DEFAULT_NUM_ITERS

from .base_options import DEFAULT_SEED, Options, add_device_option, add_seed_option, apply_seed_rule, check_lowest

CONFIGS = tuple(CONFIG_SETTINGS)  # the training benchmark's configurations (cyclegan/bench/cyclegan.py)
DEFAULT_SIZES = "256,512"  # the Gatys and fast-NST benchmarks' --sizes
DEFAULT_INFERENCE_CONFIGS = "official,fp32,bf16,default"  # the inference benchmark's --configs
DEFAULT_CONFIGS = {"cpu": "official,eager,fast_norm,default",
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
        add_device_option(p, "trains and tests")
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
        add_seed_option(p, "weights and data")
        return p

    def finish(self, opt):
        p = self.parser
        gpu = opt.device.type == "cuda"
        opt.configs = [c.strip() for c in (opt.configs or DEFAULT_CONFIGS[opt.device.type]).split(",") if c.strip()]
        unknown = [c for c in opt.configs if c not in CONFIGS]
        if unknown:
            p.error(f"--configs: unknown {', '.join(unknown)}; choose from {', '.join(CONFIGS)}")
        for name, value in (("size", opt.size), ("batch_size", opt.batch_size), ("ngf", opt.ngf), ("ndf", opt.ndf)):
            if value < 1:
                p.error(f"--{name} must be positive, got {value}")
        if opt.size % 4:
            p.error(f"--size {opt.size}: must be a multiple of 4 (the generator downsamples twice)")
        if opt.dataroot is not None and not all(os.path.isdir(os.path.join(opt.dataroot, side))
                                                for side in ("trainA", "trainB")):
            p.error(f"--dataroot {opt.dataroot}: needs trainA/ and trainB/ subfolders of images")
        apply_seed_rule(opt)
        opt.test_batch = opt.test_batch or (64 if gpu else 4)
        opt.warmup = (10 if gpu else 1) if opt.warmup is None else opt.warmup
        opt.repeats = (30 if gpu else 3) if opt.repeats is None else max(1, opt.repeats)


class GatysBenchmarkOptions(Options):
    """`python -m cyclegan.benchmark gatys`: ms per Gatys evaluation per image size and style loss."""
    prog = "cyclegan-benchmark gatys"
    description = "Time one Gatys L-BFGS evaluation per image size and style loss; one JSON line per configuration."

    def initialize(self, parser):
        p = parser
        add_sizes_option(p)
        p.add_argument("--losses", default=",".join(STYLE_LOSSES), help="comma-separated style losses (default: all)")
        p.add_argument("--backbone", default="vgg19", choices=BACKBONES)
        p.add_argument("--weights", default="random",
                       help="'random' (default; timing does not depend on the values) or a weights file")
        add_device_option(p)
        p.add_argument("--content", default=None,
                       help="a photo to time on, with --style a painting (default: seeded noise; the time does "
                            "not depend on the pixels)")
        p.add_argument("--style", default=None, help="a painting to time on, with --content (default: seeded noise)")
        p.add_argument("--evals", type=int, default=3, help="timed function evaluations per config (median)")
        p.add_argument("--warmup", type=int, default=1, help="untimed evaluations first")
        p.add_argument("--baseline_repeats", type=int, default=2,
                       help="timed untruncated VGG19 forward+backward passes per size; 0 skips the baseline")
        p.add_argument("--mmd_samples", type=int, default=DEFAULT_MMD_SAMPLES,
                       help=f"mmd_gauss sample/block size (default: {DEFAULT_MMD_SAMPLES})")
        p.add_argument("--threads", type=int, default=None,
                       help="CPU threads for torch (default: torch's own choice); on a busy shared machine 1 is "
                            "often faster")
        p.add_argument("--no_flops", action="store_true", help="skip the FLOP count (one extra evaluation per config)")
        return p

    def finish(self, opt):
        opt.sizes = parse_sizes(opt.sizes, self.parser)
        if (opt.content is None) != (opt.style is None):
            self.parser.error("--content and --style go together: a photo and a painting (or neither: noise)")
        for flag, path in (("--content", opt.content), ("--style", opt.style)):
            if path is not None and not os.path.isfile(path):
                self.parser.error(f"{flag} {path}: no such image file")
        opt.losses = [v.strip() for v in opt.losses.split(",") if v.strip()]
        bad = [v for v in opt.losses if v not in STYLE_LOSSES]
        if bad or not opt.losses:
            self.parser.error(f"--losses must come from {', '.join(STYLE_LOSSES)} (got {', '.join(bad) or 'none'})")


def add_sizes_option(p):
    """--sizes of the Gatys and fast-NST benchmarks (parse_sizes reads it)."""
    p.add_argument("--sizes", default=DEFAULT_SIZES,
                   help=f"comma-separated square image sizes (default: {DEFAULT_SIZES})")
    return p


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
                   "difference from the official outputs in uint8 levels). See cyclegan/bench/inference.py.")

    def initialize(self, parser):
        from cyclegan.bench.inference import CONFIGS
        p = parser
        p.add_argument("--configs", default=DEFAULT_INFERENCE_CONFIGS,
                       help=f"comma-separated, from: {', '.join(CONFIGS)} (default: {DEFAULT_INFERENCE_CONFIGS})")
        p.add_argument("--size", type=int, default=256, help="images are resized to size x size (default: 256)")
        p.add_argument("--images", type=int, default=8, help="images per round (default: 8)")
        p.add_argument("--rounds", type=int, default=3, help="timed rounds after one warm-up round (default: 3)")
        p.add_argument("--dataroot", default=None,
                       help="a folder of photos (default: generated photo-like JPEGs)")
        p.add_argument("--netG", default="resnet_9blocks", choices=GENERATORS, help="(default: resnet_9blocks)")
        p.add_argument("--ngf", type=int, default=64, help="(default: 64)")
        p.add_argument("--weights", default=None, metavar="FILE",
                       help="a trained generator (.pth) instead of random weights, its architecture read from it "
                            "(--netG and --ngf are then ignored); a fast-NST net is timed without official")
        p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
        p.add_argument("--large", default=None,
                       help="also one image of WxH pixels (e.g. 4000x3000) per configuration, each in its own process")
        p.add_argument("--no_memory", action="store_true", help="skip the per-configuration peak-RSS processes")
        p.add_argument("--profile", action="store_true",
                       help="print the top operators of one forward per configuration")
        add_seed_option(p, "the random weights and generated images")
        return p

    def finish(self, opt):
        from cyclegan.bench.inference import CONFIGS
        opt.configs = [c.strip() for c in opt.configs.split(",") if c.strip()]
        unknown = [c for c in opt.configs if c not in CONFIGS]
        if unknown or not opt.configs:
            self.parser.error(f"--configs: unknown {', '.join(unknown) or '(none given)'}; "
                              f"choose from {', '.join(CONFIGS)}")
        if opt.dataroot and not os.path.isdir(opt.dataroot):
            self.parser.error(f"--dataroot {opt.dataroot}: not a folder")
        check_lowest(self.parser, opt, dict.fromkeys(("size", "images", "rounds", "ngf"), 1))
        if opt.large:
            try:
                w, h = (int(v) for v in opt.large.lower().split("x"))
            except ValueError:
                self.parser.error(f"--large {opt.large}: give WxH, e.g. 4000x3000")
            opt.large = (w, h)
        apply_seed_rule(opt)


class FastNSTBenchmarkOptions(Options):
    """`python -m cyclegan.benchmark fast_nst`: fast-NST images/s and memory beside Gatys's time per image."""
    prog = "cyclegan-benchmark fast_nst"
    description = ("Time fast-NST stylisation (batch 1 and batched) and Gatys per image at each size, on the CPU "
                   "and the GPU when there is one; one JSON line per configuration.")

    def initialize(self, parser):
        p = parser
        add_sizes_option(p)
        p.add_argument("--batch", type=int, default=4, help="the batched configuration's batch size (default: 4)")
        p.add_argument("--repeats", type=int, default=3, help="timed passes per configuration (median)")
        p.add_argument("--gatys_iters", type=int, default=2,
                       help="timed Gatys L-BFGS iterations per size (default: 2)")
        p.add_argument("--gatys_num_iters", type=int, default=DEFAULT_NUM_ITERS,
                       help=f"iterations per image for the projected Gatys time (default: {DEFAULT_NUM_ITERS}, "
                            f"cyclegan-gatys's)")
        p.add_argument("--no_gatys", action="store_true", help="skip the Gatys lines")
        p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
        return p

    def finish(self, opt):
        opt.sizes = parse_sizes(opt.sizes, self.parser)
        check_lowest(self.parser, opt, dict.fromkeys(("batch", "repeats", "gatys_iters", "gatys_num_iters"), 1))


class C2STBenchmarkOptions(Options):
    """`python -m cyclegan.benchmark c2st`: the C2ST's time and its spread over seeds for known answers."""
    prog = "cyclegan-benchmark c2st"
    description = ("Time the C2ST on 250 real + 50 fake 256-px images, then its balanced accuracy over seeds for "
                   "known answers (real vs real, vs noise, vs blurred, paintings vs photos); prints figures.")

    def initialize(self, p):
        p.add_argument("--dataroot", required=True, help="a dataset with trainA (paintings) and trainB (photos)")
        p.add_argument("--seeds", type=int, default=3,
                       help=f"seeds {DEFAULT_SEED}, {DEFAULT_SEED + 1}, ... per case (default: 3)")
        p.add_argument("--num_threads", type=int, default=None, help="torch CPU threads (default: torch's)")
        p.add_argument("--skip_timing", action="store_true", help="skip the timing")
        p.add_argument("--skip_spread", action="store_true", help="skip the spread over seeds")
        p.add_argument("--only", default="", help="run only the cases whose name contains this text")
        return p

    def finish(self, opt):
        if not all(os.path.isdir(os.path.join(opt.dataroot, side)) for side in ("trainA", "trainB")):
            self.parser.error(f"--dataroot {opt.dataroot}: needs trainA/ and trainB/ subfolders of images")
        check_lowest(self.parser, opt, {"seeds": 1})


class DemoLoadBenchmarkOptions(Options):
    """`python -m cyclegan.benchmark demo_load`: many clients against a running demo, answers counted."""
    prog = "cyclegan-benchmark demo_load"
    description = ("POST /api/stylize --requests times from --clients threads against a running cyclegan-demo, "
                   "every --bad_every-th request a text file; prints one JSON line of counts (docs/demo.md).")
    formatter = argparse.ArgumentDefaultsHelpFormatter

    def initialize(self, p):
        p.add_argument("--url", default="http://127.0.0.1:7860", help="the demo's address")
        p.add_argument("--image", required=True, help="the photo every good request sends")
        p.add_argument("--model", required=True, help="the model key the requests name (see GET /api/info)")
        p.add_argument("--requests", type=int, default=100, help="requests in all")
        p.add_argument("--clients", type=int, default=16, help="client threads sending at once")
        p.add_argument("--bad_every", type=int, default=5, help="every N-th request is bad (0: none)")
        p.add_argument("--pid", type=int, default=None, help="the demo's process id, to report its peak RSS")
        return p

    def finish(self, opt):
        if not os.path.isfile(opt.image):
            self.parser.error(f"--image {opt.image}: no such file")
        check_lowest(self.parser, opt, {"requests": 1, "clients": 1, "bad_every": 0})
