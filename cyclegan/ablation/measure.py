"""The ablation's measurements: held-out quality of a run's saved generators (cyclegan.metrics.evaluate, the
evaluation of cyclegan-eval and the training curves; KID beside it and the training seconds each point cost, from
timing.py) on the validation split and, given one, the test split (splits.py), sample outputs on the same photos
for every variant, and each variant's cost per training step, timed in turns in one process so load hits all
variants alike."""
import json
import os
import statistics

import torch

from ..data import create_dataloader, create_dataset
from ..errors import MissingFileError
from ..images import save_image
from ..inference import load
from ..io import atomic_write_text
from ..metrics.fid import NOT_COMPUTED
from ..metrics.evaluate import append_jsonl, one_generator_target, read_jsonl, score, translate
from ..models import create_model
from ..models.saved_arch import arch_hint
from ..bench.cyclegan import BatchStream, device_name, time_training  # the benchmark's step timer
from ..runs.layout import RunFolder
from .splits import VAL, belongs
from .timing import KID_KEY, time_of


def arch_of(opt):
    """The generator architecture the training options give (a cut variant's --normG is its norm)."""
    return {k: v for k, v in arch_hint(vars(opt)).items()
            if k in ("netG", "ngf", "norm", "no_dropout", "no_antialias", "no_antialias_up")}


def load_generator(run_dir, arch, epoch, name, kind, device, back=False):
    """The run's generator `name` ('G_A' or 'G_B') as cyclegan-eval loads it (cyclegan.inference, float32,
    uncompiled): its averaged weights for kind 'ema' (an error when the run saved none), the raw ones for 'raw'."""
    tr = load(run_dir, epoch=str(epoch), device=device, generator=name, arch=arch, back=back, amp="none",
              compile=False, raw_weights=kind == "raw")
    if kind == "ema" and not tr.info.get("ema"):
        raise MissingFileError(f"{run_dir}: no averaged generators for epoch {epoch} ({tr.info['files'][0]})")
    return tr


def evaluate_run(run, run_dir, arch, heldout, settings, device, log=print, stopped=lambda: False, kid=None,
                 split=VAL, split_dir=None, only=None):
    """Score every saved evaluation epoch of `run` with each weights kind it needs on `heldout`, skipping what its
    ablate_eval.jsonl already holds for this split (and stopping early when stopped() says so); returns the
    split's records. Each record holds its split ("val"; "test" with split_dir, the test folder), the training
    seconds to its epoch, the machine and its share (timing.time_of) and, from `kid` (a timing.KidScorer), KID
    of the photo -> painting outputs or why it was not computed. A record scored before Inception weights were
    given gets its KID added (the file rewritten), its other numbers kept. only: the (epoch, weights) pairs to
    score (the test split: those the validation split has scored), None for all."""
    path = RunFolder(run_dir).ablate_eval_log()
    everything = read_jsonl(path)  # both splits: a rewrite keeps the other one
    records = [r for r in everything if belongs(r, split, split_dir)]
    done = {(r["epoch"], r["weights"]): r for r in records}
    tag = {"split": split, **({"split_dir": split_dir} if split != VAL else {})}
    label = "" if split == VAL else f", {split}"
    for epoch in run.eval_epochs:
        for kind in sorted({w for _, w in run.variants}):
            if stopped() or (only is not None and (epoch, kind) not in only):
                continue
            if (epoch, kind) in done:
                rec = done[(epoch, kind)]
                if kid is not None and kid.extractor is not None and lacks_kid(rec):
                    rec.update(kid.score(_outputs(run_dir, arch, epoch, kind, heldout, device)["fake_A"]))
                    if rec.get(KID_KEY) is not None:
                        rec.pop(f"{KID_KEY}_note", None)
                    atomic_write_text(path, "".join(json.dumps(r, default=str) + "\n" for r in everything))
                    log(f"  {run.folder} step {rec['step']} ({kind}{label}): KID A "
                        f"{_fmt(rec.get(KID_KEY), '{:.4g}')} added")
                continue
            outputs = _outputs(run_dir, arch, epoch, kind, heldout, device)
            rec = {"epoch": epoch, "step": epoch * run.steps_per_epoch, "weights": kind, "seed": run.seed, **tag,
                   **time_of(run_dir, epoch),
                   **score(outputs, heldout, settings["c2st_seed"], settings["folds"], device,
                           c2st_settings={"steps": settings["c2st_steps"],
                                         "repeats": settings["c2st_repeats"]}),
                   **(kid.score(outputs["fake_A"]) if kid is not None else {})}
            rec = append_jsonl(path, rec)
            records.append(rec)
            everything.append(rec)
            log(f"  {run.folder} step {rec['step']} ({kind}{label}, {_fmt(rec['train_seconds'], '{:.0f} s')}): "
                f"C2ST A {_fmt(rec.get('c2st_A'))}, B {_fmt(rec.get('c2st_B'))}, KID A "
                f"{_fmt(rec.get(KID_KEY), '{:.4g}')}")
    return records


