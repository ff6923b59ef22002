"""Command line: distil a trained generator into a small, fast student (`cyclegan-distill`,
`python -m cyclegan.distill`).

    cyclegan-distill --teacher checkpoints/vangogh2photo/latest_net_G_B.pth --dataroot datasets/vangogh2photo \
        --name vangogh_student [--netG mobile_resnet_9blocks] [--ngf 16] [--n_iters 1000]

The work is in cyclegan.distillation; this file turns flags into the call and prints the summary (docs/distill.md).
"""
import os
import sys

from cyclegan.cli import main_guard
from options.base_options import save_options
from options.distill_options import PHASE, DistillOptions


@main_guard
def main(argv=None):
    opt = DistillOptions().parse(argv)
    from cyclegan.display.distill import write_distill_page
    from cyclegan.distillation import train
    from cyclegan.distillation.heldout import read_scores
    from cyclegan.perf import device_name
    run_dir = os.path.join(opt.checkpoints_dir, opt.name)

    def page(student, heldout, counters, eval_log):
        write_distill_page(run_dir, opt.name, student, heldout, counters, read_scores(eval_log))

    summary = train(opt, dict(vars(opt), device=str(opt.device)),
                    on_ready=lambda: save_options(opt, run_dir, PHASE, echo=False), on_saved=page)
    evals = summary["evals"]
    scores = ""
    if evals:
        first, last = evals[0], evals[-1]
        scores = (f"\nheld-out, student vs teacher: L1 {first['l1']:.4f} -> {last['l1']:.4f}, PSNR "
                  f"{first['psnr']:.2f} -> {last['psnr']:.2f} dB (iterations {first['iteration']} -> "
                  f"{last['iteration']}; {summary['eval_log']})")
        if summary["c2st"] is not None:
            scores += f"; C2ST student vs teacher {summary['c2st']:.3f} (0.5: indistinguishable)"
        if summary["c2st_vs_real"] is not None:
            r = summary["c2st_vs_real"]
            scores += f"; C2ST against real images: student {r['student']:.3f}, teacher {r['teacher']:.3f}"
    from cyclegan.bench.distill import summary as cost
    c = cost(opt.teacher, summary["net"])
    scores += (f"\ncost at 256 px on {device_name('cpu')}, {c['precision']}: teacher {c['teacher_gmacs']:.2f} GMAC, "
               f"{c['teacher_images_per_s']:.2f} images/s; student {c['student_gmacs']:.3f} GMAC "
               f"({c['macs_ratio']:.1f}x fewer), {c['student_images_per_s']:.2f} images/s ({c['speedup']:.1f}x the "
               f"teacher; full figures: cyclegan-benchmark distill)")
    print(f"distilled {summary['iteration']} iterations in {summary['seconds']:.1f} s; loss "
          f"{summary['first_loss']:.4g} -> {summary['last_loss']:.4g}; student "
          f"{summary['student_parameters'] / 1e6:.3f} M parameters, teacher "
          f"{summary['teacher_parameters'] / 1e6:.2f} M{scores}\npage: {os.path.join(run_dir, 'web', 'index.html')}"
          f"\nstudent: {summary['net']} (cyclegan.load, "
          f"cyclegan-test, cyclegan-video, cyclegan-export take it; speed: cyclegan-benchmark distill)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
