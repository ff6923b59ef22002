"""The epoch sampler: a DistributedSampler (world size 1 when not distributed) that is re-seeded every
epoch, can start mid-epoch on resume, and hands each item a seed for its own random choices."""
from torch.utils.data import DistributedSampler


class EpochSampler(DistributedSampler):
    def __init__(self, dataset, num_replicas=1, rank=0, shuffle=True, seed=0):
        super().__init__(dataset, num_replicas=num_replicas, rank=rank, shuffle=shuffle, seed=seed)
        self.start = 0  # items of this epoch already consumed (set on resume)

    def set_epoch(self, epoch, start=0):
        super().set_epoch(epoch)
        self.start = start

    def item_seed(self, index):
        return ((self.seed * 1_000_003 + self.epoch) * 10_000_019 + index) % (2 ** 63)

    def __iter__(self):
        indices = list(super().__iter__())[self.start:]
        return iter([(i, self.item_seed(i)) for i in indices])

    def __len__(self):
        return self.num_samples - self.start
