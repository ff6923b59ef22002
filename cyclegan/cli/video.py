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
    speed = dict(amp=opt.amp, compile=opt.compile)
    if opt.method == "cyclegan":
        return media.cyclegan_frames(run_dir, opt.epoch, opt.direction, opt.model_suffix, device,
                                     raw=opt.raw_weights, **speed)
    if opt.method == "fast_nst":
        return media.fast_nst_frames(run_dir, opt.epoch, device, **speed)
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
    sampled = (f", over {info['warp_pairs']} pairs: one in {info['warp_every']}" if info.get("warp_every", 1) > 1
               else "")
    return (f"warping error {info['warp_error']:.5f} (the input's own, the flow's floor: "
            f"{info['input_warp_error']:.5f}; {info['warp_valid_fraction']:.0%} of pixels unoccluded{sampled})")


def speed_line(info):
    """The whole command's frames/s beside the styliser's own, each also after compiling when it compiled (the
    rate a longer clip approaches: the compilation is paid once per frame size)."""
    n, styling, compiling = info["frames"], info["stylize_seconds"], info.get("compile_seconds") or 0.0
    after = f", {n / max(info['seconds'] - compiling, 1e-9):.1f} after compiling" if compiling else ""
    line = (f"{info['seconds']:.1f} s ({n / info['seconds']:.1f} frames/s end to end{after}; stylising alone "
            f"{styling:.1f} s, {n / max(styling, 1e-9):.1f} frames/s")
    if compiling:
        line += (f", of which {compiling:.1f} s compiled the generator: "
                 f"{n / max(styling - compiling, 1e-9):.1f} frames/s after it")
    return line + ")"


@main_guard
def main(argv=None):
    from options.video_options import VideoOptions
    opt = VideoOptions().parse(argv)
    from cyclegan.io import atomic_write_json
    from cyclegan.media import stylize_video
    process = build_process(opt, opt.device)
    info = stylize_video(opt.input, opt.output, process, opt.batch_size, opt.max_size, warp_every=opt.warp_every,
                         preset=opt.preset)
    compile_seconds = getattr(process, "compile_seconds", 0.0)  # a Translator's first call per shape
    info.update(input=opt.input, output=opt.output, method=opt.method, name=opt.name, device=str(opt.device),
                batch_size=opt.batch_size, preset=opt.preset, compile_seconds=compile_seconds or None)
    report = os.path.splitext(opt.output)[0] + ".json"
    atomic_write_json(report, info, indent=1)
    ratio = "undefined (a still input, a changing output)" if info["flicker"] is None else f"{info['flicker']:.4f}"
    print(f"wrote {opt.output}: {info['frames']} frames at {info['fps']} fps, {info['size'][0]}x{info['size'][1]}, "
          f"audio {info['audio'] or 'none'}, {speed_line(info)}\n"
          f"flicker {ratio} (mean frame-to-frame change: output {info['output_change']:.4f}, "
          f"input {info['input_change']:.4f})\n{warp_line(info)}; written to {report}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
