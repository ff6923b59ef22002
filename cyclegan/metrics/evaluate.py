"""The one quality evaluation of a pair of CycleGAN generators on a fixed held-out set, used by the
training-time quality curves (--eval_freq), `cyclegan-eval` and the comparison harness's C2ST column.

translate() runs the generators (quick; the caller's device and thread); score() does the slow part
(C2ST in both directions, colour distance, cycle L1) on CPU tensors, so it can run in a background
thread. Every number says which direction it is: A -> B fakes are judged against real B.
  c2st_B        C2ST balanced accuracy of G_A(real A) vs real B (0.5 = indistinguishable, lower is better)
  color_B       mean sliced-Wasserstein colour distance (Lab) of G_A(real A) to the real B pixels (lower is better)
  cycle_l1_A    mean |G_B(G_A(a)) - a| in [0, 1] units (lower is better)
and the same with A and B swapped.
"""
import json
import math
import os
import statistics
from dataclasses import dataclass

import torch

from ..errors import MissingFileError
from ..images import load_image
from ..inference.loading import saved_settings
from ..inference.translator import Translator
from ..runs.layout import RunFolder
from .c2st import DEFAULT_FOLDS, C2STError, c2st, needed_per_class
from .color import color_distance, pool_lab_pixels
from .image_tensors import list_images

DEFAULT_EVAL_MAX = 100  # held-out images per domain (--eval_max of training and cyclegan-eval)
KEYS = ("c2st_A", "c2st_B", "color_A", "color_B", "cycle_l1_A", "cycle_l1_B")


@dataclass
class HeldOut:
    """Held-out images of both domains as lists of (3, H, W) tensors in [0, 1], and what was skipped."""
    A: list
    B: list
    dir_A: str
    dir_B: str
    skipped: list


def heldout_dirs(dataroot=None, eval_dir=None):
    """(dir_A, dir_B): eval_dir/{testA,testB} or eval_dir/{A,B} when eval_dir is given, else dataroot/testA+testB."""
    for root in ([eval_dir] if eval_dir else [dataroot]):
        for a, b in (("testA", "testB"), ("A", "B")):
            if root and os.path.isdir(os.path.join(root, a)) and os.path.isdir(os.path.join(root, b)):
                return os.path.join(root, a), os.path.join(root, b)
    where = f"--eval_dir {eval_dir}" if eval_dir else f"--dataroot {dataroot}"
    raise MissingFileError(f"{where}: no held-out set; the quality evaluation needs testA/ and testB/ (or A/ and "
                            f"B/) folders of images there; pass --eval_dir DIR with them (training: or --eval_freq 0)")


def load_heldout(dir_A, dir_B, size=256, max_images=None):
    """Load both folders (longest side `size`, sides multiples of 4 as the generators need); unreadable
    files are skipped and listed as [path, reason]."""
    out, skipped = {}, []
    for key, folder in (("A", dir_A), ("B", dir_B)):
        imgs = []
        for path in list_images(folder)[:max_images]:
            try:
                imgs.append(load_image(path, longest=size, multiple=4))
            except Exception as e:  # noqa: BLE001 - skipped and named, like training does
                skipped.append([str(path), f"{type(e).__name__}: {e}"])
        out[key] = imgs
    return HeldOut(out["A"], out["B"], str(dir_A), str(dir_B), skipped)


@torch.no_grad()
def translate(G_A, G_B, heldout, device="cpu"):
    """Run G_A on real A and G_B on real B and each output back through the other generator. One of them None (a
    model with one generator: CUT): only the other one runs, with no cycle.

    Generators map [-1, 1] -> [-1, 1] (as trained) and run through the Translator's one forward (float32);
    they are put in eval mode and restored after.
    Returns {"fake_B": [...], "fake_A": [...], "cycle_l1_A": float, "cycle_l1_B": float} on the CPU (empty
    fakes of the missing generator and None cycles with one generator)."""
    nets = [G for G in (G_A, G_B) if G is not None]
    modes = [G.training for G in nets]
    for G in nets:
        G.eval()
    t_A = Translator.wrap(G_A, device) if G_A is not None else None
    t_B = Translator.wrap(G_B, device) if G_B is not None else None
    out = {"fake_A": [], "fake_B": [], "cycle_l1_A": None, "cycle_l1_B": None}
    try:
        for src, fwd, back, fake_key, cyc_key in ((heldout.A, t_A, G_B, "fake_B", "cycle_l1_A"),
                                                  (heldout.B, t_B, G_A, "fake_A", "cycle_l1_B")):
            if fwd is None:
                continue
            fakes, l1 = [], []
            for img in src:
                x = img.unsqueeze(0).to(device) * 2 - 1
                y = fwd.forward(x)
                if back is not None:
                    l1.append(float((fwd.forward(y, back) - x).abs().mean()) / 2)
                fakes.append(((y[0].float() + 1) / 2).clamp(0, 1).cpu())
            out[fake_key], out[cyc_key] = fakes, (statistics.fmean(l1) if l1 else None)
    finally:
        for G, mode in zip(nets, modes):
            G.train(mode)
    return out


