"""Command line: the local web demo (`cyclegan-demo`, `python -m cyclegan.demo`).

    cyclegan-demo [--checkpoints_dir ./checkpoints] [--host 127.0.0.1] [--port 7860] [--styles_dir DIR]

Open http://127.0.0.1:7860/, drop photos, pick models and methods, compare; Ctrl-C stops it and removes its
temporary folder. The work is in cyclegan.webdemo (docs/demo.md); this file turns flags into its config.
"""
import sys

from cyclegan.cli import main_guard


@main_guard
def main(argv=None):
    from options.demo_options import DemoOptions
    opt = DemoOptions().parse(argv)
    from cyclegan.webdemo import DemoConfig, serve
    config = DemoConfig(checkpoints_dir=opt.checkpoints_dir, styles_dir=opt.styles_dir, weights=opt.weights,
                        device=opt.device, host=opt.host, workers=opt.workers, max_queue=opt.max_queue,
                        limits=opt.limits)
    return serve(config, opt.port, opt.log_level)


if __name__ == "__main__":
    sys.exit(main())
