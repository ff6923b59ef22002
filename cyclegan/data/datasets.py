"""Unaligned two-folder dataset (training/testing CycleGAN) and single-folder dataset (--model test).

Items may be requested as an int or as (index, seed); with a seed, the random B partner, crop and
flip come from that seed alone (see sampler.py), which makes runs repeatable and exactly resumable.
"""
import logging
import os
import random

from torch.utils.data import Dataset

from ..images import load_rgb, to_tensor
from .image_folder import make_dataset
from .transforms import preprocess

log = logging.getLogger(__name__)


def _split_key(key):
    if isinstance(key, (tuple, list)):
        return int(key[0]), random.Random(int(key[1]))
    return int(key), random.Random()


class _ImageDataset(Dataset):
    """Shared loading: preprocess settings and skipping of files that break after the scan."""

    def __init__(self, preprocess="resize_and_crop", load_size=286, crop_size=256, flip=True):
        self.preprocess, self.load_size, self.crop_size, self.flip = preprocess, load_size, crop_size, flip
        self.skipped = []

    def _load(self, paths, index, rng, grayscale):
        """Load paths[index]; a file that became unreadable is logged and the next one used instead."""
        for attempt in range(len(paths)):
            path = paths[(index + attempt) % len(paths)]
            try:
                img = load_rgb(path)
            except (OSError, ValueError, SyntaxError) as e:  # PIL raises all three for broken files
                self.skipped.append(path)
                log.warning("skipping unreadable image %r: %s", path, e)
                continue
            img = preprocess(img, self.preprocess, self.load_size, self.crop_size, self.flip, rng)
            return to_tensor(img, signed=True, grayscale=grayscale), path
        raise RuntimeError(f"none of the {len(paths)} images could be read (first: {paths[0]})")


class UnalignedDataset(_ImageDataset):
    """DATAROOT/{phase}A and DATAROOT/{phase}B; each A gets a random B (or index-matched with serial)."""

    def __init__(self, dataroot, phase="train", max_dataset_size=float("inf"), serial_batches=False,
                 direction="AtoB", input_nc=3, output_nc=3, **kw):
        super().__init__(**kw)
        self.dir_A = os.path.join(dataroot, phase + "A")
        self.dir_B = os.path.join(dataroot, phase + "B")
        self.A_paths = make_dataset(self.dir_A, max_dataset_size)
        self.B_paths = make_dataset(self.dir_B, max_dataset_size)
        self.serial_batches = serial_batches
        btoa = direction == "BtoA"
        self.gray_A = (output_nc if btoa else input_nc) == 1
        self.gray_B = (input_nc if btoa else output_nc) == 1

    def __len__(self):
        return max(len(self.A_paths), len(self.B_paths))

    def __getitem__(self, key):
        index, rng = _split_key(key)
        index_B = index % len(self.B_paths) if self.serial_batches else rng.randint(0, len(self.B_paths) - 1)
        A, A_path = self._load(self.A_paths, index % len(self.A_paths), rng, self.gray_A)
        B, B_path = self._load(self.B_paths, index_B, rng, self.gray_B)
        return {"A": A, "B": B, "A_paths": A_path, "B_paths": B_path}


class SingleDataset(_ImageDataset):
    """All images in one folder (or one image file), for single-direction testing."""

    def __init__(self, dataroot, max_dataset_size=float("inf"), input_nc=3, **kw):
        super().__init__(**kw)
        self.A_paths = make_dataset(dataroot, max_dataset_size)
        self.gray = input_nc == 1

    def __len__(self):
        return len(self.A_paths)

    def __getitem__(self, key):
        index, rng = _split_key(key)
        A, path = self._load(self.A_paths, index, rng, self.gray)
        return {"A": A, "A_paths": path}
