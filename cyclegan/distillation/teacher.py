"""The teacher of a distillation: a generator weights file (e.g. checkpoints/NAME/latest_net_G_B.pth) loaded
through cyclegan.load's recogniser (inference/arch.py), frozen, in eval mode. A missing or unreadable file is
one error naming it; nothing ever falls back to random weights."""
import os

import torch

from ..errors import MissingFileError
from ..inference.errors import ModelFileError
from ..inference.loading import load_weights

HOW = ("give the generator file a CycleGAN run saved for the direction to distil, e.g. "
       "checkpoints/NAME/latest_net_G_B.pth (photo -> painting in vangogh2photo), or an official latest_net_G.pth")


def load_teacher(path, device="cpu"):
    """(frozen eval-mode net on `device`, info dict from inference.arch.identify) for the weights file `path`."""
    if os.path.isdir(path):
        raise MissingFileError(f"--teacher {path}: a folder, not a weights file; {HOW}")
    if not os.path.isfile(path):
        raise MissingFileError(f"--teacher {path}: no such file; {HOW}")
    try:
        net, info = load_weights(path)
    except ModelFileError as e:
        raise ModelFileError(f"--teacher: {e}. {HOW[0].upper()}{HOW[1:]}") from None
    net = net.to(device).eval()
    for p in net.parameters():
        p.requires_grad_(False)
    return net, info


def teacher_output(teacher, x, cfg):
    """The teacher's translation of x ((N, 3, H, W) in [-1, 1]) as float32, without gradients, under the run's
    autocast (bf16 where the speed settings choose it: the teacher is the costlier half of every step)."""
    with torch.no_grad(), cfg.autocast():
        return teacher(x).float()
