"""Entry point `cyclegan-compare`: CycleGAN vs Gatys on the same held-out photos, side by side.

    cyclegan-compare --name vangogh2photo_cyclegan --photos datasets/vangogh2photo/testB \
        --style datasets/vangogh2photo/testA --num 10 --image_size 256
"""
import os
import sys

from cyclegan.cli import main_guard
from cyclegan.comparison.run import CompareSettings, compare
from options.compare_options import CompareOptions, given_arch


@main_guard
def main(argv=None):
    opt = CompareOptions().parse(argv)
    run_dir = os.path.join(opt.checkpoints_dir, opt.name)
    arch = given_arch(opt)
    gatys = {"stylizer": dict(backbone=opt.backbone, weights=opt.weights, content_layers=opt.content_layers,
                              style_layers=opt.style_layers, style_layer_weights=opt.style_layer_weights,
                              pooling=opt.pooling, style_loss=opt.style_loss),
             "run": dict(content_weight=opt.content_weight, style_weight=opt.style_weight, tv_weight=opt.tv_weight,
                         init=opt.init, optimizer=opt.optimizer, num_iters=opt.num_iters, lr=opt.lr,
                         seed=opt.seed, preserve_color=opt.preserve_color),
             "style_size": max(16, round(opt.image_size * opt.style_scale))}
    heldout = opt.heldout_paintings or (os.path.join(opt.dataroot, "testA") if opt.dataroot and
                                        os.path.isdir(os.path.join(opt.dataroot, "testA")) else None)
    settings = CompareSettings(
        name=opt.name, run_dir=run_dir, photos_dir=opt.photos, styles=opt.style,
        out_dir=os.path.join(opt.results_dir, f"compare_{opt.name}"), arch=arch, gatys=gatys, num=opt.num,
        image_size=opt.image_size, style_mode=opt.style_mode, epoch=opt.epoch, direction=opt.direction,
        model_suffix=opt.model_suffix, dataroot=opt.dataroot, heldout=heldout, inception_weights=opt.inception_weights,
        classifier_settings={"epochs": opt.classifier_epochs} if opt.classifier_epochs else None,
        seed=opt.seed, device=opt.device, overwrite=opt.overwrite, reference_dir=opt.reference,
        raw_weights=opt.raw_weights,
        fast_nst_dir=os.path.join(opt.checkpoints_dir, opt.fast_nst) if opt.fast_nst else None,
        cut_dir=os.path.join(opt.checkpoints_dir, opt.cut) if opt.cut else None)
    page, summary = compare(settings)
    for method, s in summary.items():
        print(f"{method:>16}: " + ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                                             for k, v in s.items()))
    print(f"comparison page: {os.path.abspath(page)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
