"""The distillation benchmark (`cyclegan-benchmark distill --teacher FILE --student FILE`): a teacher generator
against its distilled student on this machine's CPU, both loaded through cyclegan.load exactly as cyclegan-test
and cyclegan-video run them (the precision's default path: bf16 weights on CPUs with native bf16, float32 with
--amp none; never tiled).

Per model and precision: GMACs of one size x size image (torch's FLOP counter over convolutions, halved), images/s
at size x size (batch images per forward) and frames/s at a video frame (640x360 by default, one frame per
forward, as cyclegan-video), each 1 / the median of `repeats` timed forwards after `warmup` untimed ones; then the
student's speed ratio over the teacher. One JSON line per row on stdout, readable lines on stderr.
"""
import json
import sys

import torch

from .. import perf
from ..inference import load
from ..models.speed import native_bf16
from ..models.weights import unwrap

AMP = {"fp32": "none", "bf16": "bf16"}


def gmacs(translator, size):
    """Multiply-accumulates (billions) of one (1, C, size, size) forward of the translator's float32 net."""
    net = unwrap(translator.net)
    x = torch.zeros(1, int(translator.info.get("input_nc", 3)), size, size)
    with torch.no_grad():
        flops, _ = perf.count_flops(lambda: net(x.to(next(net.parameters()).dtype)))
    return flops / 2 / 1e9


def per_second(translator, x, warmup, repeats):
    """Images per second through translator.translate for the batch x (1 / median seconds per image)."""
    ms = perf.median_ms(lambda: translator.translate(x), warmup=warmup, repeats=repeats)
    return x.shape[0] * 1e3 / ms


def summary(teacher, student, size=256, repeats=3):
    """What cyclegan-distill prints at its end: GMACs of one size x size image and images/s on the default path
    (cyclegan.load's precision for this CPU), median of `repeats` after one warm-up, for both, and the ratios."""
    out = {}
    for role, source in (("teacher", teacher), ("student", student)):
        t = load(source, device="cpu", tile=0, compile=False)
        out[f"{role}_gmacs"] = gmacs(load(source, device="cpu", amp="none", tile=0, compile=False), size)
        out[f"{role}_images_per_s"] = per_second(t, torch.rand(1, 3, size, size), 1, repeats)
        out["precision"] = t.speed.amp
    out["macs_ratio"] = out["teacher_gmacs"] / out["student_gmacs"]
    out["speedup"] = out["student_images_per_s"] / out["teacher_images_per_s"]
    return out


def run(teacher, student, size=256, frame_wh=(640, 360), batch=1, repeats=5, warmup=2, precisions=None,
        threads=0, compile=False, out=None, log=None):
    """Time both models (compile: through torch.compile, its compilation in the untimed warm-up); returns the rows
    (dicts) also written as JSON lines to `out`."""
    out, log = out or sys.stdout, log or sys.stderr
    if threads > 0:
        torch.set_num_threads(threads)
    precisions = precisions or (["fp32", "bf16"] if native_bf16() else ["fp32"])
    cpu = perf.device_name("cpu")
    print(f"distill benchmark on {cpu}, {torch.get_num_threads()} threads, native bf16: "
          f"{'yes' if native_bf16() else 'no'}; {size} px at batch {batch}, frames {frame_wh[0]}x{frame_wh[1]}; "
          f"median of {repeats}{', compiled (torch.compile)' if compile else ''}", file=log, flush=True)
    g = torch.Generator().manual_seed(0)
    images = torch.rand(batch, 3, size, size, generator=g)
    frame = torch.rand(1, 3, frame_wh[1], frame_wh[0], generator=g)
    rows, macs = [], {}
    for precision in precisions:
        speeds = {}
        for role, source in (("teacher", teacher), ("student", student)):
            t = load(source, device="cpu", amp=AMP[precision], tile=0, compile=compile)
            if role not in macs:
                macs[role] = gmacs(load(source, device="cpu", amp="none", tile=0, compile=False), size)
            row = {"bench": "distill", "role": role, "precision": precision, "model": t.info.get("description"),
                   "source": str(source), "gmacs": round(macs[role], 4),
                   "parameters": sum(p.numel() for p in unwrap(t.net).parameters()),
                   "images_per_s": round(per_second(t, images, warmup, repeats), 3),
                   "frames_per_s": round(per_second(t, frame, warmup, repeats), 3),
                   "size": size, "frame": f"{frame_wh[0]}x{frame_wh[1]}", "batch": batch, "cpu": cpu,
                   "threads": torch.get_num_threads(), "compiled": bool(compile)}
            speeds[role] = row
            rows.append(row)
            print(json.dumps(row), file=out, flush=True)
            print(f"{precision:5s} {role:8s} {row['model']}: {row['gmacs']:.3f} GMAC, {row['images_per_s']:.2f} "
                  f"img/s at {size} px, {row['frames_per_s']:.2f} frames/s at {row['frame']}", file=log, flush=True)
        s, t = speeds["student"], speeds["teacher"]
        ratio = {"bench": "distill", "role": "ratio", "precision": precision, "cpu": cpu,
                 "macs_ratio": round(macs["teacher"] / macs["student"], 2),
                 "images_speedup": round(s["images_per_s"] / t["images_per_s"], 2),
                 "frames_speedup": round(s["frames_per_s"] / t["frames_per_s"], 2)}
        rows.append(ratio)
        print(json.dumps(ratio), file=out, flush=True)
        print(f"{precision:5s} student/teacher: {ratio['macs_ratio']:.1f}x fewer MACs, {ratio['images_speedup']:.2f}x "
              f"the images/s, {ratio['frames_speedup']:.2f}x the frames/s", file=log, flush=True)
    return rows
