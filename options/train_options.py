"""Training options: display, saving and optimisation flags, with the official defaults."""
import os

from cyclegan.models.losses import GAN_MODES
from cyclegan.models.schedulers import LR_POLICIES
from cyclegan.display.settings import SHARED as SHARED_DISPLAY_FLAGS, DisplaySettings
from cyclegan.models.temporal import TEMPORAL_HELP

from cyclegan.models import find_model_class
from cyclegan.runs.layout import RunFolder
from cyclegan.training.quality import QualitySettings

from .base_options import BaseOptions, apply_seed_rule, explicit_flags
from .recipe_options import apply_recipe


class TrainOptions(BaseOptions):
    isTrain = True

    def build_parser(self, argv):
        return apply_recipe(super().build_parser(argv), argv)  # --recipe NAME: its flags as defaults

    def model_presets(self, parser, model, argv):
        """As BaseOptions, and on --continue_train the model gets the run's saved options and the typed flags, so a
        resumed run keeps its mode and settings (BaseModel.apply_presets)."""
        known, _ = parser.parse_known_args(argv)
        saved = RunFolder(os.path.join(known.checkpoints_dir, known.name)).options() if known.continue_train else None
        saved = saved if saved and saved.get("model") == model else None
        find_model_class(model).apply_presets(parser, known, True, saved, explicit_flags(parser, argv))

    def initialize(self, parser):
        p = super().initialize(parser)
        # the training display: visdom, the HTML page, TensorBoard (declared in cyclegan/display/settings.py)
        DisplaySettings.add_arguments(self.display_group, skip=SHARED_DISPLAY_FLAGS)
        # saving and loading
        p.add_argument("--save_latest_freq", type=int, default=5000, help="frequency of saving the latest results")
        p.add_argument("--save_epoch_freq", type=int, default=5, help="frequency of saving checkpoints at the end of epochs")
        p.add_argument("--save_by_iter", action="store_true", help="whether saves model by iteration")
        p.add_argument("--continue_train", action="store_true", help="continue training: load the latest model")
        p.add_argument("--epoch_count", type=int, default=1,
                       help="the starting epoch count (with --continue_train it comes from the checkpoint)")
        p.add_argument("--overwrite", action="store_true",
                       help="train into a --name that already holds a run: the old run (or the later epochs a "
                            "--continue_train --epoch_count start would overwrite) is moved to NAME.old-<timestamp>")
        p.add_argument("--resume_from", type=str, default=None,
                       help="with --continue_train: resume from this full-state file (e.g. an older N_state.pth "
                            "when latest_state.pth is damaged; by default the newest readable one is used)")
        p.add_argument("--phase", type=str, default="train", help="train, val, test, etc")
        # quality curves on a held-out set (declared in cyclegan/training/quality.py)
        QualitySettings.add_arguments(p.add_argument_group("quality curves on held-out images"))
        # training parameters
        p.add_argument("--n_epochs", type=int, default=100, help="number of epochs with the initial learning rate")
        p.add_argument("--n_epochs_decay", type=int, default=100, help="number of epochs to linearly decay learning rate to zero")
        p.add_argument("--beta1", type=float, default=0.5, help="momentum term of adam")
        p.add_argument("--lr", type=float, default=0.0002, help="initial learning rate for adam")
        p.add_argument("--gan_mode", type=str, default="lsgan", choices=GAN_MODES,
                       help="the type of GAN objective; wgangp adds the gradient penalty; hinge: the hinge loss")
        p.add_argument("--pool_size", type=int, default=50, help="the size of image buffer that stores previously generated images")
        p.add_argument("--lr_policy", type=str, default="linear", choices=LR_POLICIES,
                       help="learning rate policy")
        p.add_argument("--cuda_graph", action="store_true",
                       help="capture the training step in a CUDA graph and replay it (CUDA only; off by default until "
                            "a GPU run has verified it, see docs/gpu.md). Stays off, with a one-line reason, "
                            "under DDP, with --compile or with images of varying size")
        p.add_argument("--lr_decay_iters", type=int, default=50, help="multiply by a gamma every lr_decay_iters epochs (step policy)")
        p.add_argument("--lambda_temporal", type=float, default=0.0,
                       help=TEMPORAL_HELP + "; CycleGAN keeps its style better with a *_nearest --netG (docs/video.md)")
        return p

    def finish(self, opt):
        if opt.dataroot is None:
            self.parser.error("--dataroot is required: a folder with trainA/ and trainB/ "
                              "(get one with: bash scripts/download_cyclegan_dataset.sh vangogh2photo)")
        if opt.lambda_temporal < 0:
            self.parser.error(f"--lambda_temporal must be 0 (off) or positive, got {opt.lambda_temporal}")
        resumed = RunFolder(os.path.join(opt.checkpoints_dir, opt.name)).options() if opt.continue_train else None
        apply_seed_rule(opt, resumed)
        if opt.eval_freq is None:  # measured on 2 CPU cores: epochs 34 s -> 57-77 s while a C2ST scored beside them
            opt.eval_freq = 5 if opt.device.type == "cuda" else 0
        if not opt.display_env:
            opt.display_env = opt.name
        if opt.tensorboard_dir is None:
            opt.tensorboard_dir = os.path.join(opt.checkpoints_dir, opt.name)
