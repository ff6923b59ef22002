"""Entry point `cyclegan-c2st` / `python -m cyclegan.c2st REAL_DIR FAKE_DIR [--json] [--folds 5] [--seed 0]`:
the classifier two-sample test of cyclegan.metrics.c2st on two folders; prints the result (text or JSON)."""
import json
import sys

from cyclegan.cli import main_guard
from options.c2st_options import C2STOptions


@main_guard
def main(argv=None):
    opt = C2STOptions().parse(argv)
    from cyclegan.metrics.c2st import c2st
    r = c2st(opt.real_dir, opt.fake_dir, opt.folds, opt.seed, opt.device, opt.num_threads, steps=opt.steps,
             repeats=opt.repeats)
    for path, why in r.skipped:
        print(f"warning: skipped unreadable image {path} ({why})", file=sys.stderr)
    print(json.dumps(r.as_dict()) if opt.json else r)
    return 0


if __name__ == "__main__":
    sys.exit(main())
