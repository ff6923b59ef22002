"""Entry point `cyclegan-eval` / `python -m cyclegan.evaluate`: the held-out quality evaluation (the one
used for the training curves) of a saved run, at one or more epochs; prints a table and writes JSON.

    cyclegan-eval --name vangogh2photo_cyclegan --dataroot ./datasets/vangogh2photo --epoch 5,10,latest

A CUT run (--model cut: one generator) is scored in the one direction it translates (no cycle L1).
"""
import os
import sys

from cyclegan.cli import main_guard
from cyclegan.runs.layout import RunFolder
from options.eval_options import EvalOptions


def saved_epochs(run_dir):
    """Epochs with both generators saved (a CUT run: its one generator), numbers first (ascending), then latest."""
    run = RunFolder(run_dir)
    found = set(run.generator_pairs()) or {label for label in run.labels() if run.has_net(label, "G")}
    return sorted(found, key=lambda e: (not e.isdigit(), int(e) if e.isdigit() else 0, e))


@main_guard
def main(argv=None):
    opt = EvalOptions().parse(argv)
    from cyclegan.errors import MissingFileError
    from cyclegan.inference import load
    from cyclegan.metrics.evaluate import (check_heldout_size, evaluate_generators, format_table, heldout_dirs,
                                           load_heldout, one_generator_target)
    epochs = saved_epochs(opt.run_dir) if opt.epoch == "all" else [e.strip() for e in opt.epoch.split(",")]
    device = opt.device
    dir_A, dir_B = heldout_dirs(opt.dataroot, opt.eval_dir)
    heldout = load_heldout(dir_A, dir_B, opt.image_size, opt.eval_max)
    for path, why in heldout.skipped:
        print(f"warning: skipped unreadable image {path} ({why})", file=sys.stderr)
    check_heldout_size(heldout, opt.folds)
    records = []
    for epoch in epochs:
        # G_A, and G_B as its back (their EMA files unless --raw_weights); uncompiled: each image runs once, so
        # compiling would cost more than it saves; float32, as the training-time curves
        into = one_generator_target(opt.run_dir, epoch)  # a CUT run: "A" or "B"
        tr = load(opt.run_dir, epoch=epoch, device=device, generator="G" if into else "G_A", arch=opt.arch,
                  back=not into, amp="none", compile=False, raw_weights=opt.raw_weights)
        nets = (tr.net, tr.back) if not into else (None, tr.net) if into == "A" else (tr.net, None)
        if not into and tr.back is None:
            raise MissingFileError(f"{RunFolder(opt.run_dir).net(epoch, 'G_B')} not found: cyclegan-eval needs both "
                                   f"generators of a cycle_gan run")
        rec = {"epoch": epoch, "weights": [os.path.basename(f) for f in tr.info["files"]],
               **evaluate_generators(*nets, heldout, device, opt.seed, opt.folds,
                                     c2st_settings={"steps": opt.c2st_steps, "repeats": opt.c2st_repeats})}
        records.append(rec)
        print(f"epoch {epoch}: done", flush=True)
    print(format_table(records))
    out = {"name": opt.name, "run_dir": opt.run_dir, "heldout_A": dir_A, "heldout_B": dir_B, "seed": opt.seed,
           "c2st_repeats": opt.c2st_repeats, "folds": opt.folds, "image_size": opt.image_size, "results": records}
    from cyclegan.io import atomic_write_json
    atomic_write_json(opt.json_out, out, indent=1, default=str)
    print(f"wrote {opt.json_out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
