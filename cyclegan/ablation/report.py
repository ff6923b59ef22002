"""The ablation's outputs: ablation.json (every record), ablation.md (the table) and index.html (the table,
quality-against-steps curves with every seed and its C2ST interval, cost per step, sample outputs), and the
quality-against-time view: per arm C2ST and KID against wall-clock training seconds (a table, also in
ablation_time.csv, and a curve), with the line "best within --budget_s T seconds" (timing.py)."""
import csv
import io
import math
import os
import statistics

from ..display.curves import curves_svg
from ..display.html import write_page
from ..io import atomic_write_json, atomic_write_text
from . import timing

DIRECTIONS = (("c2st_A", "B", "A"), ("c2st_B", "A", "B"))  # key, source domain, target domain


def series(records, kind, key):
    """[(step, value, ci_low, ci_high)] of one run's records for one weights kind, by step."""
    pts = []
    for r in sorted((r for r in records if r["weights"] == kind), key=lambda r: r["step"]):
        lo, hi = (r.get(f"{key}_ci") or [None, None])[:2]
        pts.append((r["step"], r.get(key), lo, hi))
    return pts


def mean_curve(per_seed):
    """Mean over the seeds that reached each step (the table says when a seed is still missing)."""
    steps = sorted({p[0] for pts in per_seed.values() for p in pts})
    out = []
    for s in steps:
        vals = [p[1] for pts in per_seed.values() for p in pts if p[0] == s and p[1] is not None]
        out.append((s, statistics.fmean(vals) if vals else None))
    return out


def summarise(variants, weights, runs, records, total_steps, cost, eval_every=None):
    """{variant: {"seeds": {seed: {key: [(step, v, lo, hi)]}}, "final": {...}, "cost": ...}}; only records at
    multiples of eval_every count (a resumed sweep may hold others)."""
    if eval_every:
        records = {k: [r for r in v if r["step"] % eval_every == 0] for k, v in records.items()}
    out = {}
    for name in variants:
        seeds = {}
        for run in runs:
            if any(n == name for n, _ in run.variants):
                recs = records.get(run.folder, [])
                seeds[run.seed] = {key: series(recs, weights[name], key) for key, _, _ in DIRECTIONS}
                seeds[run.seed]["run"] = run.folder
        final = {}
        for key, _, _ in DIRECTIONS:
            vals = {s: next((p for p in d[key] if p[0] == total_steps), None) for s, d in seeds.items()}
            done = {s: p for s, p in vals.items() if p is not None and p[1] is not None}
            final[key] = {"per_seed": {s: {"value": p[1], "ci": [p[2], p[3]]} for s, p in done.items()},
                          "mean": statistics.fmean(p[1] for p in done.values()) if done else None,
                          "complete": len(done) == len(seeds) and bool(seeds)}
        out[name] = {"weights": weights[name], "seeds": seeds, "final": final,
                     "cost": (cost or {}).get("variants", {}).get(name)}
    base = out.get("official", {}).get("final", {})
    for name, v in out.items():
        for key, _, _ in DIRECTIONS:
            m, b = v["final"][key]["mean"], (base.get(key) or {}).get("mean")
            v["final"][key]["delta_vs_official"] = None if m is None or b is None else m - b
    return out


def _num(v, fmt="{:.3f}", signed=False):
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "–"
    return ("{:+.3f}" if signed else fmt).format(v)


def table_rows(summary, flags, domains, decays=None):
    header = ["variant", "flags", f"C2ST {domains['B']} → {domains['A']} (mean; per seed)", "Δ vs official",
              f"C2ST {domains['A']} → {domains['B']} (mean; per seed)", "Δ vs official", "cost / step vs official"]
    rows = []
    for name, v in summary.items():
        decay = (decays or {}).get(name)
        label = " ".join(flags[name] + ([f"(lr decays over the last {decay:.0%} of the steps)"] if decay is not None
                                        else [])) or "(official defaults)"
        cells = [name, label + (" [EMA weights]" if v["weights"] == "ema" else "")]
        for key, _, _ in DIRECTIONS:
            f = v["final"][key]
            seeds = "; ".join(f"{_num(d['value'])}" for _, d in sorted(f["per_seed"].items()))
            cells += [f"{_num(f['mean'])}" + (f" ({seeds})" if seeds else "") + ("" if f["complete"] else " *"),
                      _num(f["delta_vs_official"], signed=True)]
        c = v["cost"]
        cells.append(f"{c['ratio']:.2f}x ({c['step_ms']:.0f} ms)" if c else "–")
        rows.append(cells)
    return header, rows


def markdown(header, rows, notes):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c).replace("|", "\\|") for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n\n" + "\n".join(f"- {n}" for n in notes) + "\n"


TIME_HEADER = ["variant", "seed", "step", "training s", "C2ST {B} → {A}", "KID {B} → {A}", "machine",
               "share of the machine"]


