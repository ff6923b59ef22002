"""Data: image folders, unaligned and single datasets, preprocessing, and the loader factory."""
import torch
from torch.utils.data import DataLoader

from .datasets import SingleDataset, UnalignedDataset
from .image_folder import IMG_EXTENSIONS, load_rgb, make_dataset
from .sampler import EpochSampler


def create_dataset(opt):
    """Build the dataset that opt.dataset_mode (unaligned | single) names, from plain option values."""
    kw = dict(preprocess=opt.preprocess, load_size=opt.load_size, crop_size=opt.crop_size, flip=not opt.no_flip)
    if opt.dataset_mode == "unaligned":
        return UnalignedDataset(opt.dataroot, opt.phase, opt.max_dataset_size, opt.serial_batches,
                                opt.direction, opt.input_nc, opt.output_nc, **kw)
    if opt.dataset_mode == "single":
        return SingleDataset(opt.dataroot, opt.max_dataset_size, opt.input_nc, **kw)
    raise ValueError(f"--dataset_mode {opt.dataset_mode!r} is not one of: unaligned, single")


def create_dataloader(dataset, batch_size, shuffle, num_workers, seed=0, rank=0, world_size=1,
                      pin_memory=False):
    """DataLoader over an EpochSampler; call loader.sampler.set_epoch(epoch) before each epoch."""
    sampler = EpochSampler(dataset, num_replicas=world_size, rank=rank, shuffle=shuffle, seed=seed)
    return DataLoader(dataset, batch_size=batch_size, sampler=sampler, num_workers=num_workers,
                      pin_memory=pin_memory and torch.cuda.is_available(),
                      persistent_workers=num_workers > 0)


__all__ = ["UnalignedDataset", "SingleDataset", "EpochSampler", "create_dataset", "create_dataloader",
           "make_dataset", "load_rgb", "IMG_EXTENSIONS"]
