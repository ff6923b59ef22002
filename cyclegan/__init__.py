"""CycleGAN suite: unpaired photo <-> Van Gogh translation, with a Gatys neural-style comparison.

Library layout (lower layers never import higher ones):
  models/    CycleGANModel, generators, discriminators, losses, image pool, schedulers
  data/      image folders, unaligned and single datasets, transforms
  training/  the training loop and checkpoints
  inference/ load a generator (run, .pth, .onnx) and translate images: cyclegan.load(...)
  io.py      atomic checkpoint saving and weights_only loading
The thin command-line entry points are cyclegan/train.py, cyclegan/test.py and friends.
"""
__version__ = "0.1.0"
__all__ = ["load"]


def __getattr__(name):
    """cyclegan.load, imported on first use: `import cyclegan` stays cheap (no torch)."""
    if name == "load":
        from .inference import load
        return load
    raise AttributeError(f"module 'cyclegan' has no attribute {name!r}")
