"""Fast neural style: the perceptual loss that trains a TransformerNet and the photo sampler (the trained
network is saved as {label}_net_T.pth, named by runs.layout.RunFolder). The training loop and stylize_paths are in fast_train.py; cyclegan.load
(cyclegan/inference) loads and runs a trained network.

    st = Stylizer("vgg19", weights="vgg19.pth")                 # the Gatys feature extractor and style loss
    loss = PerceptualLoss(st, st.style_targets(paintings))      # one painting, or a folder pooled (domain)
    total, parts = loss(net(photos), photos)

The style losses in losses.py score one image's activations, so a batch is scored image by image
and averaged; the content loss compares the output's content-layer activations with the photo's.
"""
import torch
from PIL import Image

from cyclegan.images import load_rgb, to_tensor
from cyclegan.nst.losses import content_loss, tv_loss
from cyclegan.nst.optimize import DEFAULT_STYLE_WEIGHT

# Johnson et al. weigh content 1 and style 5; our size-normalised Gram loss needs the Gatys-scale
# weights of optimize.DEFAULT_STYLE_WEIGHT, and the output is smoothed a little more than Gatys's.
FAST_NST_TV_WEIGHT = 1e-1  # fast NST's own default (Gatys's is optimize.DEFAULT_TV_WEIGHT)

class PerceptualLoss:
    """content + style + total variation of a batch of outputs against their photos and pooled style targets."""

    def __init__(self, stylizer, targets, content_weight=1.0, style_weight=None, tv_weight=FAST_NST_TV_WEIGHT):
        self.st, self.targets = stylizer, targets
        sw = DEFAULT_STYLE_WEIGHT[stylizer.style_loss_name] if style_weight is None else style_weight
        self.weights = (content_weight, sw, tv_weight)

    def __call__(self, out, photos):
        st = self.st
        with torch.no_grad():
            ref = st.extractor(photos)
        feats = st.extractor(out)
        c = sum(content_loss(feats[n].float(), ref[n].float()) for n in st.content_layers)
        n = out.shape[0]
        s = sum(w * sum(st.style_loss(feats[name][i:i + 1].float(), self.targets.layers[name]) for i in range(n)) / n
                for name, w in st.layer_weights.items())
        tv = tv_loss(out.float())
        cw, sw, tw = self.weights
        total = cw * c + sw * s + tw * tv
        # tensors, so a training loop syncs with the device only when it reads them
        return total, {"total": total.detach(), "content": c.detach(), "style": s.detach(), "tv": tv.detach()}


def square_crop(img, size, rng):
    """PIL image -> (3, size, size) float tensor: shorter side resized to `size`, then a crop drawn from rng."""
    w, h = img.size
    s = size / min(w, h)
    img = img.resize((max(size, round(w * s)), max(size, round(h * s))), Image.BICUBIC)
    w, h = img.size
    x = int(torch.randint(0, w - size + 1, (1,), generator=rng))
    y = int(torch.randint(0, h - size + 1, (1,), generator=rng))
    return to_tensor(img.crop((x, y, x + size, y + size)))


class PhotoSampler:
    """Training batches as a pure function of (seed, iteration): resuming at iteration k sees exactly the
    batches an uninterrupted run would, with no data-loader state to save."""

    def __init__(self, paths, image_size, batch_size, seed=0):
        if not paths:
            raise ValueError("PhotoSampler needs at least one photo")
        self.paths, self.size, self.batch_size, self.seed = list(paths), image_size, batch_size, seed

    def batch(self, iteration):
        rng = torch.Generator().manual_seed(self.seed * 1_000_003 + iteration)
        idx = torch.randint(0, len(self.paths), (self.batch_size,), generator=rng).tolist()
        return torch.stack([square_crop(load_rgb(self.paths[i]), self.size, rng) for i in idx])
