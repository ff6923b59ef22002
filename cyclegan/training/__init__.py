"""Training: the loop, full-state checkpoints and resume, NaN and signal guards, the loss log."""
from .loop import train

__all__ = ["train"]
