"""The CycleGAN speed benchmark: training-step time, inference throughput, memory and FLOP rate per configuration.

For each configuration (official: float32 in the official call order; eager: float32 with batched passes;
channels_last, compile, cudnn benchmark, bf16/fp16 amp, fast_norm, cuda_graph: the captured step; the
per-device defaults; all GPU options together) it trains a fresh model, fed by a real
DataLoader over JPEGs, and prints one JSON line: median step ms after warm-up, the share of the step
spent waiting for data, peak memory, achieved GFLOP/s (FLOPs counted with torch.utils.flop_counter)
next to the measured GEMM rate, and test images/s at --test_batch against batch-1 eager inference.
With --interleave the configurations take turns step by step (fairer on a shared machine; peak memory is
then not per configuration). Its command line is cyclegan/cli/benchmark.py. It asks the model for its generators
(generators()) and how it steps (runtime()), naming none of its parts.
"""
import copy
import json
import os
import statistics
import sys
import time

import numpy as np
import torch
from PIL import Image

from .. import perf
from ..perf import device_name
from ..data import create_dataloader, create_dataset
from ..models import create_model
from ..inference.compiled import CompiledNet, compile_for_inference
from ..models.speed import resolve

# configuration name -> explicit speed settings; missing keys take the float32 baseline (all off)
CONFIG_SETTINGS = {
    "official": {},  # and batched passes off: the official call order
    "eager": {},
    "channels_last": {"channels_last": True},
    "compile": {"compile": True},
    "cudnn": {"cudnn_benchmark": True},
    "bf16": {"amp": "bf16"},
    "fp16": {"amp": "fp16"},
    "fast_norm": {"fast_norm": True},
    "bf16_fast_norm": {"amp": "bf16", "fast_norm": True},
    "bf16_fast_norm_cl": {"amp": "bf16", "fast_norm": True, "channels_last": True},
    "cuda_graph": {"cuda_graph": True},
    "default": None,  # the per-device auto defaults
    "all": {"amp": "bf16", "channels_last": True, "compile": True, "cudnn_benchmark": True},
}


def sig(x, digits=4):
    """x rounded to `digits` significant digits (tiny benchmark runs give tiny rates)."""
    return float(f"{x:.{digits}g}")


def config_for(name, device_type):
    settings = CONFIG_SETTINGS[name]
    if settings is None:
        return resolve(device_type)
    base = dict(amp="none", channels_last=False, compile=False, cudnn_benchmark=False, fast_norm=False,
                cuda_graph=False)
    base.update(settings)
    if device_type != "cuda":
        base["cudnn_benchmark"] = False
    return resolve(device_type, **base)


