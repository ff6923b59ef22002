"""The inference benchmark (`cyclegan-benchmark inference`): the official test.py against each way this suite
can translate, side by side in one run, on the same images and the same generator weights: random ones (the
official init) by default, or a trained file with --weights (a fast-NST net too, timed without "official").

"official" is what the official test.py does per image with `--model test` (emulated here, nothing imported):
open the JPEG with PIL and convert to RGB, Resize([size, size], BICUBIC), ToTensor, Normalize(0.5, 0.5), the
generator in float32 at batch 1, eager, under no_grad; then tensor2im (truncating to uint8) and a plain PIL
PNG save of both the real and the fake image. (Its HTML page, written once at the end, is left out.)
Every other configuration does what `cyclegan-test --model test` does per image: the dataset's load and
resize, Translator.forward, and the atomic PNG save of real and fake, with the settings named:
  fp32         float32 (--amp none), batch 1            bf16      bf16 autocast, batch 1
  bf16_cl      bf16 autocast + channels_last            batch4    bf16 weights, 4 images per forward
  bf16_w       the default without channels_last: the net cast to bf16 (group_norm kernel), no autocast
  onednn_bf16  float32 tensors, convolutions in oneDNN's bf16 math mode (no casts between layers)
  onnx         the exported graph in ONNX Runtime, float32, batch 1
  compile      bf16 + torch.compile (inductor; compile time left out)
  default      what cyclegan.load() and cyclegan-test do by default on this machine
The configurations take turns image by image (the order reversed every round), so a busy machine slows them
alike; images/s is 1 / the median seconds per image. Peak memory is the peak RSS of a separate process that
runs only that configuration on a few images. Outputs are compared with the official PNGs in uint8 levels
and, when fp32 runs too, with fp32's (the official truncates to uint8 where this suite rounds: that alone is
about half a level on average, which the comparison with fp32 leaves out).
With --large WxH one image of that size goes through each configuration, each in its own process (time and
peak RSS); official then runs the whole image at once, as test.py with --preprocess none does.
"""
import json
import multiprocessing
import os
import random
import statistics
import sys
import tempfile
import time

import numpy as np
import torch
from PIL import Image

from .. import perf
from ..data.transforms import preprocess
from ..images import list_images, load_rgb, save_image, to_tensor
from ..inference import load
from ..inference.arch import describe_arch, identify
from ..inference.errors import ModelFileError
from ..models.generators import define_G
from ..io import load_state_dict_file
from ..runs.layout import RunFolder

CONFIGS = {"official": None, "fp32": dict(amp="none"), "bf16": dict(amp="bf16", bf16_math="autocast"),
           "bf16_cl": dict(amp="bf16", bf16_math="autocast", channels_last=True),
           "bf16_w": dict(amp="bf16", bf16_math="weights", channels_last=False), "batch4": dict(amp="bf16", batch=4),
           "onednn_bf16": dict(amp="bf16", bf16_math="onednn"), "onnx": dict(onnx=True),
           "compile": dict(amp="bf16", compile=True), "default": {}}


class Official:
    """The official test.py's per-image work (see the module docstring)."""
    batch = 1

    def __init__(self, weights, size, netG, ngf):
        self.net = define_G(3, 3, ngf, netG, "instance", False)
        self.net.load_state_dict(torch.load(weights, weights_only=True))
        self.size = size

    def load(self, path):
        img = Image.open(path).convert("RGB")
        if self.size:
            img = img.resize((self.size, self.size), Image.BICUBIC)
        else:  # --preprocess none: the official __make_power_2 resizes each side to the nearest multiple of 4
            w, h = (int(round(v / 4) * 4) for v in img.size)
            img = img if (w, h) == img.size else img.resize((w, h), Image.BICUBIC)
        x = torch.from_numpy(np.asarray(img, dtype=np.float32).transpose(2, 0, 1) / 255.0)
        return ((x - 0.5) / 0.5)[None]

    def __call__(self, paths, out_dir):
        x = self.load(paths[0])
        with torch.no_grad():
            y = self.net(x)
        for t, name in ((x, "real"), (y, "fake")):
            arr = ((np.transpose(t[0].cpu().float().numpy(), (1, 2, 0)) + 1) / 2.0 * 255.0).astype(np.uint8)
            Image.fromarray(arr).save(os.path.join(out_dir, f"{stem(paths[0])}_{name}.png"))


