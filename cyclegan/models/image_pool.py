"""History of generated images shown to the discriminators (Shrivastava et al.), as in the official code."""
import random

import torch


class ImagePool:
    """Keep up to pool_size fakes; each query returns, per image, either it or (p=0.5) a stored older one."""

    def __init__(self, pool_size):
        self.pool_size = pool_size
        self.images = []

    def query(self, images):
        if self.pool_size == 0:
            return images
        out = []
        for image in images.detach():
            image = image.unsqueeze(0)
            if len(self.images) < self.pool_size:
                self.images.append(image)
                out.append(image)
            elif random.uniform(0, 1) > 0.5:
                idx = random.randint(0, self.pool_size - 1)
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
