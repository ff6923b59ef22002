"""The comparison harness: CycleGAN and Gatys on the same photos, timed, measured and shown side by side."""
from .harness import Comparison, load_photo
from .run import compare
from .translator import Translator

__all__ = ["Comparison", "Translator", "compare", "load_photo"]
