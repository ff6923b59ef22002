"""Quality against wall-clock time in the ablation: what each scored point records besides its step (the training
seconds spent to reach it, the machine, how the machine was shared), KID beside the C2ST, and the pure functions
of the report's quality-vs-seconds view and its "best within T seconds" line.

Seconds come from the run's train_time.jsonl, which the training loop appends at every end-of-epoch save (its
counters carry the seconds through a resume). How a training process shared the machine comes from the run's
ablate_launches.jsonl, one line per process the sweep started: --parallel N jobs at once (the sweep's own scoring
counting as one) on C cores, --threads per job, and the 1-minute load average when it started.

The view and its line choose on the validation split's points only; a test split's scores of the same points are
shown beside them (splits.py).
"""
import copy
import datetime
import os
import statistics
from dataclasses import dataclass

from ..metrics.evaluate import append_jsonl, read_jsonl
from ..metrics.fid import InceptionFeatures, InceptionWeightsMissing, kid_from_features
from ..perf import device_name
from ..runs.layout import RunFolder
from ..settings import Settings, flag

KID_KEY = "kid_A"  # KID of the photo -> painting outputs (G_B on held-out B) against the held-out A images


@dataclass(frozen=True)
class TimeSettings(Settings):
    """cyclegan-ablate's flags of the quality-against-time view."""
    inception_weights: str | None = flag(
        None, "Inception v3 weights file for KID beside the C2ST (pytorch-fid's or torchvision's, as cyclegan-fid "
              "takes; default: the one in torch's hub cache, else KID is 'not computed')", metavar="FILE")
    budget_s: float | None = flag(
        None, "the report's line 'best C2ST and KID within T training seconds per arm' (e.g. 3600: one CPU hour)",
        type=float, metavar="T")


def record_launch(run_dir, parallel, threads, device, resumed):
    """Append how this training process shares the machine to the run's ablate_launches.jsonl; returns it."""
    os.makedirs(run_dir, exist_ok=True)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    rec = {"started": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
           "parallel": parallel, "cores": os.cpu_count(), "threads": threads, "load_1m": load,
           "machine": device_name(device), "resumed": resumed}
    return append_jsonl(RunFolder(run_dir).ablate_launch_log(), rec)


def time_of(run_dir, epoch):
    """{"train_seconds", "machine", "share"} of a saved epoch: the seconds of its last train_time.jsonl line (a
    resumed run may have written an epoch twice) and the launches that trained up to it. Seconds None when the
    run predates the log (trained by an older version)."""
    folder = RunFolder(run_dir)
    times = [t for t in read_jsonl(folder.train_time_log()) if t.get("epoch") == epoch]
    launches = read_jsonl(folder.ablate_launch_log())
    last = times[-1] if times else {}
    return {"train_seconds": last.get("train_seconds"), "machine": last.get("machine"),
            "share": [{k: ln.get(k) for k in ("parallel", "cores", "threads", "load_1m")} for ln in launches]}


def describe_share(share):
    """'2 sweep jobs at once on 2 cores, 1 thread(s) each, load 0.4 at start' (one per distinct launch), or
    'unknown'. The sweep's jobs: its trainings and its own scoring; the load counts every process on the machine."""
    if not share:
        return "unknown"
    parts = []
    for s in share:
        load = "" if s.get("load_1m") is None else f", load {s['load_1m']:.1f} at start"
        parts.append(f"{s.get('parallel')} sweep job(s) at once on {s.get('cores')} cores, {s.get('threads')} "
                     f"thread(s) each{load}")
    return "; then ".join(dict.fromkeys(parts))


class KidScorer:
    """KID of a run's photo -> painting outputs against the held-out paintings, with the Inception weights of
    cyclegan.metrics.fid (a file given, else the one in torch's hub cache). Without weights every score is
    {"kid_A": None, "kid_A_note": "not computed: no Inception weights (...)"}: never random weights unasked."""

    def __init__(self, weights, reference, device="cpu"):
        self.note, self.extractor, self._ref = None, None, None
        try:
            self.extractor = InceptionFeatures(weights, device)
        except InceptionWeightsMissing as e:
            self.note = str(e)
        self.reference = reference

    def with_reference(self, reference):
        """A scorer against other real images (the test split's) sharing these Inception weights."""
        other = copy.copy(self)
        other.reference, other._ref = reference, None
        return other

    @property
    def label(self):
        return self.extractor.label if self.extractor else self.note

    def score(self, fakes):
        if self.extractor is None:
            return {KID_KEY: None, f"{KID_KEY}_note": self.note}
        if not fakes:
            return {KID_KEY: None, f"{KID_KEY}_note": "not computed: the model translates into the other domain only"}
        if self._ref is None:
            self._ref = self.extractor(self.reference)
        mean, std = kid_from_features(self.extractor(fakes), self._ref)
        return {KID_KEY: mean, f"{KID_KEY}_std": std, "kid_weights": f"{self.extractor.path.name}: {self.label}"}


def time_points(records, kind, key):
    """[(train_seconds, step, value)] of one run's records of one weights kind, by step; points without seconds
    are left out."""
    pts = [(r["train_seconds"], r["step"], r.get(key)) for r in records
           if r["weights"] == kind and r.get("train_seconds") is not None]
    return sorted(pts, key=lambda p: p[1])


