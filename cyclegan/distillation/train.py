"""Distilling a teacher generator into a small student (cyclegan-distill), read top to bottom.

Per iteration: a batch of square crops of the teacher's input images at the teacher's scale and the frozen teacher's
translations of them (targets.py: a pure function of seed and iteration; the teacher without gradients, run as
cyclegan.load runs it, bf16 weights on CPUs with native bf16; with --reuse_targets R each translation serves R
iterations) -> the student's translation (float32 on CPUs) -> L1 [+ lambda_perc * VGG perceptual] between the two [+
lambda_feat * the mapped activations' MSE (features.py)] [+ lambda_gan * the lsgan term of a discriminator on the
teacher's domain (adversary.py)] -> Adam [-> the discriminator's step], at a rate constant for n_iters iterations,
then falling linearly to zero over n_iters_decay more. Every print_freq: a progress line with the ETA. Every
eval_freq (and at iterations 0 and the last): the student against the teacher on held-out images (heldout.py),
appended to distill_eval.jsonl. At the end, a C2ST of the student's held-out outputs against the teacher's and,
with held-out real images of the teacher's output domain (--real_eval_dir), the C2ST of the student's
and of the teacher's held-out translations against them. Every save_freq, at the end and on SIGINT/SIGTERM: the full
state through runs.checkpoint (student, optimiser, RNG, counters, options) and latest_net_G.pth, which
cyclegan.load, cyclegan-test, cyclegan-video and cyclegan-export take like any generator. --continue_train resumes
exactly. The run folder is locked while training (runs.run_folder.RunLock).
"""
import contextlib
import os
import time

import torch

from ..data.image_folder import make_dataset
from ..data.scan import scan_images
from ..errors import MissingFileError
from ..inference.loading import load_weights
from ..metrics.c2st import DEFAULT_FOLDS, needed_per_class, seeds_text
from ..models import speed
from ..models.generators import define_G
from ..models.schedulers import linear_factor
from ..models.weights import unwrap
from ..perf import resolve_device
from ..runs import checkpoint, run_folder
from ..runs.guards import NanGuard, StopSignal
from ..runs.layout import RunFolder
from .adversary import Adversary
from .features import FeatureMatch
from .heldout import HeldOut, append_score, painting_c2st, read_scores
from .loss import DistillLoss
from .targets import CropSampler, TargetBatches
from .teacher import load_teacher, teacher_output


def train(opt, opt_dict, log=print, on_ready=None, on_saved=None):
    """Distil as `opt` says (options/distill_options.py); returns a summary dict. on_ready() runs once the teacher,
    data and student are loaded, before the first iteration (the command saves its options then, so a run that
    fails to start leaves no run folder behind); on_saved(student, heldout or None, counters, eval_log) after each
    save and after the final scores (the command writes the run's page then; this module imports nothing from
    display)."""
    save_dir = os.path.join(opt.checkpoints_dir, opt.name)
    with run_folder.claimed(save_dir, opt.continue_train, "distillation"):
        return _train(opt, opt_dict, save_dir, log, on_ready, on_saved)


def build_student(opt, teacher_info):
    """The student generator: --netG at --ngf, instance norm, the teacher's channels, normal(0, 0.02) init."""
    return define_G(teacher_info["input_nc"], teacher_info["output_nc"], opt.ngf, opt.netG, "instance", False,
                    "normal", 0.02)


