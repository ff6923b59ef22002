"""Data: image folders, unaligned and single datasets, preprocessing, and the loader factory."""
import os

import torch
from torch.utils.data import DataLoader

from .datasets import SingleDataset, UnalignedDataset
from ..images import IMG_EXTENSIONS, load_rgb
from .image_folder import make_dataset
from .sampler import EpochSampler
from .scan import BadDatasetError, scan_images
from .settings import DATASET_MODES, DIRECTIONS, DataSettings


def create_dataset(opt, scan=True):
    """Build the dataset that opt.dataset_mode (unaligned | single) names, then scan its files once."""
    kw = dict(preprocess=opt.preprocess, load_size=opt.load_size, crop_size=opt.crop_size, flip=not opt.no_flip)
    if opt.dataset_mode == "unaligned":
        ds = UnalignedDataset(opt.dataroot, opt.phase, opt.max_dataset_size, opt.serial_batches,
                              opt.direction, opt.input_nc, opt.output_nc, **kw)
        folders = (("A_paths", ds.dir_A), ("B_paths", ds.dir_B))
    elif opt.dataset_mode == "single":
        ds = SingleDataset(opt.dataroot, opt.max_dataset_size, opt.input_nc, **kw)
        folders = (("A_paths", opt.dataroot),)
    else:
        raise ValueError(f"--dataset_mode {opt.dataset_mode!r} is not one of: {', '.join(DATASET_MODES)}")
    if scan:
        crop = opt.crop_size if "crop" in opt.preprocess else 0
        for attr, folder in folders:
            setattr(ds, attr, scan_images(getattr(ds, attr), crop, DataSettings.from_opt(opt).strict,
                                          workers=os.cpu_count() or 1, label=str(folder)))
    return ds


def create_dataloader(dataset, batch_size, shuffle, num_workers, seed=0, rank=0, world_size=1,
                      pin_memory=False):
    """DataLoader over an EpochSampler; call loader.sampler.set_epoch(epoch) before each epoch."""
    sampler = EpochSampler(dataset, num_replicas=world_size, rank=rank, shuffle=shuffle, seed=seed)
    return DataLoader(dataset, batch_size=batch_size, sampler=sampler, num_workers=num_workers,
                      pin_memory=pin_memory and torch.cuda.is_available(),
                      persistent_workers=num_workers > 0,
                      # its own generator: creating an epoch's iterator must not consume the global RNG,
                      # or a run resumed mid-epoch would drift from the uninterrupted one
                      generator=torch.Generator().manual_seed(seed))


__all__ = ["UnalignedDataset", "SingleDataset", "EpochSampler", "create_dataset", "create_dataloader",
           "make_dataset", "load_rgb", "IMG_EXTENSIONS", "scan_images", "BadDatasetError", "DATASET_MODES",
           "DIRECTIONS"]