class Ours:
    """cyclegan-test --model test's per-image (or per-batch) work with one configuration."""

    def __init__(self, run_dir, onnx_file, settings, size):
        s = dict(settings)
        self.batch, self.size = s.pop("batch", 1), size
        source = onnx_file if s.pop("onnx", False) else run_dir
        self.t = load(source, device="cpu", tile=None if size == 0 else 0, **s)

    def __call__(self, paths, out_dir):
        imgs = [load_rgb(p) for p in paths]
        if self.size:
            imgs = [preprocess(i, "resize_and_crop", self.size, self.size, False, random.Random(0)) for i in imgs]
        x = torch.stack([to_tensor(i, signed=True) for i in imgs])
        y = self.t.forward(x)
        for p, real, fake in zip(paths, x, y):
            save_image(real, os.path.join(out_dir, f"{stem(p)}_real.png"), signed=True)
            save_image(fake, os.path.join(out_dir, f"{stem(p)}_fake.png"), signed=True)


def stem(path):
    return os.path.splitext(os.path.basename(path))[0]


def build(name, ctx):
    if name == "official":
        return Official(ctx["weights"], ctx["size"], ctx["netG"], ctx["ngf"])
    return Ours(ctx["run_dir"], ctx["onnx"], CONFIGS[name], ctx["size"])


def prepare(tmp, netG, ngf, seed, need_onnx, weights_file=None, with_official=True):
    """A run folder with official-layout weights (latest_net_G.pth: a copy of `weights_file`, else random ones
    of netG/ngf; latest_net_T.pth for a fast-NST file, timed without `official`) and, when asked, its ONNX
    export. Returns (run_dir, weights, onnx_file, (netG, ngf))."""
    run_dir = os.path.join(tmp, "run")
    os.makedirs(run_dir, exist_ok=True)
    torch.manual_seed(seed)
    weights = RunFolder(run_dir).net("latest", "G")
    if weights_file:
        state = load_state_dict_file(weights_file)
        arch = identify(state, weights_file)
        if arch["kind"] == "fast_nst":  # this suite's configurations only: there is no official fast NST
            if with_official:
                raise ModelFileError(f"{weights_file}: holds a {describe_arch(arch)}; the official test.py runs "
                                     f"CycleGAN generators only: drop official from --configs (e.g. fp32,default)")
            netG, ngf, weights = "fast_nst", arch["ngf"], RunFolder(run_dir).net("latest", "T")
        elif arch["norm"] != "instance" or (arch["input_nc"], arch["output_nc"]) != (3, 3):
            raise ModelFileError(f"{weights_file}: holds a {describe_arch(arch)}; the benchmark compares the official "
                                 f"test.py, which needs a 3-channel CycleGAN generator with instance norm")
        else:
            netG, ngf = arch["netG"], arch["ngf"]
        torch.save(state, weights)
    else:
        torch.save(define_G(3, 3, ngf, netG, "instance", False).state_dict(), weights)
    onnx_file = None
    if need_onnx:
        from ..inference.onnx import export
        t = load(run_dir, device="cpu", amp="none", tile=0)
        onnx_file = os.path.join(tmp, "g.onnx")
        export(t.net, t.info, onnx_file, [torch.rand(1, 3, 64, 64) * 2 - 1], log=lambda m: None)
    return run_dir, weights, onnx_file, (netG, ngf)


def uint8_diff(out_dir, ref_dir, paths):
    """Mean and max |this - reference| over the fake PNGs, in uint8 levels; None when the sizes differ (the
    official resizes sides that are not multiples of 4, this suite pads and crops back)."""
    diffs = []
    for p in paths:
        a = np.asarray(Image.open(os.path.join(out_dir, f"{stem(p)}_fake.png")), dtype=np.int16)
        b = np.asarray(Image.open(os.path.join(ref_dir, f"{stem(p)}_fake.png")), dtype=np.int16)
        if a.shape != b.shape:
            return None
        diffs.append(np.abs(a - b))
    return float(np.mean([d.mean() for d in diffs])), int(max(d.max() for d in diffs))


