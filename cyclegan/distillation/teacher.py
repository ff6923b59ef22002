"""The teacher of a distillation: a generator weights file (e.g. checkpoints/NAME/latest_net_G_B.pth) loaded
through cyclegan.load's recogniser (inference/arch.py), frozen, in eval mode, and run as cyclegan.load runs it (a
Translator: on CPUs with native bf16 the net cast to bf16 once, measured 2.2x faster than float32 weights under
autocast for a resnet_9blocks teacher, docs/distill.md). A missing or unreadable file is one error naming it;
nothing ever falls back to random weights."""
import os

from ..errors import MissingFileError
from ..inference.errors import ModelFileError
from ..inference.loading import load_weights
from ..inference.translator import Translator

HOW = ("give the generator file a CycleGAN run saved for the direction to distil, e.g. "
       "checkpoints/NAME/latest_net_G_B.pth (photo -> painting in vangogh2photo), or an official latest_net_G.pth")


def load_teacher(path, device="cpu", amp=None):
    """(Translator on `device`, info dict from inference.arch.identify) for the weights file `path`; amp: the
    precision (None: the device's default, as cyclegan.load)."""
    if os.path.isdir(path):
        raise MissingFileError(f"--teacher {path}: a folder, not a weights file; {HOW}")
    if not os.path.isfile(path):
        raise MissingFileError(f"--teacher {path}: no such file; {HOW}")
    try:
        net, info = load_weights(path)
    except ModelFileError as e:
        raise ModelFileError(f"--teacher: {e}. {HOW[0].upper()}{HOW[1:]}") from None
    for p in net.parameters():
        p.requires_grad_(False)
    return Translator(net, {**info, "source": path}, device=device, amp=amp, tile=0, compile=False), info


def teacher_output(teacher, x):
    """The teacher's translation of x ((N, 3, H, W) in [-1, 1]) as float32 on its device, without gradients."""
    return teacher.forward(x)