def one_generator_target(run_dir, epoch):
    """For a run with one generator ({epoch}_net_G.pth and no G_A: cut), the domain it translates into as the
    dataset names them ('A' when it trained with --direction BtoA, else 'B'); None for a CycleGAN run. The
    caller then passes it as G_B (into A) or G_A (into B) to translate()."""
    run = RunFolder(run_dir)
    if run.has_net(epoch, "G_A") or not run.has_net(epoch, "G"):
        return None
    return "A" if saved_settings(run_dir).get("direction") == "BtoA" else "B"


def score(outputs, heldout, seed=0, folds=DEFAULT_FOLDS, device=None, num_threads=None, c2st_settings=None):
    """C2ST both ways, colour distance and cycle L1 from translate()'s outputs; a dict of KEYS plus the
    C2ST intervals and p-values (c2st_B_ci, c2st_B_p, ...; with repeats each one's figure, c2st_B_each) and notes
    for what could not be computed."""
    rec, notes = {"cycle_l1_A": outputs["cycle_l1_A"], "cycle_l1_B": outputs["cycle_l1_B"]}, []
    for dom, real, fake in (("B", heldout.B, outputs["fake_B"]), ("A", heldout.A, outputs["fake_A"])):
        if not fake:  # one generator (CUT): nothing translated into this domain
            rec[f"c2st_{dom}"] = None
            notes.append(f"C2ST {dom}: not computed (the model has one generator, into the other domain)")
            continue
        try:
            r = c2st(real, fake, folds=folds, seed=seed, device=device, num_threads=num_threads,
                     **(c2st_settings or {}))
            rec[f"c2st_{dom}"], rec[f"c2st_{dom}_ci"], rec[f"c2st_{dom}_p"] = \
                r.balanced_accuracy, [r.ci_low, r.ci_high], r.p_value
            if r.per_repeat:  # --c2st_repeats: each classifier seed's figure beside their mean
                rec[f"c2st_{dom}_each"] = r.per_repeat
        except C2STError as e:
            rec[f"c2st_{dom}"] = None
            notes.append(f"C2ST {dom}: not computed ({e})")
        if real and fake:
            rec[f"color_{dom}"] = float(color_distance(fake, pool_lab_pixels(real)).mean())
    rec["n_A"], rec["n_B"] = len(heldout.A), len(heldout.B)
    if notes:
        rec["notes"] = notes
    return rec


def evaluate_generators(G_A, G_B, heldout, device="cpu", seed=0, folds=DEFAULT_FOLDS, num_threads=None,
                        c2st_settings=None):
    """translate() then score(): the whole evaluation in the caller's thread."""
    return score(translate(G_A, G_B, heldout, device), heldout, seed, folds, device, num_threads, c2st_settings)


def check_heldout_size(heldout, folds=DEFAULT_FOLDS):
    """Raise C2STError when the held-out set is too small for the C2ST (both domains)."""
    need = needed_per_class(folds)
    small = [f"{d} has {len(imgs)}" for d, imgs in ((heldout.dir_A, heldout.A), (heldout.dir_B, heldout.B))
             if len(imgs) < need]
    if small:
        raise C2STError(f"held-out set too small for the C2ST with {folds} folds (needs {need} images per domain): "
                        + "; ".join(small))


def append_jsonl(path, record):
    """Append one JSON line (a line is written in one call, so a reader never sees half of it); returns the
    record as a reader will get it back."""
    line = json.dumps(record, default=str)
    with open(path, "a") as f:
        f.write(line + "\n")
    return json.loads(line)


def read_jsonl(path):
    """The records of a JSON-lines file; a torn last line (a crash mid-write) is ignored."""
    out = []
    if not os.path.isfile(path):
        return out
    with open(path) as f:
        for line in f:
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return out


def format_table(records):
    """A plain-text table of evaluation records (one row per epoch)."""
    cols = ("epoch",) + KEYS
    lines = ["  ".join(f"{c:>10}" for c in cols)]
    for r in records:
        cells = []
        for c in cols:
            v = r.get(c)
            cells.append(f"{v:>10.4g}" if isinstance(v, float) and math.isfinite(v) else f"{str(v):>10}")
        lines.append("  ".join(cells))
    return "\n".join(lines)
