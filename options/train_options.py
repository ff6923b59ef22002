"""Training options: display, saving and optimisation flags, with the official defaults."""
import os
import sys

from cyclegan.display.settings import SHARED as SHARED_DISPLAY_FLAGS, DisplaySettings
from cyclegan.models.settings import LossSettings, ScheduleSettings
from cyclegan.models.speed import SpeedSettings
from cyclegan.runs.settings import SaveSettings

from cyclegan.models import apply_presets
from cyclegan.models.recipe import crop_note
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
        apply_presets(model, parser, known, True, saved, explicit_flags(parser, argv))

    def initialize(self, parser):
        p = super().initialize(parser)
        # the training display: visdom, the HTML page, TensorBoard (declared in cyclegan/display/settings.py)
        DisplaySettings.add_arguments(self.display_group, skip=SHARED_DISPLAY_FLAGS)
        # saving and loading (cyclegan/runs/settings.py)
        SaveSettings.add_arguments(p)
        # quality curves on a held-out set (declared in cyclegan/training/quality.py)
        QualitySettings.add_arguments(p.add_argument_group("quality curves on held-out images"))
        # training parameters (cyclegan/models/settings.py, speed.py)
        ScheduleSettings.add_arguments(p, skip=("lr_policy", "lr_decay_iters"))
        LossSettings.add_arguments(p, only=("gan_mode", "pool_size"))
        ScheduleSettings.add_arguments(p, only=("lr_policy",))
        SpeedSettings.add_arguments(p, only=SpeedSettings.TRAINING_ONLY)
        ScheduleSettings.add_arguments(p, only=("lr_decay_iters",))
        LossSettings.add_arguments(p, only=("lambda_temporal",))
        return p

    def finish(self, opt):
        if opt.dataroot is None:
            self.parser.error("--dataroot is required: a folder with trainA/ and trainB/ "
                              "(get one with: bash scripts/download_cyclegan_dataset.sh vangogh2photo)")
        if opt.lambda_temporal < 0:
            self.parser.error(f"--lambda_temporal must be 0 (off) or positive, got {opt.lambda_temporal}")
        # a resumed run keeps the flags it started with (apply_recipe), so the note is for new runs only
        note = crop_note(opt.recipe, opt.crop_size) if "recipe" in vars(opt) and not opt.continue_train else None
        if note:
            print(note, file=sys.stderr)
        resumed = RunFolder(os.path.join(opt.checkpoints_dir, opt.name)).options() if opt.continue_train else None
        apply_seed_rule(opt, resumed)
        if opt.eval_freq is None:  # measured on 2 CPU cores: epochs 34 s -> 57-77 s while a C2ST scored beside them
            opt.eval_freq = 5 if opt.device.type == "cuda" else 0
        if not opt.display_env:
            opt.display_env = opt.name
        if opt.tensorboard_dir is None:
            opt.tensorboard_dir = os.path.join(opt.checkpoints_dir, opt.name)
