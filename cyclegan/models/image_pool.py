"""History of generated images shown to the discriminators (Shrivastava et al.), as in the official code."""
import random

import torch


class ImagePool:
    """Keep up to pool_size fakes; each query returns, per image, either it or (p=0.5) a stored older one."""

    def __init__(self, pool_size):
        self.pool_size = pool_size
        self.images = []

    def plan(self, n, stored):
        """The choices for n new images when `stored` are kept: per image (use_old, write, index), drawn
        from Python's `random` exactly as the official query draws them. A graph-captured step draws them
        here, on the host, and replays the copies on the device (cyclegan.models.graph_step)."""
        choices = []
        for _ in range(n):
            if stored < self.pool_size:
                choices.append((0, 1, stored))
                stored += 1
            elif random.uniform(0, 1) > 0.5:
                choices.append((1, 1, random.randint(0, self.pool_size - 1)))
            else:
                choices.append((0, 0, 0))
        return choices

    def query(self, images):
        if self.pool_size == 0:
            return images
        out = []
        images = images.detach()
        for (use_old, write, idx), image in zip(self.plan(images.shape[0], len(self.images)), images):
            image = image.unsqueeze(0)
            if write and idx == len(self.images):
                self.images.append(image)
                out.append(image)
            elif use_old:
                out.append(self.images[idx].clone())
                self.images[idx] = image
            else:
                out.append(image)
        return torch.cat(out, 0)

    def state_dict(self):
        return {"pool_size": self.pool_size, "images": [t.cpu() for t in self.images]}

    def load_state_dict(self, state, device=None):
        self.pool_size = state["pool_size"]
        self.images = [t.to(device) if device is not None else t for t in state["images"]]
