"""Benchmarks entry point (`cyclegan-benchmark` / `python -m cyclegan.benchmark`).

    python -m cyclegan.benchmark [options]          CycleGAN training step and test throughput
    python -m cyclegan.benchmark gatys [options]    the Gatys optimizer: ms per L-BFGS evaluation per loss
    python -m cyclegan.benchmark fast_nst [options] fast-NST images/s and memory beside Gatys's time per image
    python -m cyclegan.benchmark inference [options] the official test.py against each inference configuration

Add -h for each benchmark's options. Each prints one JSON line per configuration on stdout.
"""
import contextlib
import os
import sys
import tempfile

import torch


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] == "gatys":
        return gatys_benchmark(argv[1:])
    if argv and argv[0] == "fast_nst":
        return fast_nst_benchmark(argv[1:])
    if argv and argv[0] == "inference":
        return inference_benchmark(argv[1:])
    if argv and argv[0] == "cyclegan":
        argv = argv[1:]
    return cyclegan_benchmark(argv)


def gatys_benchmark(argv):
    """`python -m cyclegan.benchmark gatys [options]`: JSON lines on stdout, readable lines on stderr."""
    from cyclegan.nst.benchmark import run
    from options.benchmark_options import GatysBenchmarkOptions
    opt = GatysBenchmarkOptions().parse(argv)
    run(opt.sizes, opt.losses, opt.backbone, opt.weights, opt.device, opt.evals, opt.warmup, opt.baseline_repeats,
        opt.mmd_samples, opt.threads, count_flops=not opt.no_flops)
    return 0


def fast_nst_benchmark(argv):
    """`python -m cyclegan.benchmark fast_nst [options]`: JSON lines on stdout, readable lines on stderr."""
    from cyclegan.nst.fast_benchmark import run
    from options.benchmark_options import FastNSTBenchmarkOptions
    opt = FastNSTBenchmarkOptions().parse(argv)
    run(opt.sizes, opt.batch, opt.repeats, opt.gatys_iters, opt.gatys_num_iters, not opt.no_gatys, opt.threads)
    return 0


def inference_benchmark(argv):
    """`python -m cyclegan.benchmark inference [options]`: JSON lines on stdout, progress on stderr."""
    from cyclegan.inference.benchmark import run
    from options.benchmark_options import InferenceBenchmarkOptions
    opt = InferenceBenchmarkOptions().parse(argv)
    run(opt.configs, opt.size, opt.images, opt.dataroot, opt.rounds, opt.threads, opt.netG, opt.ngf, opt.seed,
        opt.large, not opt.no_memory, opt.profile)
    return 0


def cyclegan_benchmark(argv):
    """`python -m cyclegan.benchmark [options]`: JSON lines on stdout, progress on stderr."""
    from cyclegan.training.benchmark import device_name, make_images, run
    from options.benchmark_options import BenchmarkOptions
    from options.train_options import TrainOptions
    opt = BenchmarkOptions().parse(argv)
    if opt.threads > 0:
        torch.set_num_threads(opt.threads)
    device = torch.device(opt.device)
    with tempfile.TemporaryDirectory(prefix="cyclegan_bench_") as tmp:
        load_size = opt.size * 286 // 256
        dataroot = opt.dataroot
        if dataroot is None:
            count = max(16, opt.batch_size * (opt.warmup + opt.repeats + 2))
            dataroot = make_images(os.path.join(tmp, "data"), count, load_size, opt.seed)
        elif not os.path.isdir(os.path.join(dataroot, "trainA")) or not os.path.isdir(os.path.join(dataroot, "trainB")):
            raise SystemExit(f"--dataroot {dataroot}: needs trainA/ and trainB/ subfolders of images")
        gpu_ids = str(device.index or 0) if device.type == "cuda" else "-1"  # the training flag for --device
        model_opt = TrainOptions().parse([
            "--dataroot", dataroot, "--name", "benchmark", "--checkpoints_dir", tmp, "--netG", opt.netG,
            "--ngf", str(opt.ngf), "--ndf", str(opt.ndf), "--batch_size", str(opt.batch_size),
            "--load_size", str(load_size), "--crop_size", str(opt.size), "--gpu_ids", gpu_ids,
            "--seed", str(opt.seed), "--display_id", "0", "--num_threads", str(opt.num_workers)])
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