def _train(opt, opt_dict, save_dir, log, on_ready, on_saved):
    device = resolve_device(opt.device)
    teacher, tinfo = load_teacher(opt.teacher, device, opt.amp)  # first: a wrong --teacher fails before anything else
    if not os.path.isdir(opt.photo_dir):
        raise MissingFileError(f"{opt.photo_dir}: no such folder of the teacher's input images")
    photos = scan_images(make_dataset(opt.photo_dir), 0, label=opt.photo_dir)
    cfg = speed.resolve(device.type, opt.amp, False)  # instance norm's channels_last backward is unsafe on CPUs
    torch.manual_seed(opt.seed)
    student = build_student(opt, tinfo).to(device)
    loss_fn = DistillLoss(opt.lambda_perc, opt.vgg_weights, device)
    extra, names, params = {}, loss_fn.names(), list(student.parameters())
    features = FeatureMatch(teacher.net, student, tinfo["input_nc"], device) if opt.lambda_feat > 0 else None
    if features:  # the 1x1 maps learn with the student, in its optimiser
        extra["feature_maps"], names = (features.distiller, None), names + ("feat",)
        params += list(features.distiller.parameters())
    adversary = None
    if opt.lambda_gan > 0:
        reals = scan_images(make_dataset(opt.real_dir), 0, label=opt.real_dir)
        adversary = Adversary(CropSampler(reals, opt.load_size, opt.crop_size, opt.batch_size, opt.seed + 1),
                              tinfo["output_nc"], opt.ndf, opt.lr, device)
        extra["D"], names = (adversary.net, adversary.optimizer), names + ("G_gan", "D")
    run = checkpoint.OneNetRun(save_dir, "G", student, torch.optim.Adam(params, lr=opt.lr, betas=(0.5, 0.999)), extra)
    counters = {"iteration": 0, "seconds": 0.0, "history": {k: [] for k in ("iter",) + names}}
    if opt.continue_train:
        counters = checkpoint.resume_required(run, save_dir, log)
    sampler = CropSampler(photos, opt.load_size, opt.crop_size, opt.batch_size, opt.seed)
    pairs = TargetBatches(sampler, lambda x: teacher_output(teacher, x), device, opt.reuse_targets)
    heldout = HeldOut(opt.eval_dir, opt.load_size, teacher, device, opt.eval_images) if opt.eval_dir else None
    eval_log = RunFolder(save_dir).distill_eval_log()
    n_student = sum(p.numel() for p in student.parameters())
    n_teacher = sum(p.numel() for p in unwrap(teacher.net).parameters())
    log(f"distill: teacher {tinfo['description']} "
        f"({n_teacher / 1e6:.2f} M parameters) -> student {opt.netG}, ngf {opt.ngf} ({n_student / 1e6:.3f} M); "
        f"{len(photos)} images in {opt.photo_dir}, {opt.crop_size} px crops at {opt.load_size} px, "
        f"batch {opt.batch_size}, each teacher translation used {opt.reuse_targets}x; loss L1"
        + (f" + {opt.lambda_perc:g} x VGG" if opt.lambda_perc > 0 else "")
        + (f" + {opt.lambda_feat:g} x features" if features else "")
        + (f" + {opt.lambda_gan:g} x GAN ({len(reals)} real images in {opt.real_dir})" if adversary else "")
        + f"; device {device}, teacher amp {teacher.speed.amp}; held-out: {len(heldout) if heldout else 0} images")

    # the teacher runs as cyclegan.load runs it (bf16 on CPUs with native bf16); the student's step under the
    # speed settings' autocast only on GPUs: on the CPU it measured faster in float32 (docs/distill.md)
    student_cast = cfg.autocast if device.type == "cuda" else contextlib.nullcontext
    guard = NanGuard(names, device)
    started = time.time()
    base_seconds = counters.get("seconds", 0.0)

    def evaluate(it):
        row = {"iteration": it, **heldout.score(student), "seconds": round(base_seconds + time.time() - started, 2)}
        append_score(eval_log, row)
        log(f"held-out, iteration {it}: student vs teacher L1 {row['l1']:.4f}, PSNR {row['psnr']:.2f} dB")

    def save():
        guard.check()  # never a checkpoint from a non-finite step on
        counters["seconds"] = base_seconds + time.time() - started
        checkpoint.save_state(run, ["latest"], counters, opt_dict)
        if on_saved is not None:
            on_saved(student, heldout, counters, eval_log)

    if on_ready is not None:
        on_ready()
    start_iter, last = counters["iteration"], opt.n_iters + opt.n_iters_decay
    optimizers = [run.optimizer] + ([adversary.optimizer] if adversary else [])
    if heldout and start_iter == 0:
        evaluate(0)  # the untrained student: the baseline the later scores are read against
    with StopSignal() as stop:
        for it in range(start_iter + 1, last + 1):
            t0 = time.time()
            factor = linear_factor(it, opt.n_iters, opt.n_iters_decay)  # a function of the iteration: resumes exactly
            for optimizer in optimizers:
                for group in optimizer.param_groups:
                    group["lr"] = opt.lr * factor
            x, target = pairs.pair(it)
            with student_cast():
                out = student(x)
            loss, parts = loss_fn(out, target)
            if features:
                parts["feat"] = features.loss()
                loss = loss + opt.lambda_feat * parts["feat"]
            if adversary:
                parts["G_gan"] = adversary.generator_loss(out)
                loss = loss + opt.lambda_gan * parts["G_gan"]
            parts["total"] = loss.detach()
            run.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            run.optimizer.step()
            if adversary:
                parts["D"] = adversary.step(out, it)
            parts = {k: v.detach() for k, v in parts.items()}
            guard.observe_values([parts[k] for k in names], it)
            counters["iteration"] = it
            if it % opt.print_freq == 0 or it == last:  # the only host syncs of the loop
                values = {k: float(v) for k, v in parts.items()}
                counters["history"]["iter"].append(it)
                for k in names:
                    counters["history"][k].append(values[k])
                rate = (it - start_iter) / max(time.time() - started, 1e-9)
                log(f"iteration {it}/{last}: " + ", ".join(f"{k} {v:.4f}" for k, v in values.items())
                    + f"; {rate:.2f} it/s, {time.time() - t0:.2f} s this one, ETA {_eta((last - it) / rate)}")
            if heldout and ((opt.eval_freq and it % opt.eval_freq == 0) or it == last):
                evaluate(it)
            if it % opt.save_freq == 0 and it < last:  # the end and a stop: saved below
                save()
            if stop.requested:
                log(f"stopped by {stop.requested} at iteration {it}; resume with --continue_train")
                break
    save()
    c2st = final_c2st(heldout, student, opt, eval_log, counters["iteration"], log) if heldout and opt.final_c2st \
        else None
    vs_real = real_c2st(student, opt, device, eval_log, counters["iteration"], log) \
        if heldout and opt.final_c2st and opt.real_eval_dir else None
    if on_saved is not None and (c2st is not None or vs_real is not None):
        on_saved(student, heldout, counters, eval_log)  # the page again, with the final scores
    h = counters["history"]
    return {"iteration": counters["iteration"], "seconds": counters["seconds"],
            "first_loss": h["total"][0] if h["total"] else None, "last_loss": h["total"][-1] if h["total"] else None,
            "net": RunFolder(save_dir).net("latest", "G"), "student_parameters": n_student,
            "teacher_parameters": n_teacher,
            "evals": [r for r in read_scores(eval_log) if "l1" in r] if heldout else [],
            "eval_log": eval_log if heldout else None, "c2st": c2st, "c2st_vs_real": vs_real}


