"""Benchmarks entry point (`cyclegan-benchmark` / `python -m cyclegan.benchmark`); the work is in cyclegan/bench/.

    python -m cyclegan.benchmark [options]           CycleGAN training step and test throughput
    python -m cyclegan.benchmark gatys [options]     the Gatys optimizer: ms per L-BFGS evaluation per loss
    python -m cyclegan.benchmark fast_nst [options]  fast-NST images/s and memory beside Gatys's time per image
    python -m cyclegan.benchmark c2st [options]      the C2ST's time and its spread over seeds for known answers
    python -m cyclegan.benchmark inference [options] the official test.py against each inference configuration
    python -m cyclegan.benchmark demo_load [options] many clients against a running cyclegan-demo, answers counted
    python -m cyclegan.benchmark distill --teacher FILE --student FILE   a teacher against its distilled student

Add -h for each benchmark's options. Each prints one JSON line per configuration on stdout (c2st: text lines).
"""
import contextlib
import os
import sys
import tempfile

import torch

from cyclegan.cli import main_guard


@main_guard
def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    commands = {"gatys": gatys_benchmark, "fast_nst": fast_nst_benchmark, "c2st": c2st_benchmark,
                "inference": inference_benchmark, "cyclegan": cyclegan_benchmark,
                "demo_load": demo_load_benchmark, "distill": distill_benchmark}
    if argv and argv[0] in commands:
        return commands[argv[0]](argv[1:])
    return cyclegan_benchmark(argv)


def gatys_benchmark(argv):
    """`python -m cyclegan.benchmark gatys [options]`: JSON lines on stdout, readable lines on stderr."""
    from cyclegan.bench.gatys import run
    from options.benchmark_options import GatysBenchmarkOptions
    opt = GatysBenchmarkOptions().parse(argv)
    run(opt.sizes, opt.losses, opt.backbone, opt.weights, opt.device, opt.evals, opt.warmup, opt.baseline_repeats,
        opt.mmd_samples, opt.threads, count_flops=not opt.no_flops, content=opt.content, style=opt.style)
    return 0


def fast_nst_benchmark(argv):
    """`python -m cyclegan.benchmark fast_nst [options]`: JSON lines on stdout, readable lines on stderr."""
    from cyclegan.bench.fast_nst import run
    from options.benchmark_options import FastNSTBenchmarkOptions
    opt = FastNSTBenchmarkOptions().parse(argv)
    run(opt.sizes, opt.batch, opt.repeats, opt.gatys_iters, opt.gatys_num_iters, not opt.no_gatys, opt.threads)
    return 0


def c2st_benchmark(argv):
    """`python -m cyclegan.benchmark c2st --dataroot DIR [options]`: one line per measurement."""
    from cyclegan.bench.c2st_calibration import run
    from options.benchmark_options import C2STBenchmarkOptions
    opt = C2STBenchmarkOptions().parse(argv)
    run(opt.dataroot, opt.seeds, opt.num_threads, not opt.skip_timing, not opt.skip_spread, opt.only)
    return 0


def inference_benchmark(argv):
    """`python -m cyclegan.benchmark inference [options]`: JSON lines on stdout, progress on stderr."""
    from cyclegan.bench.inference import run
    from options.benchmark_options import InferenceBenchmarkOptions
    opt = InferenceBenchmarkOptions().parse(argv)
    run(opt.configs, opt.size, opt.images, opt.dataroot, opt.rounds, opt.threads, opt.netG, opt.ngf, opt.seed,
        opt.large, not opt.no_memory, opt.profile, weights=opt.weights)
    return 0


def demo_load_benchmark(argv):
    """`python -m cyclegan.benchmark demo_load --image PHOTO --model KEY [options]`: one JSON line of counts."""
    from cyclegan.bench.demo_load import run
    from options.benchmark_options import DemoLoadBenchmarkOptions
    opt = DemoLoadBenchmarkOptions().parse(argv)
    run(opt.url, opt.image, opt.model, opt.requests, opt.clients, opt.bad_every, opt.pid)
    return 0


def distill_benchmark(argv):
    """`python -m cyclegan.benchmark distill --teacher FILE --student FILE`: GMACs, images/s and frames/s of both,
    JSON lines on stdout, readable lines on stderr (docs/distill.md)."""
    from cyclegan.bench.distill import run
    from options.distill_options import DistillBenchmarkOptions
    opt = DistillBenchmarkOptions().parse(argv)
    run(opt.teacher, opt.student, opt.size, opt.frame_wh, opt.batch, opt.repeats, opt.warmup, opt.precisions,
        opt.threads, opt.compile)
    return 0


def cyclegan_benchmark(argv):
    """`python -m cyclegan.benchmark [options]`: JSON lines on stdout, progress on stderr."""
    from cyclegan.bench.cyclegan import make_images, run
    from cyclegan.perf import device_name
    from options.benchmark_options import BenchmarkOptions
    from options.train_options import TrainOptions
    opt = BenchmarkOptions().parse(argv)
    if opt.threads > 0:
        torch.set_num_threads(opt.threads)
    device = opt.device
    with tempfile.TemporaryDirectory(prefix="cyclegan_bench_") as tmp:
        load_size = opt.size * 286 // 256
        dataroot = opt.dataroot
        if dataroot is None:
            count = max(16, opt.batch_size * (opt.warmup + opt.repeats + 2))
            dataroot = make_images(os.path.join(tmp, "data"), count, load_size, opt.seed)
        gpu_ids = str(device.index or 0) if device.type == "cuda" else "-1"  # the training flag for --device
        model_opt = TrainOptions().parse_values(
            dataroot=dataroot, name="benchmark", checkpoints_dir=tmp, netG=opt.netG, ngf=opt.ngf, ndf=opt.ndf,
            batch_size=opt.batch_size, load_size=load_size, crop_size=opt.size, gpu_ids=gpu_ids, seed=opt.seed,
            display_id=0, num_threads=opt.num_workers)
        print(f"benchmarking {', '.join(opt.configs)} on {device_name(device)}, {opt.size} px, {opt.netG}, "
              f"batch {opt.batch_size}", file=sys.stderr, flush=True)
        out = sys.stdout
        with contextlib.redirect_stdout(sys.stderr):  # model-creation chatter to stderr; JSON alone on stdout
            run(model_opt, opt.configs, opt.size, opt.test_batch, opt.warmup, opt.repeats,
                opt.num_workers, opt.seed, gemm=not opt.no_gemm, profile=opt.profile, out=out,
                interleave=opt.interleave)
    return 0


if __name__ == "__main__":
    sys.exit(main())
