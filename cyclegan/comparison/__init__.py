"""The comparison harness: CycleGAN and Gatys on the same photos, timed, measured and shown side by side."""
from .harness import Comparison, load_photo
from .run import STYLE_MODES, CompareSettings, compare

__all__ = ["Comparison", "CompareSettings", "STYLE_MODES", "compare", "load_photo"]
