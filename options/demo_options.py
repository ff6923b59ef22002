"""Options of cyclegan-demo: the local web demo (cyclegan/webdemo). Its limits' defaults are the library's
(cyclegan.webdemo.Limits), so the page, the API and the flags agree."""
from cyclegan.perf import resolve_device
from cyclegan.webdemo import Limits

from .base_options import Options

DEFAULT_PORT = 7860
LOG_LEVELS = ("warning", "info", "debug")


class DemoOptions(Options):
    prog = "cyclegan-demo"
    description = ("A local web page to try the models found under --checkpoints_dir (CycleGAN runs in either "
                   "direction, official generators, fast-NST runs) and Gatys on your own photos, side by side; "
                   "POST /api/stylize for scripts (docs/demo.md).")

    def initialize(self, p):
        p.add_argument("--checkpoints_dir", default="./checkpoints",
                       help="folder whose run folders are offered as models (default: ./checkpoints)")
        p.add_argument("--host", default="127.0.0.1",
                       help="address to listen on (default: 127.0.0.1, this machine only; 0.0.0.0 opens the demo "
                            "to the network)")
        p.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"(default: {DEFAULT_PORT})")
        p.add_argument("--styles_dir", default=None,
                       help="paintings offered for Gatys: its image files, and its sub-folders pooled (default: none; "
                            "the page can upload paintings)")
        p.add_argument("--weights", default=None,
                       help="VGG19 weights file for Gatys (default: torchvision's cache, never downloaded; the page "
                            "says where to put the file when it is missing)")
        p.add_argument("--device", default="auto", help="auto (a GPU when there is one), cpu, cuda or cuda:N "
                                                        "(default: auto)")
        p.add_argument("--workers", type=int, default=1, help="jobs run at once (default: 1)")
        p.add_argument("--max_queue", type=int, default=8,
                       help="jobs that may wait; more are refused with 429 (default: 8)")
        g = p.add_argument_group("limits")
        d = Limits()
        g.add_argument("--max_upload_mb", type=float, default=d.max_upload_mb,
                       help=f"size of one request, every file together (default: {d.max_upload_mb:g})")
        g.add_argument("--max_pixels", type=int, default=d.max_pixels,
                       help=f"pixels of one image, read from its header before decoding (default: {d.max_pixels})")
        g.add_argument("--max_side", type=int, default=d.max_side,
                       help=f"longest side of any result; larger photos are scaled down (default: {d.max_side})")
        g.add_argument("--max_files", type=int, default=d.max_files,
                       help=f"photos or videos in one request (default: {d.max_files})")
        g.add_argument("--max_gatys_iters", type=int, default=d.max_gatys_iters,
                       help=f"Gatys iterations one request may ask for (default: {d.max_gatys_iters})")
        g.add_argument("--max_video_frames", type=int, default=d.max_video_frames,
                       help=f"frames of one video; 0 turns videos off (default: {d.max_video_frames})")
        p.add_argument("--log_level", default="info", choices=LOG_LEVELS, help="the server's log (default: info)")
        return p

    def finish(self, opt):
        p = self.parser
        try:
            opt.device = resolve_device(opt.device)
        except (ValueError, RuntimeError) as e:
            p.error(f"--device {opt.device}: {e}")
        if not 1 <= opt.port <= 65535:
            p.error(f"--port {opt.port}: give a port number from 1 to 65535")
        for flag in ("workers", "max_queue", "max_upload_mb", "max_pixels", "max_side", "max_files",
                     "max_gatys_iters"):
            low = 16 if flag == "max_side" else (0 if flag == "max_queue" else 1)
            if getattr(opt, flag) < low:
                p.error(f"--{flag} must be at least {low}, got {getattr(opt, flag)}")
        if opt.max_video_frames < 0:
            p.error(f"--max_video_frames must be 0 (no videos) or more, got {opt.max_video_frames}")
        opt.limits = Limits(opt.max_upload_mb, opt.max_pixels, opt.max_side, opt.max_files, opt.max_gatys_iters,
                            opt.max_video_frames)
        return opt
