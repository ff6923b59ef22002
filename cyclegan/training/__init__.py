"""The CycleGAN training loop alone: epochs and logging (loop.py), data-parallel ranks under torchrun
(distributed.py) and the held-out quality curves (quality.py); it asks the model to step and to report."""
from .loop import train

__all__ = ["train"]
