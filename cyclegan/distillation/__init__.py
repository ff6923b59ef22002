"""Distillation: train a small student generator (e.g. mobile_resnet_9blocks at ngf 16) to reproduce a trained
teacher generator's translation, for real-time CPU inference (`cyclegan-distill`, docs/distill.md).

    teacher.py   the teacher: a saved generator file, its architecture read from its keys (never random weights)
    loss.py      L1 to the teacher's output, plus an optional VGG perceptual term
    targets.py   the training pairs: crops and the teacher's translations, each reused --reuse_targets times
    heldout.py   held-out images scored against the teacher: mean L1, PSNR and a final C2ST, in distill_eval.jsonl
    train.py     the loop: crops, teacher targets, student step, checkpoints that resume exactly
"""
from .train import train

__all__ = ["train"]
