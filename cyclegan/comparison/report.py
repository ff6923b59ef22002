"""Metrics of a comparison run and its outputs: metrics.json, metrics.csv and index.html.

Per image: time, peak memory, SSIM and edge correlation with the input (content kept), colour distance
to the paintings (sliced Wasserstein in Lab), P(painting) from the photo-vs-painting classifier, the
CNN Gram and content distances (only as meaningful as the CNN weights), and CycleGAN's cycle L1.
Per method: their means (time also median), the fraction called paintings, FID and KID.
"""
import csv
import io
import math
import os
import statistics

import torch

from ..display.html import write_page
from ..images import load_image
from ..io import atomic_write_json, atomic_write_text
from ..metrics import color_distance, edge_correlation, pool_lab_pixels, ssim
from .harness import METHODS, load_photo

PER_IMAGE = ("time_s", "peak_mem_mb", "ssim", "edge_corr", "color_swd", "p_painting", "gram_dist", "content_dist",
             "cycle_l1")
LABELS = {"cyclegan": "CycleGAN", "cut": "CUT (Park et al.; --model cut)", "fast_nst": "Fast NST (Johnson et al.)",
          "gatys_per_image": "Gatys (one painting per photo)", "gatys_domain": "Gatys (domain: all paintings)",
          "photos": "real photos (floor)", "paintings": "real paintings (ceiling)",
          "reference": "reference (--reference outputs)", "noise": "uniform noise (control)"}


def image_metrics(records, out_dir, paintings, classifier=None, comparison=None, size=256):
    """Per-image rows: one per (photo, method) that produced an image, or that failed.

    comparison: the Comparison whose stylizer's CNN gives the Gram and content distances (None: skipped)."""
    pool = pool_lab_pixels([load_photo(p, size)[0] for p in paintings])
    cnn = comparison is not None and comparison.stylizer is not None
    domain = comparison.targets("domain") if cnn else None
    rows = []
    for rec in records:
        if "error" in rec and "input" not in rec:
            rows.append({"photo": rec["photo"], "method": "input", "error": rec["error"]})
            continue
        x = load_image(os.path.join(out_dir, rec["input"]))
        for method in METHODS:
            entry = rec["methods"].get(method)
            if entry is None:
                continue
            row = {"photo": rec["photo"], "method": method, "painting": entry.get("painting", "")}
            if "error" in entry:
                rows.append({**row, "error": entry["error"]})
                continue
            y = load_image(os.path.join(out_dir, entry["file"]))
            row.update(time_s=entry["time_s"], peak_mem_mb=entry["peak_mem_mb"], ssim=float(ssim(x, y)),
                       edge_corr=float(edge_correlation(x, y)), color_swd=float(color_distance(y, pool)),
                       cycle_l1=entry.get("cycle_l1"))
            if classifier is not None:
                row["p_painting"] = float(classifier.predict_prob(y.unsqueeze(0))[0])
            if cnn:
                row.update(cnn_distances(comparison.stylizer, domain, x, y))
            rows.append(row)
    return rows


def cnn_distances(st, domain_targets, x, y):
    """Gram distance of y to the pooled paintings and content-layer distance of y to x (Gatys' own terms)."""
    obj, _, _ = st.objective(x.unsqueeze(0), domain_targets, content_weight=1.0, style_weight=1.0, tv_weight=0.0)
    with torch.no_grad():
        _, parts = obj(y.unsqueeze(0).to(st.device))
    return {"gram_dist": parts["style"], "content_dist": parts["content"]}


def aggregate(rows, method_outputs, reference, fid_fn):
    """Per-method summary. method_outputs: {method: [image tensors]}; fid_fn(outputs) -> FidKidResult."""
    summary = {}
    for method in METHODS:
        mine = [r for r in rows if r["method"] == method]
        if not mine:
            continue
        ok = [r for r in mine if "error" not in r]
        s = {"images": len(ok), "failed": len(mine) - len(ok)}
        for k in PER_IMAGE:
            vals = [r[k] for r in ok if r.get(k) is not None]
            s[k] = statistics.fmean(vals) if vals else None
        times = [r["time_s"] for r in ok]
        s["time_s_median"] = statistics.median(times) if times else None
        s["peak_mem_mb_max"] = max((r["peak_mem_mb"] for r in ok), default=None)
        probs = [r["p_painting"] for r in ok if r.get("p_painting") is not None]
        s["fraction_paintings"] = sum(p > 0.5 for p in probs) / len(probs) if probs else None
        fk = fid_fn(method_outputs.get(method, []))
        s["fid"], s["kid"], s["kid_std"] = fk
        summary[method] = s
    summary.update(reference)
    return summary


