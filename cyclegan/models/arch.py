"""A run's generator architecture, as its saved options (CHECKPOINTS/NAME/train_opt.json) record it, so users
never repeat --netG/--ngf/--norm to load a run (test, eval, compare, video)."""
import os

from ..io import read_json

ARCH_KEYS = ("netG", "ngf", "norm", "no_dropout", "input_nc", "output_nc")  # what defines the saved networks
GENERATOR_DEFAULTS = {"netG": "resnet_9blocks", "ngf": 64, "norm": "instance", "no_dropout": True}  # official


def saved_options(run_dir, phase="train"):
    """The options a run saved as {phase}_opt.json, or None."""
    return read_json(os.path.join(run_dir, f"{phase}_opt.json"))


def generator_arch(run_dir, netG=None, ngf=None, norm=None):
    """A CycleGAN run's generator architecture: its saved options (else the official defaults), then the given
    netG/ngf/norm where they are not None."""
    saved = saved_options(run_dir) or {}
    arch = {k: saved.get(k, default) for k, default in GENERATOR_DEFAULTS.items()}
    arch.update({k: v for k, v in (("netG", netG), ("ngf", ngf), ("norm", norm)) if v is not None})
    return arch
