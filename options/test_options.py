"""Test options. The architecture (netG, ngf, norm, ...) comes from the run's saved options, so users
never repeat it; a typed flag that contradicts the saved value is an error naming both."""
import os

from cyclegan.models.saved_arch import ARCH_KEYS  # at test time they are taken from train_opt.json
from cyclegan.runs.layout import RunFolder

from .base_options import DEFAULT_RESULTS_DIR, BaseOptions, add_raw_weights_option, apply_seed_rule


class TestOptions(BaseOptions):
    isTrain = False

    def initialize(self, parser):
        p = super().initialize(parser)
        p.add_argument("--results_dir", type=str, default=DEFAULT_RESULTS_DIR, help="saves results here.")
        p.add_argument("--aspect_ratio", type=float, default=1.0, help="aspect ratio of result images")
        p.add_argument("--phase", type=str, default="test", help="train, val, test, etc")
        p.add_argument("--eval", action="store_true", help="use eval mode during test time.")
        p.add_argument("--num_test", type=int, default=None,
                       help="how many test images to run (default: all of them; the official code stopped at 50)")
        p.add_argument("--onnx", default=None,
                       help="translate with this file from cyclegan-export (ONNX Runtime) instead of the run's "
                            "weights; implies --model test")
        p.add_argument("--tile", type=int, default=None,
                       help="--model test: translate in tiles of N pixels with whole-image instance-norm statistics "
                            "(bounded memory, the same result); 0 never; default: only images that would not fit "
                            "the memory budget")
        add_raw_weights_option(p)
        p.add_argument("--overwrite", action="store_true",
                       help="replace a results page in RESULTS_DIR/NAME/PHASE_EPOCH that a different test wrote "
                            "(default: keep it and write this one to PHASE_EPOCH_2, _3, ...)")
        # None: take the model from the run's saved options (cycle_gan), else `test`
        p.set_defaults(model=None, load_size=p.get_default("crop_size"), num_threads=0, no_flip=True,
                       serial_batches=True)
        return p

    def build_parser(self, argv):
        parser = super().build_parser(argv)
        known, _ = parser.parse_known_args([a for a in argv if a not in ("-h", "--help")])
        if known.model is None:
            saved = RunFolder(os.path.join(known.checkpoints_dir, known.name)).options() or {}
            model = "test" if known.onnx else saved.get("model", "test")
            parser.set_defaults(model=model)
            from cyclegan.models import get_option_setter
            get_option_setter(model)(parser, False)
        return parser

    def finish(self, opt):
        if opt.dataroot is None:
            self.parser.error("--dataroot is required: a dataset folder with testA/testB, or (with --model test) "
                              "a folder of images or one image file")
        if opt.onnx and opt.model != "test":
            self.parser.error(f"--onnx runs one generator: use it with --model test, not --model {opt.model}")
        if opt.onnx and not os.path.isfile(opt.onnx):
            self.parser.error(f"--onnx {opt.onnx}: no such file")
        if opt.tile is not None and opt.tile < 0:
            self.parser.error(f"--tile {opt.tile}: give a tile size in pixels (e.g. 512), or 0 for no tiles")
        if opt.model == "test":
            opt.dataset_mode = "single"
        folder = RunFolder(os.path.join(opt.checkpoints_dir, opt.name))
        saved = folder.options()
        if saved and opt.model == "cut" and "direction" not in opt.explicit and "direction" in saved:
            opt.direction = saved["direction"]  # CUT's one generator takes the domain it was trained on
        if saved:
            conflicts = apply_saved_architecture(opt, saved)
            if conflicts:
                self.parser.error(f"options conflict with {folder.options_file()}: " + "; ".join(conflicts)
                                  + ". Drop the flag to use the saved value.")
        apply_seed_rule(opt)


def apply_saved_architecture(opt, saved):
    """Take the saved run's architecture flags into opt; returns the typed flags that contradict it."""
    conflicts = []
    for key in ARCH_KEYS:
        if key not in saved:
            continue
        if key in opt.explicit and getattr(opt, key) != saved[key]:
            conflicts.append(f"--{key} {getattr(opt, key)} was given, but the run was trained with {key}={saved[key]}")
        else:
            setattr(opt, key, saved[key])
    return conflicts
