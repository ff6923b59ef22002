"""Options of cyclegan-video: stylise a video with a CycleGAN run, a fast-NST run or Gatys per frame.
Gatys's loss and backbone flags keep their cyclegan-gatys names (options/gatys_options.py)."""
import argparse
import os

from cyclegan.media import FORMATS
from cyclegan.media.video import DEFAULT_PRESET, PRESETS

from .base_options import (Options, add_inference_speed_options, add_load_options, add_seed_option, apply_seed_rule,
                           check_lowest)
from .fast_nst_options import add_run_options
from .gatys_options import add_loss_options, add_weights_options, check_layer_options

METHODS = ("cyclegan", "fast_nst", "gatys")


class VideoOptions(Options):
    prog = "cyclegan-video"
    description = ("Stylise a video frame by frame, keeping its frame rate and audio; prints and saves a flicker "
                   "measure and the warping error (OUTPUT with .json instead of its video suffix).")

    def initialize(self, parser):
        p = parser
        p.add_argument("--input", required=True, help="the video file")
        p.add_argument("--method", required=True, choices=METHODS,
                       help="cyclegan: a trained CycleGAN run (--name); fast_nst: a cyclegan-fast-nst run (--name); "
                            "gatys: optimisation per frame against --style")
        add_run_options(p, name_required=False)
        p.add_argument("--output", default=None,
                       help=f"output video, one of {', '.join(FORMATS)} (default: "
                            f"./results/video/INPUT_METHOD[_NAME].mp4)")
        p.add_argument("--max_size", type=int, default=None,
                       help="longest side of the output frames in pixels (default: the input's size)")
        p.add_argument("--batch_size", type=int, default=None,
                       help="frames stylised at once (default: 8 on a GPU, 1 on the CPU, where larger batches of "
                            "video frames measured slower: docs/video.md)")
        p.add_argument("--warp_every", type=int, default=1,
                       help="score the warping error on one consecutive pair of frames in this many (default: 1, "
                            "every pair). Its two optical flows per pair cost more than a small generator's frame on "
                            "a CPU: real-time runs measure a regular sample, e.g. 24 (a pair a second at 24 fps)")
        p.add_argument("--preset", default=DEFAULT_PRESET, choices=PRESETS,
                       help=f"libx264's speed preset for .mp4 .m4v .mov .mkv (default: {DEFAULT_PRESET}; x264's own is "
                            f"medium, 2.4x slower here for a 1%% smaller file). Real time on 2 cores: superfast")
        add_load_options(p)
        add_inference_speed_options(p)
        p.add_argument("--overwrite", action="store_true", help="replace an existing --output")
        g = p.add_argument_group("gatys (same names as cyclegan-gatys)")
        g.add_argument("--style", default=None, help="a painting, or a folder of paintings pooled (domain mode)")
        g.add_argument("--num_iters", type=int, default=100, help="L-BFGS iterations per frame (default: 100)")
        g.add_argument("--temporal_init", action=argparse.BooleanOptionalAction, default=True,
                       help="start each frame from the previous stylised frame (default: on)")
        add_seed_option(g, "Gatys's random weights and MMD samples")
        add_loss_options(g)
        add_weights_options(p)
        return p

    def finish(self, opt):
        p = self.parser
        if opt.method in ("cyclegan", "fast_nst") and not opt.name:
            p.error(f"--method {opt.method} needs --name: the run under --checkpoints_dir to use")
        if opt.method == "gatys":
            for flag, value in (("--amp", opt.amp), ("--compile", opt.compile)):
                if value is not None:
                    p.error(f"{flag} applies to --method cyclegan and fast_nst (a saved generator); Gatys optimises "
                            f"each frame, drop {flag}")
            if not opt.style:
                p.error("--method gatys needs --style: a painting or a folder of paintings")
            if not os.path.exists(opt.style):
                p.error(f"--style {opt.style}: no such image file or folder")
            check_layer_options(opt, p)
        check_lowest(p, opt, {"max_size": 16, "batch_size": 1, "num_iters": 1, "warp_every": 1})
        if opt.batch_size is None:
            opt.batch_size = 8 if opt.device.type == "cuda" else 1
        if opt.output is None:
            stem = os.path.splitext(os.path.basename(opt.input))[0]
            opt.output = os.path.join("./results/video", f"{stem}_{opt.method}" + (f"_{opt.name}" if opt.name else "")
                                      + ".mp4")
        if os.path.splitext(opt.output)[1].lower() not in FORMATS:
            p.error(f"--output {opt.output}: end it in one of {', '.join(FORMATS)}")
        if os.path.exists(opt.output) and not opt.overwrite:
            p.error(f"--output {opt.output} exists; pass --overwrite to replace it or choose another name")
        return apply_seed_rule(opt)
