"""Options of `cyclegan-export`: a trained generator (a CycleGAN run's, or a fast-NST run's) as an ONNX file."""
import os

from cyclegan.inference import DIRECTIONS

from .base_options import Options, add_checkpoints_dir_option, add_raw_weights_option


class ExportOptions(Options):
    prog = "cyclegan-export"
    description = ("Export a generator to ONNX (dynamic batch, height and width), checked with ONNX Runtime against "
                   "PyTorch on real images of several shapes before it is written.")

    def initialize(self, parser):
        p = parser
        p.add_argument("--name", required=True, help="the run under --checkpoints_dir (CycleGAN or fast NST)")
        add_checkpoints_dir_option(p)
        p.add_argument("--direction", default=None, choices=DIRECTIONS,
                       help="which generator of a CycleGAN run (default: photo2painting); runs with one generator "
                            "(fast NST, a pretrained latest_net_G.pth) have no choice")
        p.add_argument("--epoch", default="latest", help="which saved weights (default: latest)")
        add_raw_weights_option(p)
        p.add_argument("--output", required=True, help="the .onnx file to write")
        p.add_argument("--check_images", default=None,
                       help="a folder (or one file) of images to check the export on (default: the run's "
                            "DATAROOT/testB and testA from its train_opt.json)")
        p.add_argument("--tolerance", type=float, default=1e-3,
                       help="largest accepted |onnxruntime - pytorch| in [-1, 1] units (default: 1e-3)")
        p.add_argument("--overwrite", action="store_true", help="replace an existing --output")
        return p

    def finish(self, opt):
        if not opt.output.lower().endswith(".onnx"):
            self.parser.error(f"--output {opt.output}: end it in .onnx")
        if os.path.exists(opt.output) and not opt.overwrite:
            self.parser.error(f"--output {opt.output} exists; pass --overwrite to replace it or choose another name")
        if opt.check_images and not os.path.exists(opt.check_images):
            self.parser.error(f"--check_images {opt.check_images}: no such file or folder")
        opt.run_dir = os.path.join(opt.checkpoints_dir, opt.name)
        if not os.path.isdir(opt.run_dir):
            self.parser.error(f"--name {opt.name}: no run folder {opt.run_dir} (check --checkpoints_dir)")