def best_within(points, budget_s):
    """The best of each variant within `budget_s` training seconds. points: {variant: {seed: [(seconds, step,
    value)]}}. Per seed the last point at or before budget_s (its value, even None, counts: no later point may
    stand in); per variant the mean over the seeds that have one with a value. Returns {"per_variant": {variant:
    {"mean", "per_seed": {seed: {"seconds", "step", "value"}}, "seeds_without": [seeds with no point in time]}},
    "ranking": [variants by mean, lowest (best C2ST or KID) first; those without a mean left out]}."""
    out = {}
    for variant, seeds in points.items():
        per_seed, missing = {}, []
        for seed, pts in seeds.items():
            within = [p for p in sorted(pts, key=lambda p: (p[0], p[1])) if p[0] <= budget_s]
            if within:
                per_seed[seed] = {"seconds": within[-1][0], "step": within[-1][1], "value": within[-1][2]}
            else:
                missing.append(seed)
        vals = [d["value"] for d in per_seed.values() if d["value"] is not None]
        out[variant] = {"mean": statistics.fmean(vals) if vals else None, "per_seed": per_seed,
                        "seeds_without": missing}
    ranking = sorted((v for v in out if out[v]["mean"] is not None), key=lambda v: out[v]["mean"])
    return {"per_variant": out, "ranking": ranking}


def budget_line(result, budget_s, what, machine, fmt="{:.3f}"):
    """One sentence answering "which variant gives the best `what` within budget_s seconds on `machine`"; with a
    test split (splits.ScoresOnTest.attach) each variant's test score of the same points follows its own."""
    head = f"Best {what} within {budget_s:g} training seconds per arm on {machine}"
    if not result["ranking"]:
        return f"{head}: none (no arm was scored at or before {budget_s:g} s)."
    parts = []
    for v in result["ranking"]:
        d = result["per_variant"][v]
        at = ", ".join(f"seed {s}: step {p['step']} at {p['seconds']:.0f} s" for s, p in sorted(d["per_seed"].items()))
        lacking = f"; no point in time for seed(s) {', '.join(map(str, d['seeds_without']))}" if d["seeds_without"] \
            else ""
        test = ("" if "test_mean" not in d else
                f", test {'–' if d['test_mean'] is None else fmt.format(d['test_mean'])}")
        parts.append(f"{v} {fmt.format(d['mean'])}{test} ({at}{lacking})")
    return f"{head}: {parts[0]}" + (f"; then {'; '.join(parts[1:])}" if parts[1:] else "") + "."


def kid_cell(rec):
    """A record's KID as a table shows it: the number, or why there is none."""
    if rec.get(KID_KEY) is not None:
        return f"{rec[KID_KEY]:.4g}"
    note = rec.get(f"{KID_KEY}_note")
    if note and note.startswith("not computed: no Inception weights"):
        return "not computed (no Inception weights)"
    return "not computed" if note else "–"


def time_view(variants, weights, runs, records, eval_every=None, test=None):
    """Per arm (variant x seed), every scored point by step: {"rows": [[variant, seed, step, seconds, c2st, kid,
    machine, share]] (with a test split, a splits.ScoresOnTest: [..., c2st, test c2st, kid, test kid, ...]), "c2st":
    {variant: {seed: [(seconds, step, c2st_A)]}}, "kid": the same with KID, "curves": {variant: {seed: [(seconds,
    c2st_A, lo, hi)]}}, "machines": [names], "kid_notes": [reasons]}. records: the validation split's only."""
    out = {"rows": [], "c2st": {}, "kid": {}, "curves": {}, "machines": [], "kid_notes": []}
    for name in variants:
        for run in runs:
            if not any(n == name for n, _ in run.variants):
                continue
            recs = sorted((r for r in records.get(run.folder, []) if r["weights"] == weights[name]
                           and (not eval_every or r["step"] % eval_every == 0)), key=lambda r: r["step"])
            out["c2st"].setdefault(name, {})[run.seed] = time_points(recs, weights[name], "c2st_A")
            out["kid"].setdefault(name, {})[run.seed] = [p for p in time_points(recs, weights[name], KID_KEY)
                                                         if p[2] is not None]
            out["curves"].setdefault(name, {})[run.seed] = [
                (r["train_seconds"], r.get("c2st_A"), *(r.get("c2st_A_ci") or [None, None])[:2])
                for r in recs if r.get("train_seconds") is not None]
            for r in recs:
                machine = r.get("machine") or "unknown"
                out["machines"] += [machine] if machine not in out["machines"] else []
                note = r.get(f"{KID_KEY}_note")
                out["kid_notes"] += [note] if note and note not in out["kid_notes"] else []
                secs = r.get("train_seconds")
                c2st, kid = ["–" if r.get("c2st_A") is None else f"{r['c2st_A']:.3f}"], [kid_cell(r)]
                if test is not None and test.given:  # the same checkpoint's scores on the test split
                    t = test.record(name, run.seed, r["step"]) or {}
                    c2st.append("–" if t.get("c2st_A") is None else f"{t['c2st_A']:.3f}")
                    kid.append(kid_cell(t) if t else "–")
                out["rows"].append([name, run.seed, r["step"], "–" if secs is None else f"{secs:.1f}", *c2st, *kid,
                                    machine, describe_share(r.get("share"))])
    return out


def mean_by_step(per_seed):
    """[(mean seconds, mean value)] over the seeds at each point index (the seeds' points are at the same steps)."""
    longest = max((len(p) for p in per_seed.values()), default=0)
    out = []
    for i in range(longest):
        pts = [p[i] for p in per_seed.values() if len(p) > i and p[i][1] is not None]
        if pts:
            out.append((statistics.fmean(p[0] for p in pts), statistics.fmean(p[1] for p in pts)))
    return out