def _child(name, ctx, paths, repeats, queue):
    """One configuration alone in this process: seconds per image and peak RSS."""
    torch.set_num_threads(ctx["threads"])
    runner = build(name, ctx)
    out = os.path.join(ctx["tmp"], f"mem_{name}")
    os.makedirs(out, exist_ok=True)
    times = []
    for _ in range(repeats):
        for k in range(0, len(paths), runner.batch):
            chunk = paths[k:k + runner.batch]
            start = time.perf_counter()
            runner(chunk, out)
            times.append((time.perf_counter() - start) / len(chunk))
    queue.put({"seconds_per_image": statistics.median(times), "peak_rss_mb": perf.peak_memory_mb("cpu"),
               "out_dir": out})


def isolated(name, ctx, paths, repeats=1):
    """_child in a fresh (spawned) process, so its peak RSS is that configuration's alone."""
    mp = multiprocessing.get_context("spawn")
    queue = mp.Queue()
    proc = mp.Process(target=_child, args=(name, ctx, paths, repeats, queue))
    proc.start()
    result = queue.get()
    proc.join()
    return result


def interleaved(configs, ctx, paths, rounds, warmup=1):
    """Seconds per image of each configuration, taking turns; returns ({name: [s/img]}, {name: out_dir})."""
    runners = {n: build(n, ctx) for n in configs}
    outs = {n: os.path.join(ctx["tmp"], f"out_{n}") for n in configs}
    for d in outs.values():
        os.makedirs(d, exist_ok=True)
    for n, r in runners.items():  # compilation and first-call costs outside the timing
        if n == "compile":
            r.t.warm(torch.zeros(r.batch, 3, ctx["size"], ctx["size"]))
    times = {n: [] for n in configs}
    for rnd in range(warmup + rounds):
        order = configs if rnd % 2 == 0 else configs[::-1]
        for n in order:
            r = runners[n]
            for k in range(0, len(paths), r.batch):
                chunk = paths[k:k + r.batch]
                start = time.perf_counter()
                r(chunk, outs[n])
                if rnd >= warmup:
                    times[n].append((time.perf_counter() - start) / len(chunk))
    return times, outs


def profile_forward(name, ctx, paths):
    """The top operators of one forward of this configuration (a table for stderr)."""
    r = build(name, ctx)
    out = os.path.join(ctx["tmp"], "profile")
    os.makedirs(out, exist_ok=True)
    r(paths[:r.batch], out)
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
        r(paths[:r.batch], out)
    return prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=10)