def final_c2st(heldout, student, opt, eval_log, iteration, log):
    """The C2ST of the student's held-out outputs against the teacher's, logged and appended to the eval log (its
    own row: {"iteration", "c2st_vs_teacher", "ci_low", "ci_high", "p_value"}); None with too few images."""
    result = heldout.c2st(student, opt.seed, opt.c2st_repeats)
    if result is None:
        log(f"C2ST student vs teacher skipped: {len(heldout)} held-out images, it needs at least "
            f"{needed_per_class(DEFAULT_FOLDS)} (--eval_images, --eval_dir)")
        return None
    append_score(eval_log, {"iteration": iteration, "c2st_vs_teacher": result.balanced_accuracy,
                            "ci_low": result.ci_low, "ci_high": result.ci_high, "p_value": result.p_value,
                            "c2st_repeats": opt.c2st_repeats})
    log(f"student vs teacher on {len(heldout)} held-out images: {result} (0.5: indistinguishable)")
    return result.balanced_accuracy


def real_c2st(student, opt, device, eval_log, iteration, log):
    """{"student", "teacher"}: each one's C2ST against the held-out real images (--real_eval_dir), the teacher
    loaded again in float32 as training's quality curves ran it; appended to the eval log as its own row."""
    teacher32, _ = load_weights(opt.teacher)
    scores = painting_c2st(opt.real_eval_dir, opt.eval_dir, opt.load_size, {"student": student, "teacher": teacher32},
                           device, opt.eval_images, opt.seed, opt.c2st_repeats)
    if None in scores.values():
        log(f"C2ST against real images skipped: too few held-out images in {opt.real_eval_dir} or {opt.eval_dir}")
        return None
    append_score(eval_log, {"iteration": iteration, "c2st_vs_real_student": scores["student"],
                            "c2st_vs_real_teacher": scores["teacher"], "c2st_repeats": opt.c2st_repeats})
    seeds = f"; {seeds_text(opt.seed, opt.c2st_repeats)}" if opt.c2st_repeats > 1 else ""
    log(f"against the held-out real images of {opt.real_eval_dir}: C2ST student {scores['student']:.3f}, teacher "
        f"{scores['teacher']:.3f} (difference {scores['student'] - scores['teacher']:+.3f}{seeds})")
    return scores


def _eta(seconds):
    seconds = int(round(seconds))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
