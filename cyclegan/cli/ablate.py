"""Entry point `cyclegan-ablate` / `python -m cyclegan.ablate`: the training-recipe ablation (cyclegan/ablation).

    cyclegan-ablate --dataroot datasets/vangogh2photo --name recipes --variants official,ema,fast \\
        --seeds 1,2 --steps 2080 --parallel 2 -- --load_size 72 --crop_size 64 --ngf 32 --ndf 32 --amp bf16
"""
import sys

from cyclegan.cli import main_guard


@main_guard
def main(argv=None):
    from options.ablate_options import AblateOptions
    opt = AblateOptions().parse(argv)
    from cyclegan.ablation import Sweep, SweepInterrupted, SweepSettings
    from cyclegan.ablation.timing import TimeSettings
    from options.train_options import TrainOptions
    settings = SweepSettings(
        name=opt.name, out_dir=opt.out_dir, dataroot=opt.dataroot, variants=opt.variant_list, seeds=opt.seed_list,
        steps=opt.steps, eval_every=opt.eval_every, common=opt.common, decay=opt.decay, eval_dir=opt.eval_dir,
        test_dir=opt.test_dir,
        eval_size=opt.eval_size, eval_max=opt.eval_max, c2st_steps=opt.c2st_steps, folds=opt.folds,
        c2st_seed=opt.c2st_seed, c2st_repeats=opt.c2st_repeats, samples=opt.samples, parallel=opt.parallel,
        threads=opt.threads,
        cost_steps=opt.cost_steps, device=str(opt.device), report_only=opt.report_only, order=opt.order,
        train=opt.train_list,
        **vars(TimeSettings.from_opt(opt)))
    try:
        page = Sweep(settings, lambda args: TrainOptions().parse(args), log=lambda m: print(m, flush=True)).run()
    except SweepInterrupted as e:  # not an error: the runs saved their state, the same command resumes
        print(str(e), file=sys.stderr)
        return 130
    print(f"report: {page}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
