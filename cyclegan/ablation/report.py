"""The ablation's outputs: ablation.json (every record), ablation.md (the table) and index.html (the table,
quality-against-steps curves with every seed and its C2ST interval, cost per step, sample outputs), and the
quality-against-time view: per arm C2ST and KID against wall-clock training seconds (a table, also in
ablation_time.csv, and a curve), with the line "best within --budget_s T seconds" (timing.py), and each arm's
checkpoint chosen on validation. Every choice reads the validation records only; with a test split (--test_dir,
splits.py) each chosen number has its test score beside it."""
import csv
import io
import math
import os
import statistics

from ..display.curves import curves_svg
from ..display.html import write_page
from ..io import atomic_write_json, atomic_write_text
from ..metrics.c2st import seeds_text
from . import splits, timing

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


def summarise(variants, weights, runs, records, total_steps, cost, eval_every=None, test=None):
    """{variant: {"seeds": {seed: {key: [(step, v, lo, hi)]}}, "final": {...}, "cost": ...}}; only records at
    multiples of eval_every count (a resumed sweep may hold others). records: the validation split's; test (a
    splits.ScoresOnTest): the final entries get "test": the same seeds' test scores at the last step."""
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
            if test is not None and test.given:
                vals = {s: test.value(name, s, total_steps, key) for s in seeds}
                vals = {s: v for s, v in vals.items() if v is not None}
                final[key]["test"] = {"per_seed": vals, "mean": statistics.fmean(vals.values()) if vals else None}
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


def _mean_and_seeds(mean, per_seed, complete=True):
    seeds = "; ".join(_num(v) for _, v in sorted(per_seed.items()))
    return _num(mean) + (f" ({seeds})" if seeds else "") + ("" if complete else " *")


def table_rows(summary, flags, domains, decays=None, with_test=False):
    """The final-quality table; with_test: each direction's validation column has a test column beside it."""
    header = ["variant", "flags"]
    for _, src, dst in DIRECTIONS:
        what = f"C2ST {domains[src]} → {domains[dst]}"
        header += [f"{what} on validation (mean; per seed)", "Δ vs official", f"{what} on test (mean; per seed)"] \
            if with_test else [f"{what} (mean; per seed)", "Δ vs official"]
    header.append("cost / step vs official")
    rows = []
    for name, v in summary.items():
        decay = (decays or {}).get(name)
        label = " ".join(flags[name] + ([f"(lr decays over the last {decay:.0%} of the steps)"] if decay is not None
                                        else [])) or "(official defaults)"
        cells = [name, label + (" [EMA weights]" if v["weights"] == "ema" else "")]
        for key, _, _ in DIRECTIONS:
            f = v["final"][key]
            cells += [_mean_and_seeds(f["mean"], {s: d["value"] for s, d in f["per_seed"].items()}, f["complete"]),
                      _num(f["delta_vs_official"], signed=True)]
            if with_test:
                t = f.get("test") or {"mean": None, "per_seed": {}}
                cells.append(_mean_and_seeds(t["mean"], t["per_seed"]))
        c = v["cost"]
        cells.append(f"{c['ratio']:.2f}x ({c['step_ms']:.0f} ms)" if c else "–")
        rows.append(cells)
    return header, rows


def best_line(summary, domains, test_given):
    """The best variant on validation (lowest mean C2ST B → A at the last step), with its test score."""
    means = {n: v["final"]["c2st_A"]["mean"] for n, v in summary.items() if v["final"]["c2st_A"]["mean"] is not None}
    if not means:
        return None, "Best variant on validation: none scored at the last step yet."
    best = min(means, key=means.get)
    test = summary[best]["final"]["c2st_A"].get("test", {}).get("mean")
    return best, (f"Best variant on validation (mean C2ST {domains['B']} → {domains['A']} at the last step): {best} "
                  f"{_num(means[best])}" + (f"; on the test split {_num(test)}." if test_given else "."))


def chosen_section(summary, test, domains):
    """(choice, header, rows, notes): each arm's checkpoint chosen on validation (its lowest C2ST B → A),
    with the same checkpoint's test score beside it when a test split is given."""
    choice = splits.chosen_checkpoints({n: {s: d["c2st_A"] for s, d in v["seeds"].items()}
                                        for n, v in summary.items()})
    test.attach(choice, "c2st_A")
    what = f"C2ST {domains['B']} → {domains['A']}"
    header = ["variant", "seed", "chosen step", f"{what} on validation"] + ([f"{what} on test"] if test.given else [])
    rows = []
    for name, d in choice["per_variant"].items():
        for seed, p in sorted(d["per_seed"].items()):
            rows.append([name, seed, p["step"], _num(p["value"])] + ([_num(p.get("test"))] if test.given else []))
    notes = [f"Checkpoint per arm: the scored step with the lowest validation {what}; a pick on the split that "
             f"chose it flatters it" + (", its test score does not." if test.given else " (give --test_dir).")]
    if choice["ranking"]:
        best = choice["per_variant"][choice["ranking"][0]]
        notes.append(f"Best variant at its chosen checkpoints (mean over seeds): {choice['ranking'][0]} "
                     f"{_num(best['mean'])}" + (f"; on the test split {_num(best.get('test_mean'))}." if test.given
                                                else "."))
    return choice, header, rows, notes


