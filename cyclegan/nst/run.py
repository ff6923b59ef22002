"""File-level Gatys run: read the photo and paintings, stylize, write named outputs.

This is what the cyclegan-gatys command calls, with plain values, so notebooks and the
comparison harness can call it the same way (or pass their own prebuilt Stylizer).
"""
from pathlib import Path

import torch

from cyclegan.errors import MissingFileError
from cyclegan.images import is_image_file
from cyclegan.perf import resolve_device  # noqa: F401 -- part of this module's interface (cyclegan.nst)
from cyclegan.nst.image_ops import load_image, output_filename, save_image
from cyclegan.nst.losses import DEFAULT_MMD_SAMPLES
from cyclegan.nst.optimize import DEFAULT_NUM_ITERS, DEFAULT_STYLE_WEIGHT, DEFAULT_TV_WEIGHT, Stylizer

DEFAULT_IMAGE_SIZE = 512  # the output's longest side


def run_files(content, styles, output, blend=None, image_size=DEFAULT_IMAGE_SIZE, style_scale=1.0, backbone="vgg19",
              weights=None, content_layers=None, style_layers=None, style_layer_weights=None, pooling="avg",
              style_loss="gram", content_weight=1.0, style_weight=None, tv_weight=DEFAULT_TV_WEIGHT,
              init="content", optimizer="lbfgs", num_iters=DEFAULT_NUM_ITERS, lr=None, seed=None, preserve_color=False,
              save_every=0, device="auto", progress=True, stylizer=None, mmd_samples=DEFAULT_MMD_SAMPLES):
    """Stylize the photo at `content` with the paintings `styles`; returns (output path, RunStats).

    output: a folder (the file name then encodes the parameters) or a file path ending in an
    image suffix. Intermediate images (save_every > 0) go beside it as <name>_iterNNNN<suffix>.
    """
    styles = [styles] if isinstance(styles, (str, Path)) else list(styles)
    if image_size < 16:
        raise ValueError(f"image_size must be at least 16 pixels, got {image_size}")
    if style_scale <= 0:
        raise ValueError(f"style_scale must be positive, got {style_scale}")
    for f in [content] + styles:
        if not Path(f).is_file():  # before the slow part: building the network
            raise MissingFileError(f"{f}: no such image file")
    if seed is not None:
        torch.manual_seed(seed)  # before building: random weights and MMD samples repeat too
    if stylizer is None:
        stylizer = Stylizer(backbone, weights, content_layers, style_layers, style_layer_weights, pooling,
                            style_loss, resolve_device(device), mmd_samples)
    photo = load_image(content, image_size)
    paintings = [load_image(s, max(16, round(image_size * style_scale))) for s in styles]
    targets = stylizer.style_targets(paintings, blend, luminance_of=photo if preserve_color else None)
    sw = DEFAULT_STYLE_WEIGHT[stylizer.style_loss_name] if style_weight is None else style_weight

    output = Path(output)
    if is_image_file(output.name):
        final = output
    else:
        final = output / output_filename(content, styles, optimizer, init, image_size, stylizer.backbone,
                                         content_weight, sw, tv_weight, blend, stylizer.style_loss_name,
                                         preserve_color)
    final.parent.mkdir(parents=True, exist_ok=True)  # fail now, not after the slow optimisation

    def on_save(img, it):
        save_image(img, final.with_name(f"{final.stem}_iter{it:04d}{final.suffix}"))

    image, stats = stylizer.stylize(photo, targets, content_weight, sw, tv_weight, init, optimizer, num_iters,
                                    lr, seed, preserve_color, save_every, on_save, progress)
    save_image(image, final)
    return final, stats