def lacks_kid(rec):
    """Whether a record has no KID only for want of Inception weights (or predates KID)."""
    return rec.get(KID_KEY) is None and (rec.get(f"{KID_KEY}_note") or NOT_COMPUTED).startswith(NOT_COMPUTED)


def _outputs(run_dir, arch, epoch, kind, heldout, device):
    """translate()'s outputs of the run's generators of `epoch` (weights `kind`) on the held-out images."""
    into = one_generator_target(run_dir, epoch)
    tr = load_generator(run_dir, arch, epoch, "G" if into else "G_A", kind, device, back=not into)
    nets = (tr.net, tr.back) if not into else (None, tr.net) if into == "A" else (tr.net, None)
    return translate(*nets, heldout, device)


def _fmt(v, fmt="{:.3f}"):
    return "n/a" if v is None else fmt.format(v)


@torch.no_grad()
def write_samples(run, run_dir, arch, photos, out_dir, device):
    """Translate the same held-out B images with each variant's final B -> A generator (G_B; a cut variant's G,
    trained with --direction BtoA) into out_dir/<variant>/<i>.png; the inputs go to out_dir/input/<i>.png.
    Skips files already there."""
    written = {}
    for variant, kind in run.variants:
        folder = os.path.join(out_dir, variant)
        files = [os.path.join(folder, f"{i}.png") for i in range(len(photos))]
        written[variant] = files
        if all(os.path.isfile(f) for f in files):
            continue
        os.makedirs(folder, exist_ok=True)
        single = one_generator_target(run_dir, run.epochs) is not None
        tr = load_generator(run_dir, arch, run.epochs, "G" if single else "G_B", kind, device)
        for photo, f in zip(photos, files):
            save_image(tr.translate(photo.unsqueeze(0))[0], f)
    inputs = [os.path.join(out_dir, "input", f"{i}.png") for i in range(len(photos))]
    os.makedirs(os.path.join(out_dir, "input"), exist_ok=True)
    for photo, f in zip(photos, inputs):
        if not os.path.isfile(f):
            save_image(photo, f)
    return inputs, written


def measure_cost(variant_opts, steps=16, warmup=2, log=print):
    """Mean ms per training step of each variant ({name: training options}), stepped in turns (order reversed
    every round, so load hits all alike) on the same real batches; {name: {"step_ms", "ratio", "median_ms"}},
    ratio to 'official'. The mean, not the median: a lazy regulariser's every-k-th step is part of the cost
    (time a multiple of --r1_every steps)."""
    models, streams, times = {}, {}, {}
    for name, opt in variant_opts.items():
        torch.manual_seed(opt.seed)
        model = create_model(opt)
        model.configure()
        model.setup(opt, load=False)
        models[name], times[name] = model, []
        if opt.batch_size not in streams:
            loader = create_dataloader(create_dataset(opt), opt.batch_size, shuffle=True, num_workers=0,
                                       seed=opt.seed)
            streams[opt.batch_size] = BatchStream(loader)
    names = list(models)
    for k in range(warmup + steps):
        for name in names if k % 2 == 0 else names[::-1]:
            opt = variant_opts[name]
            step_ms, _ = time_training(models[name], streams[opt.batch_size], 0, 1, opt.device)
            if k >= warmup:
                times[name] += step_ms
    base = statistics.fmean(times["official"])
    device = next(iter(variant_opts.values())).device
    out = {name: {"step_ms": round(statistics.fmean(t), 2), "ratio": round(statistics.fmean(t) / base, 3),
                  "median_ms": round(statistics.median(t), 2), "steps": len(t)} for name, t in times.items()}
    log("cost per step (mean ms, x official): " + ", ".join(f"{n} {v['step_ms']} ({v['ratio']}x)"
                                                              for n, v in out.items()))
    return {"variants": out, "device": device_name(torch.device(device)), "threads": torch.get_num_threads(),
            "timed_steps": steps, "warmup": warmup}
