"""The training pairs of a distillation: crops of the teacher's input images and the teacher's translations of
them, each iteration's pair a pure function of (seed, iteration), so a resumed run sees exactly the pairs an
unbroken one would with no state to save.

On a CPU the teacher's forward is most of an iteration (in float32, 0.70 of 0.82 s for four 128 px crops on a
2-core AMD EPYC, docs/distill.md), so --reuse_targets R lets each translation train R iterations: every
chunk of POOL_BATCHES * R iterations the teacher translates a pool of POOL_BATCHES * batch_size fresh crops (in
batches of batch_size, as R = 1 does), and the chunk's batches walk R shuffles of that pool. A resume inside a
chunk translates its pool again: the same crops in the same batches, hence the same targets."""
import torch

from ..images import load_rgb
from ..nst.fast import PhotoSampler, square_crop

POOL_OFFSET = 1 << 30  # pool batches draw as iterations past any run's length
POOL_BATCHES = 4  # batches of fresh crops per pool: consecutive iterations then draw from 4 x batch_size crops


class CropSampler(PhotoSampler):
    """Batches of crop_size crops of images whose shorter side is first resized to load_size (the teacher's
    scale: CycleGAN trains on 256 px crops of 286 px images), a pure function of (seed, iteration) as PhotoSampler
    is."""

    def __init__(self, paths, load_size, crop_size, batch_size, seed=0):
        super().__init__(paths, crop_size, batch_size, seed)
        self.load_size = load_size

    def batch(self, iteration):
        rng = torch.Generator().manual_seed(self.seed * 1_000_003 + iteration)
        idx = torch.randint(0, len(self.paths), (self.batch_size,), generator=rng).tolist()
        crops = []
        for i in idx:
            big = square_crop(load_rgb(self.paths[i]), self.load_size, rng)  # a load_size square at that scale
            x = int(torch.randint(0, self.load_size - self.size + 1, (1,), generator=rng))
            y = int(torch.randint(0, self.load_size - self.size + 1, (1,), generator=rng))
            crops.append(big[:, y:y + self.size, x:x + self.size])
        return torch.stack(crops)


class TargetBatches:
    """pair(iteration) -> (crops in [-1, 1], the teacher's translations), both on `device`. teach(x) is the
    teacher's forward; reuse: how many iterations' batches each translation serves (1: fresh crops every
    iteration)."""

    def __init__(self, sampler, teach, device, reuse=1):
        if reuse < 1:
            raise ValueError(f"reuse must be at least 1, got {reuse}")
        self.sampler, self.teach, self.device, self.reuse = sampler, teach, device, reuse
        self.chunk_iters = POOL_BATCHES * reuse
        self._chunk, self._pool = None, None

    def pair(self, iteration):
        if self.reuse == 1:
            x = self.sampler.batch(iteration).to(self.device) * 2 - 1
            return x, self.teach(x)
        chunk, step = divmod(iteration - 1, self.chunk_iters)
        if chunk != self._chunk:
            self._chunk, self._pool = chunk, self._translate(chunk)
        x, y, order = self._pool
        b = self.sampler.batch_size
        idx = order[step * b:(step + 1) * b]
        return x.index_select(0, idx), y.index_select(0, idx)

    def _translate(self, chunk):
        xs, ys = [], []
        for k in range(POOL_BATCHES):
            # pool batches are numbered apart from the iterations' (R = 1) so the two draw different crops
            x = self.sampler.batch(POOL_OFFSET + chunk * POOL_BATCHES + k).to(self.device) * 2 - 1
            xs.append(x)
            ys.append(self.teach(x))
        x = torch.cat(xs)
        rng = torch.Generator().manual_seed(self.sampler.seed * 7_919 + chunk)  # the chunk's R shuffles of the pool
        order = torch.cat([torch.randperm(len(x), generator=rng) for _ in range(self.reuse)])
        return x, torch.cat(ys), order.to(x.device)