def make_images(folder, count, size, seed=0):
    """Write `count` random JPEGs of size x size into folder/trainA and folder/trainB."""
    rng = np.random.default_rng(seed)
    for side in ("trainA", "trainB"):
        os.makedirs(os.path.join(folder, side), exist_ok=True)
        for i in range(count):
            # smooth noise: photo-like JPEG size and decode cost (pure noise decodes far slower)
            small = rng.integers(0, 256, (size // 8 + 1, size // 8 + 1, 3), dtype=np.uint8)
            Image.fromarray(small).resize((size, size), Image.BILINEAR).save(
                os.path.join(folder, side, f"{i:04d}.jpg"), quality=90)
    return folder


class BatchStream:
    """Endless batches from a DataLoader, moving to the next epoch when one ends."""

    def __init__(self, loader):
        self.loader, self.epoch = loader, 0
        self.loader.sampler.set_epoch(0)
        self.it = iter(loader)

    def next(self):
        try:
            return next(self.it)
        except StopIteration:
            self.epoch += 1
            self.loader.sampler.set_epoch(self.epoch)
            self.it = iter(self.loader)
            return next(self.it)


def build_model(model_opt, cfg, seed, official=False):
    """A fresh model with cfg applied; official=True keeps the official call order (no batched passes)."""
    torch.manual_seed(seed)
    opt = copy.copy(model_opt)
    opt.batched_passes = False if official else None
    model = create_model(opt)
    return model.configure(cfg)


def first_generator(model):
    """The model's forward generator (A -> B), as it runs it."""
    return next(iter(model.generators().values()))


def time_training(model, stream, warmup, repeats, device):
    """Median step ms and median data-wait ms over `repeats` steps after `warmup` steps."""
    step_ms, data_ms = [], []
    for k in range(warmup + repeats):
        t0 = time.perf_counter()
        data = stream.next()
        t1 = time.perf_counter()
        model.set_input(data)
        model.optimize_parameters()
        perf.synchronize(device)
        t2 = time.perf_counter()
        if k >= warmup:
            data_ms.append((t1 - t0) * 1e3)
            step_ms.append((t2 - t1) * 1e3)
    return step_ms, data_ms


def inference_ips(net, cfg, batch, size, device, warmup, repeats, in_nc=3):
    """Generator images per second at `batch` (no grad, cfg's amp and memory format)."""
    x = torch.randn(batch, in_nc, size, size, device=device).contiguous(memory_format=cfg.memory_format)
    with torch.no_grad(), cfg.autocast():
        ms = perf.median_ms(lambda: net(x), warmup=warmup, repeats=repeats, device=device)
    return batch / ms * 1e3


def profile_step(model, stream, device, top=8):
    """Profile one training step; returns [(op, self ms, % of total)] and the printable table."""
    acts = [torch.profiler.ProfilerActivity.CPU]
    if device.type == "cuda":
        acts.append(torch.profiler.ProfilerActivity.CUDA)
    data = stream.next()
    with torch.profiler.profile(activities=acts) as prof:
        model.set_input(data)
        model.optimize_parameters()
        perf.synchronize(device)
    key = "self_device_time_total" if device.type == "cuda" else "self_cpu_time_total"
    events = [e for e in prof.key_averages() if getattr(e, key) > 0]
    total = sum(getattr(e, key) for e in events) or 1
    events.sort(key=lambda e: getattr(e, key), reverse=True)
    rows = [[e.key, round(getattr(e, key) / 1e3, 2), round(100.0 * getattr(e, key) / total, 1)] for e in events[:top]]
    return rows, prof.key_averages().table(sort_by=key, row_limit=top + 4)


def reference(model_opt, size, device, seed, test_warmup, test_repeats):
    """FLOPs of one training step and of one generator image, and batch-1 eager inference speed."""
    cfg = config_for("eager", device.type)
    model = build_model(model_opt, cfg, seed)
    g = torch.Generator().manual_seed(seed)
    shape = (model_opt.batch_size, model_opt.input_nc, size, size)
    data = {"A": torch.rand(shape, generator=g) * 2 - 1, "B": torch.rand(shape, generator=g) * 2 - 1,
            "A_paths": [], "B_paths": []}
    model.set_input(data)
    step_flops, _ = perf.count_flops(model.optimize_parameters)
    net = first_generator(model).eval()
    x = torch.zeros(1, model_opt.input_nc, size, size, device=device)
    with torch.no_grad():
        image_flops, _ = perf.count_flops(lambda: net(x))
    ips1 = inference_ips(net, cfg, 1, size, device, test_warmup, test_repeats, model_opt.input_nc)
    return step_flops, image_flops, ips1


def run(model_opt, configs, size, test_batch, warmup, repeats, num_workers, seed=0,
        gemm=True, profile=False, out=None, interleave=False):
    """Benchmark each configuration on model_opt.device; returns one result dict per configuration (and
    prints each to `out`)."""
    device = model_opt.device
    gpu = device.type == "cuda"
    test_warmup, test_repeats = (5, 20) if gpu else (1, max(2, min(repeats, 3)))
    rates = {}
    if gemm:
        rates["float32"] = perf.gemm_gflops(device, torch.float32)
        if gpu:
            rates["bfloat16"] = perf.gemm_gflops(device, torch.bfloat16)
            rates["float16"] = perf.gemm_gflops(device, torch.float16)
    step_flops, image_flops, ips1 = reference(model_opt, size, device, seed, test_warmup, test_repeats)

    dataset = create_dataset(model_opt)
    loader = create_dataloader(dataset, model_opt.batch_size, shuffle=True, num_workers=num_workers, seed=seed,
                               pin_memory=gpu)
    stream = BatchStream(loader)
    results = []

    def report(name, model, step_ms, data_ms, peak):
        results.append(result_row(name, model, step_ms, data_ms, peak, results, ctx))
        if out is not None:
            print(json.dumps(results[-1]), file=out, flush=True)

    ctx = dict(model_opt=model_opt, size=size, device=device, test_batch=test_batch, test_warmup=test_warmup,
               test_repeats=test_repeats, rates=rates, step_flops=step_flops, image_flops=image_flops, ips1=ips1,
               num_workers=num_workers, warmup=warmup, repeats=repeats, profile=profile, stream=stream,
               interleave=interleave)
    if not interleave:  # one configuration at a time, each with its own peak memory
        for name in configs:
            model = build_model(model_opt, config_for(name, device.type), seed, official=name == "official")
            perf.reset_peak_memory(device)
            step_ms, data_ms = time_training(model, stream, warmup, repeats, device)
            report(name, model, step_ms, data_ms, perf.peak_memory_mb(device))
            del model
        return results
    # interleaved: step by step in turns, the order reversed every round (the load hits all alike)
    models = {name: build_model(model_opt, config_for(name, device.type), seed, official=name == "official")
              for name in configs}
    times = {name: ([], []) for name in configs}
    for k in range(warmup + repeats):
        for name in (configs if k % 2 == 0 else configs[::-1]):
            step_ms, data_ms = time_training(models[name], stream, 0, 1, device)
            if k >= warmup:
                times[name][0].extend(step_ms)
                times[name][1].extend(data_ms)
    for name in configs:
        report(name, models.pop(name), *times[name], None)
    return results


def result_row(name, model, step_ms, data_ms, peak, earlier, ctx):
    """One JSON row: training figures from the timed steps, then this configuration's test throughput."""
    model_opt, device, size, rates = ctx["model_opt"], ctx["device"], ctx["size"], ctx["rates"]
    step_flops, image_flops, ips1 = ctx["step_flops"], ctx["image_flops"], ctx["ips1"]
    test_batch, test_warmup, test_repeats = ctx["test_batch"], ctx["test_warmup"], ctx["test_repeats"]
    gpu = device.type == "cuda"
    cfg = model.speed
    net = first_generator(model).eval()
    compiled = None
    if name == "default" and compile_for_inference(device.type) and not cfg.compile:  # as cyclegan-test does
        net = compiled = CompiledNet(net)
        with cfg.autocast():  # the same autocast state as the timed calls: no recompilation there
            compiled.warm(torch.randn(test_batch, model_opt.input_nc, size, size, device=device)
                          .contiguous(memory_format=cfg.memory_format))
    perf.reset_peak_memory(device)
    ips = inference_ips(net, cfg, test_batch, size, device, test_warmup, test_repeats, model_opt.input_nc)
    test_peak = perf.peak_memory_mb(device)
    med = statistics.median(step_ms)
    achieved = step_flops / (med * 1e-3) / 1e9
    dtype = {"none": "float32", "bf16": "bfloat16", "fp16": "float16"}[cfg.amp]
    bound = rates.get(dtype)
    row = {
        "config": name, "device": str(device), "device_name": device_name(device),
        "torch": torch.__version__, "threads": torch.get_num_threads(),
        "size": size, "netG": model_opt.netG, "ngf": model_opt.ngf, "ndf": model_opt.ndf,
        "batch_size": model_opt.batch_size, **model.runtime(),
        "train_step_ms": round(med, 2), "train_step_ms_all": [round(t, 2) for t in step_ms],
        "train_images_per_s": round(model_opt.batch_size / med * 1e3, 3),
        "data_ms": round(statistics.median(data_ms), 3),
        "data_fraction": round(statistics.median(data_ms) / med, 4), "num_workers": ctx["num_workers"],
        "interleaved": ctx["interleave"],
        "peak_memory_mb": None if peak is None else round(peak, 1),
        "memory_kind": "cuda_max_allocated" if gpu else "rss_peak",
        "train_gflop_per_step": sig(step_flops / 1e9), "achieved_gflops": sig(achieved),
        "gemm_gflops": {k: round(v, 1) for k, v in rates.items()}, "bound_dtype": dtype,
        "fraction_of_gemm_bound": sig(achieved / bound) if bound else None,
        "test_batch": test_batch, "test_images_per_s": round(ips, 3),
        "test_compiled": compiled is not None, "test_compile_s": round(compiled.compile_seconds, 1) if compiled else None,
        "test_gflops": round(ips * image_flops / 1e9, 2), "test_peak_memory_mb": round(test_peak, 1),
        "test_images_per_s_batch1_eager": round(ips1, 3), "test_speedup_vs_batch1_eager": round(ips / ips1, 3),
        "warmup": ctx["warmup"], "repeats": ctx["repeats"],
    }
    if ctx["profile"]:
        first_generator(model).train()
        row["profile_top"], table = profile_step(model, ctx["stream"], device)
        print(f"== profile of one training step, config {name} ==\n{table}", file=sys.stderr, flush=True)
    official = next((r for r in earlier if r["config"] == "official"), None)
    if official is not None:  # list official first to get this
        row["speedup_vs_official"] = round(official["train_step_ms"] / med, 3)
    return row
