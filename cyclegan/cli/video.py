"""Command line: stylise a video (`cyclegan-video`, `python -m cyclegan.video`).

    cyclegan-video --input clip.mp4 --method fast_nst --name starry [--output out.mp4] [--max_size 512]
    cyclegan-video --input clip.mp4 --method gatys --style starry.jpg --num_iters 50 --temporal_init

The work is in cyclegan.media; this file builds the chosen method's frame styliser and reports the flicker and the
warping error (cyclegan.metrics.warp).
"""
import os
import sys

from cyclegan.cli import main_guard


def build_process(opt, device):
    """The frame styliser for opt.method (see cyclegan.media.stylizers)."""
    from cyclegan import media
    run_dir = os.path.join(opt.checkpoints_dir, opt.name or "")
    if opt.method == "cyclegan":
        return media.cyclegan_frames(run_dir, opt.epoch, opt.direction, opt.model_suffix, device,
                                     raw=opt.raw_weights)
    if opt.method == "fast_nst":
        return media.fast_nst_frames(run_dir, opt.epoch, device)
    import torch
    from cyclegan.nst import Stylizer, load_image
    from cyclegan.nst.fast_train import style_paths
    torch.manual_seed(opt.seed)
    st = Stylizer(opt.backbone, opt.weights, opt.content_layers, opt.style_layers, opt.style_layer_weights,
                  opt.pooling, opt.style_loss, device)
    targets = st.style_targets([load_image(p, opt.max_size or 512) for p in style_paths(opt.style)])
    return media.gatys_frames(st, targets, opt.temporal_init, content_weight=opt.content_weight,
                              style_weight=opt.style_weight, tv_weight=opt.tv_weight, num_iters=opt.num_iters,
                              seed=opt.seed)


def warp_line(info):
    if info["warp_error"] is None:
        return "warping error undefined (fewer than two frames, or no pixel matched between them)"
    return (f"warping error {info['warp_error']:.5f} (the input's own, the flow's floor: "
            f"{info['input_warp_error']:.5f}; {info['warp_valid_fraction']:.0%} of pixels unoccluded)")


@main_guard
def main(argv=None):
    from options.video_options import VideoOptions
    opt = VideoOptions().parse(argv)
    from cyclegan.io import atomic_write_json
    from cyclegan.media import stylize_video
    info = stylize_video(opt.input, opt.output, build_process(opt, opt.device), opt.batch_size, opt.max_size)
    info.update(input=opt.input, output=opt.output, method=opt.method, name=opt.name, device=str(opt.device))
    report = os.path.splitext(opt.output)[0] + ".json"
    atomic_write_json(report, info, indent=1)
    ratio = "undefined (a still input, a changing output)" if info["flicker"] is None else f"{info['flicker']:.4f}"
    print(f"wrote {opt.output}: {info['frames']} frames at {info['fps']} fps, {info['size'][0]}x{info['size'][1]}, "
          f"audio {info['audio'] or 'none'}, {info['seconds']:.1f} s ({info['frames'] / info['seconds']:.1f} "
          f"frames/s end to end; stylising alone {info['stylize_seconds']:.1f} s, "
          f"{info['frames'] / max(info['stylize_seconds'], 1e-9):.1f} frames/s)\n"
          f"flicker {ratio} (mean frame-to-frame change: output {info['output_change']:.4f}, "
          f"input {info['input_change']:.4f})\n{warp_line(info)}; written to {report}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
