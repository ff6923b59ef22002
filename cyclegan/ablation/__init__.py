"""The recipe ablation (cyclegan-ablate): train named variants for the same steps and seeds, score them on
held-out images at fixed step intervals (C2ST, and KID with Inception weights, each point with the wall-clock training
seconds it cost on a named machine), time their steps, and write JSON, a table and a page with curves."""
from .plan import CATALOGUE, AblationError, Variant, parse_variant
from .sweep import Sweep, SweepInterrupted, SweepSettings

__all__ = ["CATALOGUE", "AblationError", "Sweep", "SweepInterrupted", "SweepSettings", "Variant", "parse_variant"]
