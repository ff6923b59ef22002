"""The data flags of training and testing (official names and defaults), declared once: which folders, how
images are loaded, resized, cropped and batched. Options generate the flags from DataSettings."""
import os
from dataclasses import dataclass

from ..settings import Settings, flag
from .transforms import PREPROCESS_MODES

DATASET_MODES = ("unaligned", "single")
DIRECTIONS = ("AtoB", "BtoA")


@dataclass(frozen=True)
class DataSettings(Settings):
    dataset_mode: str = flag("unaligned", "unaligned: {phase}A and {phase}B folders; single: one folder or image "
                             "file", type=str, choices=DATASET_MODES)
    direction: str = flag("AtoB", "AtoB or BtoA", type=str, choices=DIRECTIONS)
    serial_batches: bool = flag(False, "if true, takes images in order to make batches, otherwise takes them "
                                "randomly")
    num_threads: int = flag(min(4, os.cpu_count() or 1), "# threads for loading data (default: 4, capped at the "
                            "machine's cores)", type=int)
    batch_size: int = flag(1, "input batch size", type=int)
    load_size: int = flag(286, "scale images to this size", type=int)
    crop_size: int = flag(256, "then crop to this size", type=int)
    max_dataset_size: float = flag(float("inf"), "maximum number of samples allowed per dataset folder", type=float)
    preprocess: str = flag("resize_and_crop", "scaling and cropping of images at load time", type=str,
                           choices=PREPROCESS_MODES)
    no_flip: bool = flag(False, "if specified, do not flip the images for augmentation")
    strict: bool = flag(False, "unreadable images in the dataset are an error (default: skipped with one warning)")