def markdown(header, rows, notes):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c).replace("|", "\\|") for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n\n" + "\n".join(f"- {n}" for n in notes) + "\n"


TIME_HEADER = ["variant", "seed", "step", "training s", "C2ST {B} → {A}", "KID {B} → {A}", "machine",
               "share of the machine"]


def time_section(variants, weights, runs, records, protocol, domains, budget_s, test=None):
    """(view, header, notes) of the quality-against-time view; view["budget"] holds best_within's results, chosen
    on the validation records, with the test scores of the same points when `test` (splits.ScoresOnTest) has some."""
    test = test or splits.ScoresOnTest(runs, weights)
    view = timing.time_view(variants, weights, runs, records, protocol["eval_every"], test)
    header = [h.format(**domains) for h in TIME_HEADER]
    if test.given:  # each score on validation, then the same checkpoint's on test
        header[4:6] = [header[4] + " validation", header[4] + " test", header[5] + " validation", header[5] + " test"]
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
        c2st = test.attach(timing.best_within(view["c2st"], budget_s), "c2st_A")
        kid = test.attach(timing.best_within(view["kid"], budget_s), timing.KID_KEY)
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
                 budget_s=None, test_records=None):
    """Write ablation.json, ablation.md, ablation_time.csv and index.html into out_dir; returns the page path.
    records: {run folder: validation records}, the only ones any choice reads; test_records: {run folder: the test
    split's records} (protocol["test_dir"], ["test_heldout"]), None without a test split. decays: {variant: its
    own lr decay fraction} where it differs from the protocol's; budget_s: the seconds of the "best within" line
    (None: no line)."""
    test = splits.ScoresOnTest(runs, weights, test_records)
    summary = summarise(variants, weights, runs, records, protocol["steps"], cost, protocol["eval_every"], test)
    header, rows = table_rows(summary, flags, domains, decays, test.given)
    best, best_note = best_line(summary, domains, test.given)
    choice, chosen_header, chosen_rows, chosen_notes = chosen_section(summary, test, domains)
    view, time_header, time_notes = time_section(variants, weights, runs, records, protocol, domains, budget_s, test)
    notes = [f"{protocol['steps']} training steps per variant, seeds {', '.join(map(str, protocol['seeds']))}; "
             f"evaluated every {protocol['eval_every']} steps with cyclegan.metrics.evaluate on {protocol['heldout']} "
             f"at {protocol['eval_size']} px (C2ST {protocol['c2st_steps']} steps x {protocol['folds']} folds, "
             f"{seeds_text(protocol['c2st_seed'], protocol['c2st_repeats'])}); 0.5 = indistinguishable from the real images, lower is better."]
    eval_dir = protocol["eval_dir"] or protocol["dataroot"]
    if test.given:
        notes.append(f"Chosen on {eval_dir}, reported on {protocol['test_dir']}: every choice (the best variant, "
                     f"each arm's checkpoint, the budget line) reads the validation split ({protocol['heldout']}) "
                     f"only; the test split ({protocol['test_heldout']}) played no part in any choice, and its "
                     f"scores of the same checkpoints stand beside them.")
    else:
        notes.append(f"Chosen and reported on {eval_dir}: no --test_dir, so the numbers that chose are the ones "
                     f"reported (flattering the choice); see docs/recipes.md, Protocol.")
    notes += [best_note,
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
                       "best": best, "chosen": choice,
                       "time": {k: view[k] for k in ("rows", "c2st", "kid", "machines", "budget")},
                       "runs": {r.folder: records.get(r.folder, []) for r in runs},
                       **({"test_runs": {r.folder: test_records.get(r.folder, []) for r in runs}} if test.given
                          else {})}, indent=1, default=str)
    atomic_write_text(os.path.join(out_dir, "ablation.md"), markdown(header, rows, notes) + "\n## Quality against "
                      "time\n\n" + markdown(time_header, view["rows"], time_notes) + "\n## Checkpoint chosen per "
                      "arm\n\n" + markdown(chosen_header, chosen_rows, chosen_notes))
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
                              ("Quality against time", time_header, view["rows"]),
                              ("Checkpoint chosen per arm on validation", chosen_header, chosen_rows)],
                      svgs=svgs, notes=notes + time_notes + chosen_notes, width=128,
                      tables_first=True)