def time_section(variants, weights, runs, records, protocol, domains, budget_s):
    """(view, header, notes) of the quality-against-time view; view["budget"] holds best_within's results."""
    view = timing.time_view(variants, weights, runs, records, protocol["eval_every"])
    header = [h.format(**domains) for h in TIME_HEADER]
    machine = " / ".join(view["machines"]) or "this machine"
    notes = [f"Quality against time: training seconds are wall-clock seconds of each run's training loop (steps, "
             f"data loading, checkpoint saves; not the start-up nor the scoring), added up across resumes, on "
             f"{machine}; 'share' says how many jobs ran at once on how many cores (the sweep's own scoring is one "
             f"job) and the load when the run's process started. KID: of the {domains['B']} → {domains['A']} "
             f"outputs against the held-out {domains['A']}."]
    notes += [f"KID {n}" for n in view["kid_notes"]]
    view["budget"] = None
    if budget_s is not None:
        what = f"{domains['B']} → {domains['A']}"
        c2st, kid = timing.best_within(view["c2st"], budget_s), timing.best_within(view["kid"], budget_s)
        view["budget"] = {"budget_s": budget_s, "c2st_A": c2st, "kid_A": kid}
        notes.append(timing.budget_line(c2st, budget_s, f"C2ST {what} (mean over seeds; lower is better)", machine))
        if any(v for seeds in view["kid"].values() for v in seeds.values()):
            notes.append(timing.budget_line(kid, budget_s, f"KID {what}", machine, "{:.4g}"))
    else:
        notes.append("Give --budget_s T (e.g. 3600) for the line 'best C2ST within T training seconds'.")
    return view, header, notes


def csv_text(header, rows):
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue()


def write_report(out_dir, protocol, variants, flags, weights, runs, records, cost, samples, domains, decays=None,
                 budget_s=None):
    """Write ablation.json, ablation.md, ablation_time.csv and index.html into out_dir; returns the page path.
    decays: {variant: its own lr decay fraction} where it differs from the protocol's; budget_s: the seconds of the
    "best within" line (None: no line)."""
    summary = summarise(variants, weights, runs, records, protocol["steps"], cost, protocol["eval_every"])
    header, rows = table_rows(summary, flags, domains, decays)
    view, time_header, time_notes = time_section(variants, weights, runs, records, protocol, domains, budget_s)
    notes = [f"{protocol['steps']} training steps per variant, seeds {', '.join(map(str, protocol['seeds']))}; "
             f"evaluated every {protocol['eval_every']} steps with cyclegan.metrics.evaluate on {protocol['heldout']} "
             f"at {protocol['eval_size']} px (C2ST {protocol['c2st_steps']} steps x {protocol['folds']} folds, "
             f"seed {protocol['c2st_seed']}); 0.5 = indistinguishable from the real images, lower is better.",
             f"Common training flags: {' '.join(protocol['common']) or '(none)'}.",
             "Variants marked ema are scored with their averaged generators; a variant that differs from another "
             "only by --ema_decay shares its run (the average never changes training).",
             "* = not every seed has reached the last step yet."]
    if cost:
        notes.append(f"Cost per step: mean of {cost['timed_steps']} steps per variant after {cost['warmup']} "
                     f"warm-up steps, in turns in one process, on {cost['device']} with {cost['threads']} "
                     f"thread(s).")
    atomic_write_json(os.path.join(out_dir, "ablation.json"),
                      {"protocol": protocol, "domains": domains, "flags": flags, "summary": summary, "cost": cost,
                       "time": {k: view[k] for k in ("rows", "c2st", "kid", "machines", "budget")},
                       "runs": {r.folder: records.get(r.folder, []) for r in runs}}, indent=1, default=str)
    atomic_write_text(os.path.join(out_dir, "ablation.md"), markdown(header, rows, notes) + "\n## Quality against "
                      "time\n\n" + markdown(time_header, view["rows"], time_notes))
    atomic_write_text(os.path.join(out_dir, "ablation_time.csv"), csv_text(time_header, view["rows"]))
    svgs = []
    for key, src, dst in DIRECTIONS:
        groups = [{"name": name, "mean": mean_curve({s: d[key] for s, d in v["seeds"].items()}),
                   "seeds": {s: d[key] for s, d in v["seeds"].items()}} for name, v in summary.items()]
        title = f"{domains[src]} → {domains[dst]}: C2ST of fake {domains[dst]} vs held-out real ones"
        svgs.append((title, curves_svg(groups, title, ylabel="C2ST balanced accuracy", reference=0.5)))
    title = f"{domains['B']} → {domains['A']}: C2ST against wall-clock training seconds"
    groups = [{"name": name, "mean": timing.mean_by_step(seeds), "seeds": seeds}
              for name, seeds in view["curves"].items()]
    svgs.append((title, curves_svg(groups, title, xlabel="training seconds", ylabel="C2ST balanced accuracy",
                                   reference=0.5)))
    inputs, written = samples
    sections = [(f"held-out {domains['B']} (inputs)", [(p, f"input {i}") for i, p in enumerate(inputs)])] \
        if inputs else []
    sections += [(f"{name}: {domains['B']} → {domains['A']}", [(p, f"{name} {i}") for i, p in enumerate(files)])
                 for name, files in written.items() if all(os.path.isfile(p) for p in files)]
    return write_page(os.path.join(out_dir, "index.html"), f"Ablation {protocol['name']}", sections=sections,
                      tables=[("Final quality and cost", header, rows),
                              ("Quality against time", time_header, view["rows"])],
                      svgs=svgs, notes=notes + time_notes, width=128,
                      tables_first=True)
