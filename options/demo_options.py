"""Options of cyclegan-demo: the local web demo (cyclegan/webdemo). Its limits' defaults are the library's
(cyclegan.webdemo.Limits), so the page, the API and the flags agree."""
from cyclegan.webdemo import Limits

from .base_options import Options, add_checkpoints_dir_option, add_device_option, check_lowest

DEFAULT_PORT = 7860
LOG_LEVELS = ("warning", "info", "debug")
LIMIT_FLAGS = (("max_upload_mb", float, "size of one request, every file together"),
               ("max_pixels", int, "pixels of one image, read from its header before decoding"),
               ("max_side", int, "longest side of any result; larger photos are scaled down"),
               ("max_files", int, "photos or videos in one request"),
               ("max_gatys_iters", int, "Gatys iterations one request may ask for"),
               ("max_video_frames", int, "frames of one video; 0 turns videos off"))
LOWEST = {"workers": 1, "max_queue": 0, "max_upload_mb": 1, "max_pixels": 1, "max_side": 16, "max_files": 1,
          "max_gatys_iters": 1, "max_video_frames": 0}


class DemoOptions(Options):
    prog = "cyclegan-demo"
    description = ("A local web page to try the models found under --checkpoints_dir (CycleGAN runs in either "
                   "direction, official generators, fast-NST runs) and Gatys on your own photos, side by side; "
                   "POST /api/stylize for scripts (docs/demo.md).")

    def initialize(self, p):
        add_checkpoints_dir_option(p)  # its run folders are the models offered
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
        add_device_option(p, "runs the models and Gatys")
        p.add_argument("--workers", type=int, default=1, help="jobs run at once (default: 1)")
        p.add_argument("--max_queue", type=int, default=8,
                       help="jobs that may wait; more are refused with 429 (default: 8)")
        g = p.add_argument_group("limits")
        defaults = Limits()
        for name, kind, what in LIMIT_FLAGS:
            value = getattr(defaults, name)
            g.add_argument(f"--{name}", type=kind, default=value, help=f"{what} (default: {value:g})")
        p.add_argument("--log_level", default="info", choices=LOG_LEVELS, help="the server's log (default: info)")
        return p

    def finish(self, opt):
        p = self.parser
        if not 1 <= opt.port <= 65535:
            p.error(f"--port {opt.port}: give a port number from 1 to 65535")
        check_lowest(p, opt, LOWEST)
        opt.limits = Limits(**{name: getattr(opt, name) for name, _, _ in LIMIT_FLAGS})
        return opt
