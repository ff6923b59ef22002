"""CycleGAN suite: unpaired photo <-> Van Gogh translation, with a Gatys neural-style comparison.

Library layout (lower layers never import higher ones):
  models/    CycleGANModel, generators, discriminators, losses, image pool, schedulers
  data/      image folders, unaligned and single datasets, transforms
  training/  the training loop and checkpoints
  io.py      atomic checkpoint saving and weights_only loading
The thin command-line entry points are cyclegan/train.py, cyclegan/test.py and friends.
"""
__version__ = "0.1.0"
