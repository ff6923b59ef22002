"""Command line: Gatys et al. neural style transfer (`cyclegan-gatys`, `python -m cyclegan.gatys`).

    cyclegan-gatys --content photo.jpg --style starry.jpg [--style wheat.jpg --style_blend 0.7,0.3] --output DIR

All the work is in cyclegan.nst; this file turns flags into plain values (errors: cyclegan.cli.main_guard).
"""
import sys

from cyclegan.cli import main_guard
from cyclegan.display.progress import Progress
from cyclegan.nst import run_files
from options.gatys_options import GatysOptions


@main_guard
def main(argv=None):
    opt = GatysOptions().parse(argv)
    path, stats = run_files(
        opt.content, opt.style, opt.output, blend=opt.style_blend, image_size=opt.image_size,
        style_scale=opt.style_scale, backbone=opt.backbone, weights=opt.weights,
        content_layers=opt.content_layers, style_layers=opt.style_layers,
        style_layer_weights=opt.style_layer_weights, pooling=opt.pooling, style_loss=opt.style_loss,
        content_weight=opt.content_weight, style_weight=opt.style_weight, tv_weight=opt.tv_weight,
        init=opt.init, optimizer=opt.optimizer, num_iters=opt.num_iters, lr=opt.lr, seed=opt.seed,
        preserve_color=opt.preserve_color, save_every=opt.save_every, device=opt.device,
        progress=lambda total, desc: Progress(total, desc=desc, unit="it"))  # plain lines in logs
    final = stats.final
    print(f"saved {path}  ({stats.iterations} iterations, {stats.evaluations} evaluations, {stats.wall_s:.1f} s; "
          f"loss {final.get('total', float('nan')):.4g} = content {final.get('content', float('nan')):.4g}, "
          f"style {final.get('style', float('nan')):.4g}, tv {final.get('tv', float('nan')):.4g} before weighting)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