def large_image(tmp, wh, paths, seed=0):
    """One photo-like JPEG of wh=(W, H) pixels: the first input photo enlarged, or smooth noise."""
    w, h = wh
    if paths:
        img = load_rgb(paths[0]).resize((w, h), Image.BICUBIC)
    else:
        rng = np.random.default_rng(seed)
        img = Image.fromarray(rng.integers(0, 256, (h // 64 + 1, w // 64 + 1, 3), dtype=np.uint8)).resize(
            (w, h), Image.BICUBIC)
    path = os.path.join(tmp, f"large_{w}x{h}.jpg")
    img.save(path, quality=92)
    return path


def run(configs, size=256, images=8, dataroot=None, rounds=3, threads=None, netG="resnet_9blocks", ngf=64,
        seed=0, large=None, memory=True, profile=False, out=sys.stdout, log=None, weights=None):
    """Print one JSON line per configuration (and per configuration at the --large size); returns the rows.
    weights: a trained generator or fast-NST file (its architecture read from it; netG and ngf are then
    ignored; a fast-NST net is timed without `official`)."""
    log = log or (lambda m: print(m, file=sys.stderr, flush=True))
    if threads:
        torch.set_num_threads(threads)
    rows = []
    with tempfile.TemporaryDirectory(prefix="cyclegan_infer_bench_") as tmp:
        run_dir, net_path, onnx_file, (netG, ngf) = prepare(tmp, netG, ngf, seed, "onnx" in configs, weights,
                                                            "official" in configs)
        paths = [str(p) for p in list_images(dataroot)][:images] if dataroot else \
            [str(p) for p in _generated(tmp, images, size, seed)]
        ctx = dict(run_dir=run_dir, weights=net_path, onnx=onnx_file, size=size, netG=netG, ngf=ngf, tmp=tmp,
                   threads=torch.get_num_threads())
        base = {"device_name": perf.device_name("cpu"), "torch": torch.__version__,
                "threads": torch.get_num_threads(), "netG": netG, "ngf": ngf,
                "weights": os.path.abspath(weights) if weights else "random (init normal 0.02)",
                "bf16_native": _native(), "default_amp": load(run_dir, device="cpu").speed.amp}
        log(f"inference benchmark: {', '.join(configs)} on {base['device_name']}, {base['threads']} threads, "
            f"{len(paths)} images at {size} px, {rounds} rounds interleaved")
        if profile:
            for n in configs:
                log(f"== profile of one forward, {n} ==\n{profile_forward(n, ctx, paths)}")
        times, outs = interleaved(configs, ctx, paths, rounds)
        official = times.get("official")
        for n in configs:
            med = statistics.median(times[n])
            row = {"config": n, "size": size, **base, "images": len(paths), "rounds": rounds,
                   "seconds_per_image": round(med, 4), "images_per_s": round(1 / med, 3),
                   "seconds_all": [round(t, 3) for t in times[n]]}
            if official:
                row["speedup_vs_official"] = round(statistics.median(official) / med, 3)
                if n != "official":
                    row["uint8_mean_abs_vs_official"], row["uint8_max_abs_vs_official"] = \
                        [round(v, 3) for v in uint8_diff(outs[n], outs["official"], paths)]
            if "fp32" in times and n not in ("official", "fp32"):
                row["uint8_mean_abs_vs_fp32"], row["uint8_max_abs_vs_fp32"] = \
                    [round(v, 3) for v in uint8_diff(outs[n], outs["fp32"], paths)]
            if memory:
                row["peak_rss_mb"] = round(isolated(n, ctx, paths[:2])["peak_rss_mb"], 1)
            rows.append(row)
            print(json.dumps(row), file=out, flush=True)
        if large:
            rows += run_large(configs, ctx, base, large_image(tmp, large, paths if dataroot else []), out, log)
    return rows


def run_large(configs, ctx, base, path, out, log):
    ctx = dict(ctx, size=0)  # the image's own size: official as test.py --preprocess none, ours with tiles
    rows, ref = [], None
    for n in configs:
        if n in ("onnx", "batch4", "compile"):
            continue  # ONNX graphs run whole; one image; compiling a 4000 x 3000 graph costs more than it saves
        log(f"{n} at {os.path.basename(path)} (one image, its own process)")
        r = isolated(n, ctx, [path])
        row = {"config": n, "size": os.path.basename(path)[6:-4], **base, "seconds_per_image": round(r["seconds_per_image"], 2),
               "images_per_s": round(1 / r["seconds_per_image"], 4), "peak_rss_mb": round(r["peak_rss_mb"], 1)}
        diff = uint8_diff(r["out_dir"], ref, [path]) if ref else None
        if n == "official":
            ref = r["out_dir"]
        elif diff:
            row["uint8_mean_abs_vs_official"], row["uint8_max_abs_vs_official"] = round(diff[0], 3), diff[1]
        rows.append(row)
        print(json.dumps(row), file=out, flush=True)
    return rows


def _native():
    from ..models.speed import native_bf16
    return native_bf16()


def _generated(folder, n, size, seed):
    """Photo-like JPEGs (smooth noise) when no --dataroot is given."""
    rng = np.random.default_rng(seed)
    os.makedirs(os.path.join(folder, "photos"), exist_ok=True)
    paths = []
    for i in range(n):
        small = rng.integers(0, 256, (size // 8 + 1, size // 8 + 1, 3), dtype=np.uint8)
        p = os.path.join(folder, "photos", f"{i:03d}.jpg")
        Image.fromarray(small).resize((size, size), Image.BILINEAR).save(p, quality=90)
        paths.append(p)
    return paths