def write_outputs(out_dir, title, rows, summary, records, notes, config):
    """metrics.json, metrics.csv and index.html; returns the page path."""
    atomic_write_json(os.path.join(out_dir, "metrics.json"),
                      {"config": config, "notes": notes, "summary": summary, "per_image": rows}, indent=1, default=str)
    cols = ["photo", "method", "painting", *PER_IMAGE, "error"]
    buf = io.StringIO(newline="")
    w = csv.writer(buf)
    w.writerow(cols)
    for r in rows:
        w.writerow([fmt_csv(r.get(c)) for c in cols])
    w.writerow([])
    agg_cols = ["method", "images", "failed", "c2st", *PER_IMAGE, "time_s_median", "peak_mem_mb_max",
                "fraction_paintings", "fid", "kid", "kid_std"]
    w.writerow(["summary"] + agg_cols)
    for m, s in summary.items():
        w.writerow(["summary", m] + [fmt_csv(s.get(c)) for c in agg_cols[1:]])
    atomic_write_text(os.path.join(out_dir, "metrics.csv"), buf.getvalue())
    return write_page(os.path.join(out_dir, "index.html"), title, sections=photo_rows(records),
                      tables=[metrics_table(summary)], notes=notes, tables_first=True, per_row=5, width=192)


def fmt_csv(v):
    if v is None:
        return ""
    return f"{v:.6g}" if isinstance(v, float) else v


def fmt(v, digits=3):
    if v is None:
        return "-"
    if isinstance(v, str):
        return v
    return f"{v:.{digits}g}" if math.isfinite(v) else str(v)


def metrics_table(summary):
    header = ["method", "images (failed)", "C2ST vs held-out paintings ↓ (0.5 best)", "s/image mean", "s/image median", "peak MB", "SSIM ↑", "edge corr ↑",
              "colour SWD ↓", "called painting ↑", "Gram dist ↓", "content dist ↓", "FID ↓", "KID ↓", "cycle L1 ↓"]
    rows = []
    for m, s in summary.items():
        rows.append([LABELS.get(m, m), f"{s.get('images', '-')} ({s.get('failed', 0)})", fmt_c2st(s),
                     fmt(s.get("time_s")),
                     fmt(s.get("time_s_median")), fmt(s.get("peak_mem_mb_max")), fmt(s.get("ssim")),
                     fmt(s.get("edge_corr")), fmt(s.get("color_swd")), fmt(s.get("fraction_paintings")),
                     fmt(s.get("gram_dist")), fmt(s.get("content_dist")), fmt(s.get("fid")), fmt(s.get("kid")),
                     fmt(s.get("cycle_l1"))])
    return ("Metrics per method", header, rows)


def fmt_c2st(s):
    if not isinstance(s.get("c2st"), float):
        return fmt(s.get("c2st"))
    lo, hi = s["c2st_ci"]
    return f"{s['c2st']:.3f} [{lo:.2f}, {hi:.2f}]"


def photo_rows(records):
    sections = []
    for rec in records:
        name = os.path.basename(rec["photo"])
        if "input" not in rec:
            sections.append((f"{name}: FAILED ({rec.get('error', 'unknown error')})", []))
            continue
        items = [(rec["input"], "input")]
        problems = []
        painting = None
        for method in METHODS:
            e = rec["methods"].get(method)
            if e is None:
                continue
            if "error" in e:
                problems.append(f"{LABELS[method]} failed: {e['error']}")
                continue
            items.append((e["file"], f"{LABELS[method]} ({e['time_s']:.2f} s)"))
            if method == "gatys_per_image":
                painting = e["painting"]
        if painting:
            items.append((rec["methods"]["gatys_per_image"]["painting_file"],
                          f"painting used: {os.path.basename(painting)}"))
        sections.append((name + ("" if not problems else " — " + "; ".join(problems)), items))
    return sections


__all__ = ["image_metrics", "aggregate", "write_outputs"]
