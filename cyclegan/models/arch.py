"""A run's generator architecture as its saved options (CHECKPOINTS/NAME/train_opt.json) record it, so users
never repeat --netG/--ngf/--norm to load a run: cyclegan-test and cyclegan-eval take it from there, and
cyclegan.load (cyclegan/inference) checks it against what the weights' shapes say."""
import os

from ..io import read_json

ARCH_KEYS = ("netG", "ngf", "norm", "no_dropout", "input_nc", "output_nc")  # what defines the saved networks


def saved_options(run_dir, phase="train"):
    """The options a run saved as {phase}_opt.json, or None."""
    return read_json(os.path.join(run_dir, f"{phase}_opt.json"))
